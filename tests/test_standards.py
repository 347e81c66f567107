"""The national limits on classes and the places offered in them (maps/standards.py), and the
`flask --app app nurseries check-capacity` report (issue 10, first part: reporting)."""

from datetime import time

import pytest

from database import use_case
from extensions import db
from maps.domain import children_per_carer, class_capacity_limit
from maps.standards import ClassSpec, OfferSpec, check_class, check_nursery


def codes(breaches) -> list[str]:
    return [b.code for b in breaches]


@pytest.mark.parametrize(
    "class_type, most, per_carer",
    [("infant", 10, 3), ("toddler", 15, 5), ("older", 20, 7), ("mixed", 18, 5)],
)
def test_each_class_type_is_held_to_its_maximum_and_its_ratio(class_type, most, per_carer):
    carers = -(-most // per_carer)  # just enough staff for a full class
    assert check_class("private", ClassSpec(class_type, most, carers)) == []
    too_big = check_class("private", ClassSpec(class_type, most + 1, carers + 1))
    assert codes(too_big) == ["class_size_exceeded"]
    assert f"{most + 1} 个托位" in too_big[0].message and f"上限 {most} 人" in too_big[0].message
    understaffed = check_class("private", ClassSpec(class_type, most, carers - 1))
    assert codes(understaffed) == ["ratio_exceeded"]
    assert f"1:{per_carer}" in understaffed[0].message


def test_a_mixed_class_takes_the_strictest_ratio_of_its_ages_and_needs_carers():
    # 混合班 admits 18–36 months: the 托小班's 1 : 5 is stricter than the 托大班's 1 : 7.
    assert children_per_carer("private", "mixed") == 5
    assert codes(check_class("private", ClassSpec("mixed", 10, 0))) == ["ratio_exceeded"]
    assert check_class("private", ClassSpec("mixed", 10, 2)) == []
    # The portal's class form and the demo use the same limit, so neither can save such a class.
    assert class_capacity_limit("private", "mixed", 0) == 0
    assert class_capacity_limit("private", "mixed", 2) == 10
    assert class_capacity_limit("private", "mixed", 9) == 18
    assert class_capacity_limit("family", "older", 2) == 5


def test_a_family_point_is_one_group_of_five_with_one_carer_per_three():
    assert (
        check_nursery("family", [ClassSpec("older", 5, 2)], [OfferSpec("full_day", "older", 5)])
        == []
    )
    assert codes(check_class("family", ClassSpec("older", 7, 2))) == [
        "class_size_exceeded",
        "ratio_exceeded",
    ]
    assert codes(check_class("family", ClassSpec("older", 5, 1))) == ["ratio_exceeded"]
    two_groups = check_nursery("family", [ClassSpec("older", 5, 2), ClassSpec("toddler", 5, 2)], [])
    assert codes(two_groups) == ["class_size_exceeded"]
    assert "2 个班级共 10 个托位" in two_groups[0].message


def test_a_kindergarten_class_takes_two_to_three_year_olds_only():
    assert codes(check_class("kindergarten_class", ClassSpec("infant", 6, 2))) == [
        "age_outside_class"
    ]
    assert codes(check_class("kindergarten_class", ClassSpec("toddler", 10, 2))) == [
        "age_outside_class"
    ]
    assert check_class("kindergarten_class", ClassSpec("older", 20, 3)) == []
    assert check_class("kindergarten_class", ClassSpec("mixed", 18, 4)) == []


def test_overlapping_care_types_share_the_class_places():
    """The issue's example: 15 full-day, 15 hourly and 15 temporary in one 15-place 托小班."""
    toddlers = [ClassSpec("toddler", 15, 3)]
    shared = [OfferSpec("full_day", "toddler", 8), OfferSpec("hourly", "toddler", 4)]
    assert check_nursery("private", toddlers, shared + [OfferSpec("temporary", "toddler", 3)]) == []
    over = [OfferSpec(ct, "toddler", 15) for ct in ("full_day", "hourly", "temporary")]
    breach = check_nursery("private", toddlers, over)
    assert codes(breach) == ["capacity_exceeds_class"]
    assert "45 人" in breach[0].message and "班级托位 15 个" in breach[0].message


def test_places_of_two_classes_of_one_type_add_up():
    two = [ClassSpec("toddler", 15, 3), ClassSpec("toddler", 10, 2)]
    assert check_nursery("private", two, [OfferSpec("full_day", "toddler", 25)]) == []
    assert codes(check_nursery("private", two, [OfferSpec("full_day", "toddler", 26)])) == [
        "capacity_exceeds_class"
    ]


def test_every_place_belongs_to_a_class_on_file():
    assert codes(check_nursery("private", [], [OfferSpec("full_day", None, 10)])) == ["no_class"]
    assert check_nursery("private", [], [OfferSpec("full_day", None, 0)]) == []
    infants = [ClassSpec("infant", 9, 3)]
    for_every_age = check_nursery("private", infants, [OfferSpec("full_day", None, 9)])
    assert codes(for_every_age) == ["no_class"]
    elsewhere = check_nursery("private", infants, [OfferSpec("full_day", "older", 9)])
    assert codes(elsewhere) == ["no_class"] and "托大班" in elsewhere[0].message


def _nursery(name, kind, classes, offers):
    from maps.models import Nursery, NurseryClass, Offer

    nursery = Nursery(
        name=name,
        address=f"{name}路1号",
        kind=kind,
        inclusive=False,
        lat=29.6,
        lon=106.52,
        opens_at=time(8),
        closes_at=time(17),
        capacity=sum(c[1] for c in classes),
    )
    for class_type, capacity, carers in classes:
        nursery.classes.append(
            NurseryClass(class_type=class_type, name="", capacity=capacity, carers=carers)
        )
    for care_type, class_type, capacity in offers:
        nursery.offers.append(
            Offer(care_type=care_type, class_type=class_type, price_unit="month", capacity=capacity)
        )
    db.session.add(nursery)


def test_check_capacity_reports_the_nurseries_that_break_the_limits(app, runner):
    with app.app_context():
        with use_case():
            _nursery("合规园", "private", [("toddler", 15, 3)], [("full_day", "toddler", 15)])
        clean = runner.invoke(args=["nurseries", "check-capacity"])
        assert clean.exit_code == 0, clean.output
        assert "共 1 家机构，0 家不符合" in clean.output
        with use_case():
            _nursery(
                "超员园",
                "private",
                [("toddler", 15, 3)],
                [("full_day", "toddler", 15), ("hourly", "toddler", 15)],
            )
            _nursery("无班级园", "community", [], [("full_day", None, 20)])
    report = runner.invoke(args=["nurseries", "check-capacity"])
    assert report.exit_code == 1
    assert "超员园" in report.output and "[capacity_exceeds_class]" in report.output
    assert "无班级园" in report.output and "[no_class]" in report.output
    assert "合规园" not in report.output
    assert "共 3 家机构，2 家不符合" in report.output


def test_the_nursery_dashboard_lists_its_breaches_and_only_its_own(app, client, make_user):
    from maps.models import Nursery
    from tests.conftest import login

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        with use_case():
            _nursery("合规园", "private", [("toddler", 15, 3)], [("full_day", "toddler", 15)])
            _nursery("超员园", "private", [("toddler", 15, 2)], [("full_day", "toddler", 15)])
        ids = {n.name: n.id for n in db.session.scalars(db.select(Nursery))}
    lawful = make_user("nursery_staff", nursery_id=ids["合规园"])
    unlawful = make_user("nursery_staff", nursery_id=ids["超员园"])
    login(client, lawful)
    page = client.get("/portal/").get_data(as_text=True)
    assert "capacity-breaches" not in page
    client.post("/logout")
    login(client, unlawful)
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="capacity-breaches"' in page
    assert "2 名保育人员按 1:5 最多照护 10 人" in page
