"""Behaviour of the local gazetteer geocoder (maps.gazetteer)."""

import pytest
from geopy.distance import geodesic
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

from maps.gazetteer import Gazetteer, Place, normalise, pinyin_keys

LONGHU = Place("龙湖花园", "community", 29.7150, 106.6320, "重庆市渝北区双龙街道龙湖路1号")
LONGHU_2 = Place("龙湖花园二期", "community", 29.7165, 106.6345, "重庆市渝北区双龙街道龙湖路9号")
XIN_LONGHU = Place("新龙湖小区", "community", 29.7400, 106.6700, "重庆市渝北区双龙街道新村路2号")
SHUANGLONG_STREET = Place("双龙街道", "street", 29.7200, 106.6300)
SHUANGLONG_COMMUNITY = Place("双龙小区", "community", 29.7250, 106.6250, "双龙街道双龙路5号")
SHUANGLONG_NURSERY = Place("双龙幼儿园", "nursery", 29.7180, 106.6350, "双龙街道龙湖路8号")
GUIHUA_NURSERY = Place("桂花苑", "nursery", 29.7300, 106.6500, "双龙街道桂花路3号")
XIN_GUIHUA = Place("新桂花苑", "community", 29.7310, 106.6520, "双龙街道桂花路6号")
GUANYINQIAO = Place("观音桥", "street", 29.5750, 106.5350, "重庆市江北区观音桥")
CHANGAN = Place("长安小区", "community", 29.7000, 106.6000, "双龙街道长安路3号")
AINING = Place("爱宁小区", "community", 29.7020, 106.6030, "双龙街道爱宁路7号")
LVDI = Place("绿地幼儿园", "nursery", 29.7100, 106.6100, "双龙街道绿地路1号")

ALL_PLACES = [
    LONGHU,
    LONGHU_2,
    XIN_LONGHU,
    SHUANGLONG_STREET,
    SHUANGLONG_COMMUNITY,
    SHUANGLONG_NURSERY,
    GUIHUA_NURSERY,
    XIN_GUIHUA,
    GUANYINQIAO,
    CHANGAN,
    AINING,
    LVDI,
]


@pytest.fixture
def gazetteer():
    # Reverse the input so that results never come out in insertion order by luck.
    return Gazetteer(reversed(ALL_PLACES))


def names(places):
    return [place.name for place in places]


# --- interface -------------------------------------------------------------


def test_gazetteer_is_a_geopy_geocoder(gazetteer):
    assert isinstance(gazetteer, Geocoder)
    assert issubclass(Gazetteer, Geocoder)


def test_gazetteer_never_uses_the_network(gazetteer):
    with pytest.raises(RuntimeError, match="offline"):
        gazetteer.adapter.get_json("https://nominatim.openstreetmap.org/", timeout=1, headers={})


def test_gazetteer_keeps_every_place(gazetteer):
    assert len(gazetteer) == len(ALL_PLACES)
    assert set(gazetteer.places) == set(ALL_PLACES)


# --- normalisation and pinyin keys -----------------------------------------


def test_normalise_strips_spaces_punctuation_and_folds_width_and_case():
    assert normalise(" 龙湖·花园（一期） ") == "龙湖花园一期"
    assert normalise("ＬＯＮＧ\tHu!") == "longhu"
    assert normalise("  \u3000 ") == ""


def test_pinyin_keys_are_toneless_full_pinyin_and_initials():
    assert pinyin_keys("龙湖小区") == ("longhuxiaoqu", "lhxq")
    assert pinyin_keys("双龙街道") == ("shuanglongjiedao", "sljd")


# --- search ranking --------------------------------------------------------


def test_exact_name_beats_substring_even_against_a_better_kind(gazetteer):
    # 新桂花苑 is a community (kind ranks first) but only contains the query.
    assert names(gazetteer.search("桂花苑")) == ["桂花苑", "新桂花苑"]


def test_exact_name_beats_prefix_even_against_a_better_kind():
    gazetteer = Gazetteer(
        [
            Place("桂花苑小区", "community", 29.7310, 106.6520),
            Place("桂花苑街道", "street", 29.7320, 106.6530),
            GUIHUA_NURSERY,
        ]
    )
    assert names(gazetteer.search("桂花苑")) == ["桂花苑", "桂花苑小区", "桂花苑街道"]


def test_name_prefix_beats_name_substring(gazetteer):
    result = names(gazetteer.search("龙湖"))
    assert result.index("龙湖花园") < result.index("新龙湖小区")
    assert result.index("龙湖花园二期") < result.index("新龙湖小区")


def test_name_substring_beats_address_substring(gazetteer):
    # 龙湖花园 and 双龙幼儿园 only mention 龙湖 in their address.
    result = names(gazetteer.search("龙湖"))
    assert result[:3] == ["龙湖花园", "龙湖花园二期", "新龙湖小区"]
    assert "双龙幼儿园" in result[3:]


def test_partial_chinese_fragment_of_address_matches(gazetteer):
    assert names(gazetteer.search("长安路")) == ["长安小区"]


def test_street_name_query_finds_the_street_first(gazetteer):
    result = gazetteer.search("双龙街道")
    assert result[0] == SHUANGLONG_STREET
    # Every place whose address is in 双龙街道 is also found, after the street itself.
    assert SHUANGLONG_NURSERY in result[1:]


def test_kind_breaks_ties_community_then_street_then_nursery(gazetteer):
    assert names(gazetteer.search("双龙")[:3]) == ["双龙小区", "双龙街道", "双龙幼儿园"]


def test_shorter_name_breaks_ties_within_a_kind(gazetteer):
    assert names(gazetteer.search("龙湖花园")) == ["龙湖花园", "龙湖花园二期"]
    assert names(gazetteer.search("龙湖花")) == ["龙湖花园", "龙湖花园二期"]


def test_full_pinyin_prefix_matches(gazetteer):
    assert names(gazetteer.search("longhu")[:2]) == ["龙湖花园", "龙湖花园二期"]
    assert names(gazetteer.search("guanyin")) == ["观音桥"]


def test_pinyin_with_spaces_and_capitals_matches(gazetteer):
    assert gazetteer.search("Long Hu Hua Yuan")[0] == LONGHU


def test_pinyin_substring_matches_on_a_syllable_boundary_only(gazetteer):
    assert "新龙湖小区" in names(gazetteer.search("longhuxiaoqu"))
    assert "龙湖花园" in names(gazetteer.search("huayuan"))
    # "nghu" straddles 龙|湖 and is not a syllable start anywhere.
    assert gazetteer.search("nghu") == []


def test_pinyin_initials_prefix_matches(gazetteer):
    assert names(gazetteer.search("lhhy")) == ["龙湖花园", "龙湖花园二期"]
    assert names(gazetteer.search("lh")) == ["龙湖花园", "龙湖花园二期"]
    assert names(gazetteer.search("gyq")) == ["观音桥"]


def test_full_pinyin_beats_initials(gazetteer):
    # 长安小区 has syllable "an"; 爱宁小区 only has initials "an..".  By name alone
    # 爱 sorts before 长, so the order proves the pinyin tier ranks higher.
    assert names(gazetteer.search("an")) == ["长安小区", "爱宁小区"]


def test_u_umlaut_may_be_typed_as_v_or_u(gazetteer):
    assert gazetteer.search("lvdi") == [LVDI]
    assert gazetteer.search("ludi") == [LVDI]


def test_chinese_query_is_not_matched_by_pinyin_homophone(gazetteer):
    # 隆湖 sounds like 龙湖 but is a different place name.
    assert gazetteer.search("隆湖") == []


def test_full_width_and_spaced_query_is_normalised(gazetteer):
    assert gazetteer.search(" 龙湖 花园 ")[0] == LONGHU
    assert gazetteer.search("ＬＨＨＹ")[0] == LONGHU


def test_limit_caps_results(gazetteer):
    assert len(gazetteer.search("双龙", limit=2)) == 2
    assert gazetteer.search("双龙", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "\u3000\t\n", "·，。！"])
def test_empty_or_punctuation_only_query_returns_nothing(gazetteer, query):
    assert gazetteer.search(query) == []


def test_over_long_query_returns_nothing(gazetteer):
    at_limit = "龙湖花园".ljust(100)
    assert gazetteer.search(at_limit)[0] == LONGHU
    assert gazetteer.search(at_limit + " ") == []
    assert gazetteer.geocode(at_limit + " ") is None


def test_nonsense_query_returns_nothing(gazetteer):
    assert gazetteer.search("火星基地") == []
    assert gazetteer.search("qwxz") == []


# --- geocode ---------------------------------------------------------------


def test_geocode_returns_location_with_the_place_point(gazetteer):
    location = gazetteer.geocode("龙湖花园")
    assert isinstance(location, Location)
    assert (location.latitude, location.longitude) == (29.7150, 106.6320)
    assert location.point == Point(29.7150, 106.6320)
    assert location.raw["name"] == "龙湖花园"
    assert location.raw["kind"] == "community"
    assert "龙湖花园" in location.address
    assert "龙湖路1号" in location.address


def test_geocode_by_pinyin_initials(gazetteer):
    assert gazetteer.geocode("gyq").raw["name"] == "观音桥"


def test_geocode_many_returns_ranked_list(gazetteer):
    locations = gazetteer.geocode("双龙", exactly_one=False, limit=3)
    assert [loc.raw["name"] for loc in locations] == ["双龙小区", "双龙街道", "双龙幼儿园"]
    assert all(isinstance(loc, Location) for loc in locations)
    unlimited = gazetteer.geocode("双龙", exactly_one=False)
    assert len(unlimited) > 3


def test_geocode_nonsense_returns_none(gazetteer):
    assert gazetteer.geocode("火星基地xyz") is None
    assert gazetteer.geocode("火星基地xyz", exactly_one=False) is None
    assert gazetteer.geocode("") is None


def test_geocode_accepts_geopy_keyword_arguments(gazetteer):
    assert gazetteer.geocode("桂花苑", timeout=5).raw["name"] == "桂花苑"


# --- reverse ---------------------------------------------------------------


def test_reverse_finds_the_nearest_place(gazetteer):
    near_guihua = (29.7302, 106.6503)
    location = gazetteer.reverse(near_guihua)
    assert isinstance(location, Location)
    assert location.raw["name"] == "桂花苑"
    assert location.raw["distance_m"] == pytest.approx(
        geodesic(near_guihua, (29.7300, 106.6500)).meters
    )


def test_reverse_accepts_point_and_string(gazetteer):
    assert gazetteer.reverse(Point(29.7151, 106.6321)).raw["name"] == "龙湖花园"
    assert gazetteer.reverse("29.7151, 106.6321").raw["name"] == "龙湖花园"


def test_reverse_many_is_sorted_by_distance(gazetteer):
    locations = gazetteer.reverse((29.7151, 106.6321), exactly_one=False)
    distances = [loc.raw["distance_m"] for loc in locations]
    assert locations[0].raw["name"] == "龙湖花园"
    assert distances == sorted(distances)
    assert all(d <= 2000 for d in distances)


def test_reverse_within_two_km_finds_place_and_beyond_returns_none(gazetteer):
    # 观音桥 is ~20 km from every other place, so it is alone in its 2 km circle.
    inside = (29.5750 + 0.0171, 106.5350)
    outside = (29.5750 + 0.0190, 106.5350)
    assert 1800 < geodesic(inside, (29.5750, 106.5350)).meters < 2000
    assert 2000 < geodesic(outside, (29.5750, 106.5350)).meters < 2200
    assert gazetteer.reverse(inside).raw["name"] == "观音桥"
    assert gazetteer.reverse(outside) is None
    assert gazetteer.reverse(outside, exactly_one=False) is None


def test_reverse_on_empty_gazetteer_returns_none():
    assert Gazetteer([]).reverse((29.7, 106.6)) is None
    assert Gazetteer([]).geocode("龙湖") is None


# --- Place validation ------------------------------------------------------


def test_place_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        Place("龙湖花园", "village", 29.715, 106.632)


def test_place_rejects_swapped_coordinates():
    with pytest.raises(ValueError, match="lat"):
        Place("龙湖花园", "community", 106.632, 29.715)


def test_place_rejects_blank_name():
    with pytest.raises(ValueError, match="name"):
        Place(" · ", "community", 29.715, 106.632)


def test_place_is_immutable():
    with pytest.raises(AttributeError):
        LONGHU.name = "别的名字"
