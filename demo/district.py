"""A deterministic, entirely FICTIONAL demo district in Chongqing (`flask --app app demo-data`).

Every street, community, nursery, road, phone number and filing number below is invented;
the district name says so. So are the families (演示家庭…, who cannot log in) and their children
(演示幼儿…), whose bookings hold the places taken in the filed nurseries. Coordinates are stored
in WGS-84; about a quarter of the nurseries record that their source was GCJ-02 (as if typed in
from an AMap pick), to show the feature.
"""

import math
import random
import secrets
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from accounts.models import HandlerStreet, User
from accounts.roles import DEPARTMENTS
from booking import slots
from booking.models import Booking, BookingSlot, Child, NurseryConsent, Subsidy
from booking.rules import (
    ENROLMENT_TYPES,
    HELD,
    RuleError,
    check_age,
    last_day_in_band,
    months_old,
    subsidy_class_type,
)
from database import use_case
from demo.complaints import load_cases
from demo.filing import load_filings
from demo.inspections import load_inspections
from demo.policies import load_policies
from demo.ratings import load_ratings
from extensions import db
from maps.coords import gcj02_to_wgs84, wgs84_to_gcj02
from maps.domain import (
    CARE_TYPES,
    CLASS_TYPES,
    DEFAULT_PRICE_UNIT,
    NURSERY_KINDS,
    age_band,
    class_capacity_limit,
)
from maps.models import (
    Community,
    Nursery,
    NurseryClass,
    Offer,
    PlaceCounter,
    PriceRuleRow,
    Street,
    bump_registry_version,
)
from maps.pricing import SHIPPED_RULES, applicable, check_price, fit, parse_rules, regime_for

DISTRICT_NAME = "渝星区（虚构演示）"
CENTRE = (29.60, 106.52)  # lat, lon (WGS-84)
HALF_SPAN_M = (5000.0, 6000.0)  # north-south, east-west: about 10 km × 12 km
_M_PER_DEG_LAT = 110_850.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTRE[0]))
# (south, west, north, east): every demo point lies inside.
DISTRICT_BBOX = (
    round(CENTRE[0] - HALF_SPAN_M[0] / _M_PER_DEG_LAT, 4),
    round(CENTRE[1] - HALF_SPAN_M[1] / _M_PER_DEG_LON, 4),
    round(CENTRE[0] + HALF_SPAN_M[0] / _M_PER_DEG_LAT, 4),
    round(CENTRE[1] + HALF_SPAN_M[1] / _M_PER_DEG_LON, 4),
)

ADMIN_PASSWORD = "admin-demo-2026"
PARENT_PASSWORD = "parent-demo-2026"
NURSERY_PASSWORD = "nursery-demo-2026"
HANDLER_PASSWORD = "handler-demo-2026"
OPERATOR_PASSWORD = "operator-demo-2026"

# (username, password, role, description) of every account load_demo() creates.
DEMO_ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("admin", ADMIN_PASSWORD, "admin", "区卫生健康委管理员"),
    *[(f"parent{i}", PARENT_PASSWORD, "parent", f"家长{i}") for i in (1, 2, 3)],
    ("parent4", PARENT_PASSWORD, "parent", "家长4：孩子已在 nursery1 的机构入托，可以评价"),
    *[
        (
            f"nursery{i}",
            NURSERY_PASSWORD,
            "nursery_staff",
            f"托育机构工作人员：一家已备案的{label}机构（四类托育均开办）",
        )
        for i, label in ((1, "公办"), (2, "公建民营"), (3, "民办"))
    ],
    *[
        (f"handler-{code}", HANDLER_PASSWORD, "handler", f"承办部门：{label}")
        for code, label in DEPARTMENTS.items()
    ],
    # 申办人 (online filing, demo/filing.py): one application waiting, one returned
    ("operator1", OPERATOR_PASSWORD, "operator", "申办人：新机构备案申请待审核"),
    ("operator2", OPERATOR_PASSWORD, "operator", "申办人：备案申请已退回补正"),
]

# Fictional families holding the planned places of the filed nurseries' enrolments (full and half
# day). They cannot log in: every one shares a hash of a random password nobody knows.
FAMILY_USERNAME = "family-{:04d}"
FAMILY_NAME = "演示家庭{:04d}"
CHILD_NAME = "演示幼儿{:04d}"
RULES_VERSION = "2026-11"  # the consent rules version (CONSENT_RULES_VERSION)
PENDING_SHARE = 0.05  # of held places: requests the nursery has not confirmed yet
HISTORY_DAYS = 182  # confirmed enrolments began within the last six months
MIN_DAYS_LEFT = 14  # every enrolled child stays in its class's age band at least this long
RESPOND_DAYS = 3  # pending requests: the nursery's deadline
STAFF_PENDING = 2  # pending requests at each staff nursery's full day, for the confirm demo

# The waitlist demo. Each staff nursery (nursery1..3) keeps free places of all four care types, so
# its full-day offers cannot be full: its half-day MORNING session is full instead (the afternoon
# has free places). Families wait there, and on one full full-day offer of a 托小班 or 混合班
# elsewhere: (staff number, or None for that other nursery; care type; session; families waiting).
WAITLISTS = [
    (1, "half_day", "am", 2),
    (2, "half_day", "am", 1),
    (None, "full_day", None, 3),
]

# 荣昌's operating subsidy (运营补贴) paid to a filed inclusive nursery per child per year
# (DESIGN §3.3, item 11), by class type: the seed's three figures only. A child in a 混合班 is
# counted by the class of its age (booking.rules.subsidy_class_type).
SUBSIDIES = {"older": 700, "toddler": 800, "infant": 900}
SUBSIDY_SOURCE = "荣昌区三年行动计划 第11项（运营补贴，付给机构；演示区借用荣昌的金额）"
# The guided prices and caps: the shipped rule file, whose amounts are demo data (演示数据).
PRICE_RULES = parse_rules(SHIPPED_RULES.read_bytes())

# (name, urban): 街道 are denser than 镇. Laid out on a 4 × 3 grid, west to east, north to south.
STREETS = [
    ("云岭镇", False),
    ("白鹭街道", True),
    ("翠屏街道", True),
    ("青杠镇", False),
    ("龙溪镇", False),
    ("星湖街道", True),
    ("玉泉街道", True),
    ("金凤镇", False),
    ("桂山镇", False),
    ("南屏街道", True),
    ("清江街道", True),
    ("石门镇", False),
]

ROAD_WORDS = (
    "星光 玉带 清风 明月 桂香 兴业 康宁 和平 锦程 文华 翠竹 长乐 福寿 "
    "松林 金桥 建新 泰安 紫荆 望江 凤鸣 银杏 合欢 丰收 朝阳 书香 永安 "
    "青云 鹭岛 云栖 溪畔 梧桐 安居 惠民 春晖 博雅 嘉禾"
).split()
ROAD_SUFFIXES = "路 大道 街 巷 支路 东路 西路".split()

COMMUNITY_WORDS = (
    "锦绣 金色 翠湖 阳光 滨江 山水 江南 嘉陵 半岛 春风 秋实 云顶 华府 "
    "御景 香樟 枫林 橄榄 玫瑰 水岸 天悦 明珠 东方 西城 南苑 北辰 晴川 "
    "星河 月湾 雅颂 怡和 悦澜 蓝湾 青瓦 白塔 红枫 紫薇 丹桂 茗香 竹韵 "
    "兰亭 荷塘 柳岸 杏林 桃源 梅岭 松风 泉声 石板"
).split()
COMMUNITY_SUFFIXES = "花园 小区 苑 家园 新城 雅居 名都 公馆 丽景 佳园 社区 新村 里 湾 府 城".split()

CHAINS = "小橙子 贝乐果 萌芽 小星星 蒲公英 童心汇 乐宝 禾苗 小海豚 暖阳".split()
PRIVATE_SUFFIXES = "托育中心 托育园 婴幼儿成长中心 托育馆".split()
PP_BRANDS = "启蒙 康乐 育英 知雨 悦童 安心".split()
EMPLOYERS = [
    "渝星区人民医院职工",
    "星湖工业园职工",
    "渝星区机关事务中心职工",
    "龙溪电子科技园职工",
    "云岭物流园职工",
    "清江汽车零部件厂职工",
    "渝星区妇幼保健院职工",
    "桂山农产品市场职工",
    "南屏大学城教职工",
    "玉泉软件园职工",
]
KINDERGARTEN_STYLES = "中心幼儿园 第一幼儿园 第二幼儿园 实验幼儿园 育才幼儿园 童心幼儿园".split()
SURNAMES = "李 王 张 刘 陈 杨 黄 赵 周 吴 徐 孙 何 罗 谭".split()
NUMERALS = "一 二 三 四 五 六".split()

# How many nurseries of each kind (168 in all): mostly private, then kindergarten classes.
KIND_COUNTS = {
    "private": 62,
    "kindergarten_class": 26,
    "community": 24,
    "public": 16,
    "public_private": 16,
    "employer": 10,
    "family": 14,
}
UNFILED_SHARE = 0.15
UNFILED_KINDS = ("private", "family", "employer")
STAFF_KINDS = ("public", "public_private", "private")  # nursery1, nursery2, nursery3 in order
GRADES = ["A", "AA", "AAA", None]
GRADE_WEIGHTS = [28, 24, 13, 35]


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / _M_PER_DEG_LAT, lon + east_m / _M_PER_DEG_LON


def _inside(lat: float, lon: float, margin_m: float = 0.0) -> bool:
    south, west, north, east = DISTRICT_BBOX
    dlat, dlon = margin_m / _M_PER_DEG_LAT, margin_m / _M_PER_DEG_LON
    return south + dlat <= lat <= north - dlat and west + dlon <= lon <= east - dlon


def _clamp(lat: float, lon: float) -> tuple[float, float]:
    south, west, north, east = DISTRICT_BBOX
    return min(max(lat, south), north), min(max(lon, west), east)


def _scatter(rng: random.Random, centre: tuple[float, float], sigma_m: float, margin_m=60.0):
    """A gaussian point around centre, redrawn until inside the district."""
    for _ in range(50):
        lat, lon = _offset(*centre, rng.gauss(0, sigma_m), rng.gauss(0, sigma_m))
        if _inside(lat, lon, margin_m):
            return lat, lon
    return centre


def _short(street_name: str) -> str:
    return street_name.removesuffix("街道").removesuffix("镇")


def _unique(used: set[str], name: str) -> str:
    """name, or name with 二部/三部… appended when already taken."""
    if name not in used:
        used.add(name)
        return name
    for numeral in NUMERALS[1:] + [str(i) for i in range(7, 1000)]:
        candidate = f"{name}{numeral}部"
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise RuntimeError("ran out of names")  # pragma: no cover


def _streets(rng: random.Random) -> list[dict]:
    rows = []
    for i, (name, urban) in enumerate(STREETS):
        row, col = divmod(i, 4)
        north = (1 - row) * 3300.0 + rng.uniform(-300, 300)
        east = (col - 1.5) * 3000.0 + rng.uniform(-300, 300)
        lat, lon = _offset(*CENTRE, north, east)
        roads = rng.sample(ROAD_WORDS, 5)
        rows.append(
            {
                "code": f"S{i + 1:02d}",
                "name": name,
                "urban": urban,
                "centre": (lat, lon),
                "roads": [w + rng.choice(ROAD_SUFFIXES) for w in roads],
            }
        )
    return rows


def _address(rng: random.Random, street: dict, extra: str = "") -> str:
    return f"{street['name']}{rng.choice(street['roads'])}{rng.randint(1, 399)}号{extra}"


def _communities(rng: random.Random, streets: list[dict]) -> list[dict]:
    pool = [w + s for w in COMMUNITY_WORDS for s in COMMUNITY_SUFFIXES]
    rng.shuffle(pool)
    used: set[str] = set()
    rows = []
    for s_idx, street in enumerate(streets):
        count = rng.randint(27, 31) + (2 if street["urban"] else 0)
        for k in range(count):
            name = pool.pop()
            if name in used:  # pragma: no cover  (the pool has no duplicates)
                continue
            used.add(name)
            # One in eight lies on the edge of the street, where nurseries are scarce.
            remote = k % 8 == 7
            lat, lon = _scatter(rng, street["centre"], 1600.0 if remote else 800.0)
            population = int(round(rng.triangular(800, 12000, 3000), -1))
            children = round(population * rng.uniform(0.02, 0.035))
            rows.append(
                {
                    "name": name,
                    "street": s_idx,
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "population": population,
                    "children_under_3": children,
                    "remote": remote,
                    # 街道 are all 城镇; a 镇's seat (every third community) is 城镇, the rest 农村
                    "urban": street["urban"] or k % 3 == 0,
                }
            )
    return rows


def _classes(rng: random.Random, kind: str) -> list[dict]:
    """Classes within the national limits for this kind (kindergartens: 托大班 only)."""

    def make(class_type: str, carers: int, low: int) -> dict:
        limit = class_capacity_limit(kind, class_type, carers)
        return {
            "class_type": class_type,
            "carers": carers,
            "capacity": rng.randint(min(low, limit), limit),
        }

    plan: list[tuple[str, int, int]] = []  # (class_type, carers, lowest capacity)
    if kind == "family":
        carers = rng.choice([1, 2, 2])
        plan.append(("mixed", carers, 3))
    elif kind == "kindergarten_class":
        plan += [("older", 3, 14)] * rng.randint(1, 3)
    elif kind == "community":
        if rng.random() < 0.5:
            plan.append(("mixed", rng.choice([2, 3]), 10))
            if rng.random() < 0.4:
                plan.append(("toddler", 3, 10))
        else:
            plan += [("toddler", 3, 10), ("older", 3, 14)]
    else:
        infants = {"public": 1, "public_private": rng.randint(0, 1)}.get(kind, rng.randint(0, 1))
        toddlers = {"public": 2}.get(kind, rng.randint(1, 2))
        olders = {"public": rng.randint(2, 3), "employer": 1}.get(kind, rng.randint(1, 2))
        plan += [("infant", rng.choice([3, 4]), 6)] * infants
        plan += [("toddler", 3, 10)] * toddlers
        plan += [("older", 3, 14)] * olders
    classes = [make(*p) for p in plan]
    seen: dict[str, int] = {}
    for cls in classes:
        n = seen.get(cls["class_type"], 0)
        seen[cls["class_type"]] = n + 1
        label = CLASS_TYPES[cls["class_type"]].label  # 乳儿班 → 乳儿一班
        cls["name"] = label[:-1] + NUMERALS[n] + label[-1]
    return classes


def _round_to(value: float, step: int) -> Decimal:
    return Decimal(int(round(value / step)) * step)


# Care types whose times overlap share a class's places (maps.standards: at any moment a class's
# full-day, one half-day session's, an hour's hourly and a day's temporary children are all
# present). So the places of each class type are split between the care types offered in it.
# Half-day, hourly and temporary care take these shares of a class type's places (at least the
# minimum), in one class type or two; the main care type (full-day, where offered) keeps the rest,
# and at least MAIN_KEEPS of them (the staff nurseries', which offer everything: STAFF_MAIN_KEEPS).
SIDE_SHARES = {"half_day": (0.10, 0.30), "hourly": (0.05, 0.15), "temporary": (0.05, 0.15)}
SIDE_MINIMUM = {"half_day": 2, "hourly": 1, "temporary": 1}
MAIN_KEEPS = 0.6
STAFF_MAIN_KEEPS = 0.4
# The staff nurseries' half-day, hourly and temporary places are in their 托小班, which the child
# of about 20 months the README suggests adding fits.
STAFF_SIDE_CLASS = "toddler"
# Some nurseries charge more full-day for the youngest (yuan a month on top).
AGE_SURCHARGE = {"infant": 300, "toddler": 100}


def _prices(rng: random.Random, n: dict, care_types: list[str]) -> dict[str, tuple]:
    """Per care type, in its default unit: a realistic market price, and how far up its range
    it was drawn (0–1), which places a guided or capped price within the district's rule."""
    low, high = (1200, 2000) if n["inclusive"] else (2500, 5000)
    full_price = float(rng.randint(low, high))
    full_share = (full_price - low) / (high - low)
    prices = {}
    for care_type in care_types:
        if care_type == "full_day":
            prices[care_type] = (_round_to(full_price, 50), full_share)
        elif care_type == "half_day":
            factor = rng.uniform(0.55, 0.65)
            prices[care_type] = (_round_to(full_price * factor, 10), (factor - 0.55) / 0.10)
        elif care_type == "hourly":
            value = rng.uniform(30, 60)
            prices[care_type] = (_round_to(value, 5), (value - 30) / 30)
        else:
            value = rng.uniform(150, 300)
            prices[care_type] = (_round_to(value, 10), (value - 150) / 150)
    return prices


def _regulated_price(n: dict, care_type: str, class_type: str, share: float) -> Decimal | None:
    """A guided or capped nursery's price within the demo rules (None: not bounded)."""
    regime = regime_for(n["kind"], n["inclusive"])
    found = applicable(PRICE_RULES, regime, care_type, class_type)
    if not found:
        return None
    return fit(found[0], share, 5 if care_type == "hourly" else 10)


def _care_types(rng: random.Random, n: dict) -> list[str]:
    """The care types a nursery offers, the main one (full-day, where offered) first."""
    if n["all_care_types"]:
        return list(CARE_TYPES)
    care_types = []
    if n["kind"] == "family" or rng.random() < 0.93:
        care_types.append("full_day")
    if rng.random() < 0.35:
        care_types.append("half_day")
    if n["kind"] != "kindergarten_class" and rng.random() < 0.30:
        care_types.append("hourly")
    if n["kind"] != "kindergarten_class" and rng.random() < 0.25:
        care_types.append("temporary")
    if not care_types:
        care_types.append(rng.choice(["half_day", "hourly"]))
    return care_types


def _offers(rng: random.Random, n: dict) -> list[dict]:
    """Care offers, each for one class type the nursery has, within its classes' places; realistic
    prices; a few are planned full (every place held).

    The main care type is offered in every class type; each other one in one class type (half-day
    sometimes in two), and only where the class type has room for it beside the main one.
    """
    care_types = _care_types(rng, n)
    prices = _prices(rng, n, care_types)
    places: dict[str, int] = {}
    for c in n["classes"]:
        places[c["class_type"]] = places.get(c["class_type"], 0) + c["capacity"]
    class_types = [ct for ct in CLASS_TYPES if ct in places]  # youngest first
    main, *side = care_types
    served = {}
    for care_type in side:
        if n["all_care_types"]:
            served[care_type] = [STAFF_SIDE_CLASS]
        else:
            pool = [ct for ct in class_types if ct != "infant"] or class_types
            two = care_type == "half_day" and len(pool) > 1 and rng.random() < 0.3
            served[care_type] = rng.sample(pool, 2 if two else 1)
    keeps = STAFF_MAIN_KEEPS if n["all_care_types"] else MAIN_KEEPS
    capacity: dict[tuple[str, str], int] = {}  # (care type, class type) → places
    for ct in class_types:
        total = places[ct]
        room = total - math.ceil(total * keeps)
        for care_type in side:
            if ct not in served[care_type] or room < SIDE_MINIMUM[care_type]:
                continue
            low, high = SIDE_SHARES[care_type]
            want = max(SIDE_MINIMUM[care_type], round(total * rng.uniform(low, high)))
            capacity[care_type, ct] = min(want, room)
            room -= capacity[care_type, ct]
        capacity[main, ct] = total - sum(capacity.get((c, ct), 0) for c in side)
    dearer_young = (
        main == "full_day"
        and len(class_types) > 1
        and n["kind"] in ("public", "public_private", "private")
        and rng.random() < 0.3
    )
    offers = []
    for care_type in care_types:
        unit = DEFAULT_PRICE_UNIT[care_type]
        for ct in class_types:
            if (care_type, ct) not in capacity:
                continue
            price, share = prices[care_type]
            if care_type == main and dearer_young:
                price += AGE_SURCHARGE.get(ct, 0)
            regulated = _regulated_price(n, care_type, ct, share)
            price = price if regulated is None else regulated
            check_price(PRICE_RULES, n["kind"], n["inclusive"], care_type, ct, price, unit)
            offers.append(_offer(rng, care_type, ct, price, unit, capacity[care_type, ct]))
    if n["all_care_types"]:
        assert {o["care_type"] for o in offers} == set(CARE_TYPES), n["name"]
    return offers


def _offer(rng, care_type, class_type, price, unit, capacity) -> dict:
    """One offer; "planned" is how many places families should hold (_families makes them)."""
    roll = rng.random()
    if roll < 0.12:
        planned = capacity  # full: the "free places only" filter hides it
    elif roll < 0.20:
        planned = 0
    else:
        planned = min(capacity, round(capacity * rng.uniform(0.2, 0.95)))
    return {
        "care_type": care_type,
        "class_type": class_type,
        "price_yuan": price,
        "price_unit": unit,
        "capacity": capacity,
        "planned": planned,
    }


def _nurseries(rng: random.Random, streets: list[dict], communities: list[dict]) -> list[dict]:
    kinds = [kind for kind, count in KIND_COUNTS.items() for _ in range(count)]
    rng.shuffle(kinds)
    weights = [1.6 if s["urban"] else 0.7 for s in streets]
    # Every street gets one public nursery; the rest are spread by density.
    public_round = iter(range(len(streets)))
    assigned = []
    for kind in kinds:
        s_idx = next(public_round, None) if kind == "public" else None
        if s_idx is None:
            s_idx = rng.choices(range(len(streets)), weights=weights)[0]
        assigned.append((kind, s_idx))

    served = {}  # street index → communities nurseries may be placed beside
    for s_idx in range(len(streets)):
        served[s_idx] = [c for c in communities if c["street"] == s_idx and not c["remote"]]

    used_names: set[str] = set()
    chain_cycle = 0
    rows = []
    for kind, s_idx in assigned:
        street = streets[s_idx]
        short = _short(street["name"])
        beside = kind in ("community", "family") or rng.random() < 0.45
        community = rng.choice(served[s_idx]) if beside else None
        if community is not None:
            distance = rng.uniform(40, 250)
            bearing = rng.uniform(0, 2 * math.pi)
            lat, lon = _clamp(
                *_offset(
                    community["lat"],
                    community["lon"],
                    distance * math.cos(bearing),
                    distance * math.sin(bearing),
                )
            )
        else:
            lat, lon = _scatter(rng, street["centre"], 900.0)
        estate = community["name"] if community else None

        if kind == "public":
            name = f"{street['name']}托育服务中心"
        elif kind == "public_private":
            name = f"{short}{rng.choice(PP_BRANDS)}托育园（公建民营）"
        elif kind == "private":
            if rng.random() < 0.6:
                chain = CHAINS[chain_cycle % len(CHAINS)]
                chain_cycle += 1
                name = f"{chain}托育中心（{short}店）"
            else:
                word = rng.choice(COMMUNITY_WORDS)
                name = f"{word}宝贝{rng.choice(PRIVATE_SUFFIXES)}"
        elif kind == "employer":
            name = f"{rng.choice(EMPLOYERS)}托育园"
        elif kind == "kindergarten_class":
            name = f"渝星区{short}{rng.choice(KINDERGARTEN_STYLES)}托班"
        elif kind == "community":
            name = (
                f"{street['name']}{estate}社区托育点" if estate else f"{street['name']}社区托育点"
            )
        else:
            name = f"{rng.choice(SURNAMES)}阿姨家庭托育点（{estate}）"
        name = _unique(used_names, name)

        extra = ""
        if estate:
            extra = f"{estate}{rng.randint(1, 20)}栋{rng.randint(1, 2)}楼"
        if kind == "family":
            hours = (time(8, 0), time(17, 30))
        elif kind == "employer":
            hours = rng.choice([(time(7, 30), time(18, 0)), (time(7, 0), time(18, 30))])
        else:
            hours = rng.choice([(time(7, 30), time(17, 30))] * 4 + [(time(8, 0), time(18, 0))])

        gcj = rng.random() < 0.25
        rows.append(
            {
                "kind": kind,
                "street": s_idx,
                "name": name,
                "address": _address(rng, street, extra),
                "lat": lat,
                "lon": lon,
                "gcj02": gcj,
                "phone": f"023-6{rng.randrange(10**7):07d}",
                "opens_at": hours[0],
                "closes_at": hours[1],
                "filed": True,
                "all_care_types": False,
            }
        )

    # Some private, family and employer nurseries are still waiting to be filed.
    candidates = [i for i, n in enumerate(rows) if n["kind"] in UNFILED_KINDS]
    unfiled = set(rng.sample(candidates, round(len(rows) * UNFILED_SHARE)))
    for i in sorted(unfiled):
        rows[i]["filed"] = False
    # nursery1..3: one filed public, public-private and private nursery that offers everything.
    for number, kind in enumerate(STAFF_KINDS, start=1):
        first = next(n for n in rows if n["kind"] == kind and n["filed"])
        first["all_care_types"] = True
        first["staff"] = number

    for n in rows:
        n["classes"] = _classes(rng, n["kind"])
        n["capacity"] = sum(c["capacity"] for c in n["classes"])
        if not n["filed"]:
            n["inclusive"] = False
        elif n["kind"] in ("public", "community"):
            n["inclusive"] = True
        else:
            n["inclusive"] = rng.random() < 0.6
        n["offers"] = _offers(rng, n)
        if n["filed"]:
            n["grade"] = rng.choices(GRADES, weights=GRADE_WEIGHTS)[0]
            n["demonstration"] = n["grade"] in ("AA", "AAA") and rng.random() < 0.3
            n["filing_date"] = date(2020, 6, 1) + timedelta(days=rng.randrange(5 * 365))
        else:
            n["grade"] = None
            n["demonstration"] = False
            n["filing_date"] = None

    # Filing numbers run in date order within each year: 渝星卫托备〔2024〕031号.
    seq: dict[int, int] = {}
    for n in sorted((n for n in rows if n["filed"]), key=lambda n: (n["filing_date"], n["name"])):
        year = n["filing_date"].year
        seq[year] = seq.get(year, 0) + 1
        n["filing_no"] = f"渝星卫托备〔{year}〕{seq[year]:03d}号"
    for n in rows:
        n.setdefault("filing_no", None)
        if n["gcj02"]:
            # As if picked on an AMap (GCJ-02) map to six decimals, then converted on input.
            g_lat, g_lon = wgs84_to_gcj02(n["lat"], n["lon"])
            n["lat"], n["lon"] = gcj02_to_wgs84(round(g_lat, 6), round(g_lon, 6))
        else:
            n["lat"], n["lon"] = round(n["lat"], 6), round(n["lon"], 6)
    return rows


def _months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (or the month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _band(n: dict, offer: dict) -> tuple[int, int]:
    """Ages in months [min, max) an offer admits: its class type's, or (all-ages offers) those of
    the nursery's classes, as the booking service reckons them (kindergartens: 24–36)."""
    return age_band(n["kind"], offer["class_type"], [c["class_type"] for c in n["classes"]])


def _birth(rng: random.Random, band: tuple[int, int], first: date, last: date) -> date | None:
    """A birth date that keeps a child inside the band on every day from first to last."""
    latest = _months_before(first, band[0])
    earliest = _months_before(last, band[1]) + timedelta(days=1)
    for _ in range(10):
        if latest < earliest:
            return None
        birth = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
        try:
            check_age(birth, first, band)
            check_age(birth, last, band)
        except RuleError:
            continue
        return birth
    return None


def _child_for(rng, band, today: date, status: str) -> tuple[date, date, date]:
    """(birth, start, end) of an enrolment. Confirmed ones began within the last six months;
    pending and waitlisted ones start soon, with the child already in the band today."""
    if status == "confirmed":
        back = rng.randint(0, HISTORY_DAYS)
        while True:
            start = today - timedelta(days=back)
            birth = _birth(rng, band, start, today + timedelta(days=MIN_DAYS_LEFT))
            if birth is not None:
                break
            back //= 2
    else:
        start = today + timedelta(days=rng.randint(3, 30))
        birth = _birth(rng, band, today, start + timedelta(days=30))
        assert birth is not None, band
    return birth, start, last_day_in_band(birth, band)


def _families(rng: random.Random, nurseries: list[dict], today: date) -> list[dict]:
    """Bookings (one child, one family each) that hold the planned places, and the waitlists.

    Only filed nurseries take bookings on the platform, so only theirs are filled.
    """
    staff = {n["staff"]: i for i, n in enumerate(nurseries) if n.get("staff")}
    # The other waitlist: the first full-day offer of a filed, non-staff nursery's 托小班 or 混合班
    # (which a child of about 20 months fits), made full if it was not planned so.
    other = next(
        (i, j)
        for i, n in enumerate(nurseries)
        if n["filed"] and not n.get("staff")
        for j, o in enumerate(n["offers"])
        if o["care_type"] == "full_day" and o["class_type"] in ("toddler", "mixed")
    )
    full_offer = nurseries[other[0]]["offers"][other[1]]
    full_offer["planned"] = full_offer["capacity"]

    bookings = []
    for i, n in enumerate(nurseries):
        if not n["filed"]:
            continue
        for j, o in enumerate(n["offers"]):
            if o["care_type"] not in ENROLMENT_TYPES:
                continue
            cap, planned = o["capacity"], o["planned"]
            if o["care_type"] == "full_day":
                held = {None: planned}
                if n.get("staff"):  # free places, but families enough to show
                    held = {None: min(max(planned, cap // 2), cap - max(1, cap // 5))}
            else:
                pm = cap if planned == cap else min(cap, round(planned * rng.uniform(0.3, 0.9)))
                held = {"am": planned, "pm": pm}
                if n.get("staff"):  # morning full, afternoon free
                    held = {"am": cap, "pm": min(pm, cap - max(1, cap // 4))}
            band = _band(n, o)
            for session, count in held.items():
                for k in range(count):
                    if n.get("staff") and o["care_type"] == "full_day":
                        status = "pending" if k < STAFF_PENDING else "confirmed"
                    else:
                        status = "pending" if rng.random() < PENDING_SHARE else "confirmed"
                    birth, start, end = _child_for(rng, band, today, status)
                    bookings.append(
                        {
                            "nursery": i,
                            "offer": j,
                            "status": status,
                            "session": session,
                            "birth": birth,
                            "start": start,
                            "end": end,
                            "queue": None,
                        }
                    )
    for number, care_type, session, count in WAITLISTS:
        i, j = other
        if number is not None:
            i = staff[number]
            j = next(j for j, o in enumerate(nurseries[i]["offers"]) if o["care_type"] == care_type)
        band = _band(nurseries[i], nurseries[i]["offers"][j])
        for k in range(count):
            birth, start, end = _child_for(rng, band, today, "waitlisted")
            bookings.append(
                {
                    "nursery": i,
                    "offer": j,
                    "status": "waitlisted",
                    "session": session,
                    "birth": birth,
                    "start": start,
                    "end": end,
                    "queue": count - k,  # queued that many days ago: the first waited longest
                }
            )
    return bookings


def _subsidy(n: dict, offer: dict, birth: date, start: date) -> int | None:
    """What booking.services records: the operating subsidy an inclusive nursery receives."""
    if not n["inclusive"]:
        return None
    return SUBSIDIES.get(
        subsidy_class_type(offer["class_type"], months_old(birth, start), SUBSIDIES)
    )


def _description(n: dict) -> str:
    parts = [NURSERY_KINDS[n["kind"]]]
    if n["inclusive"]:
        parts.append("普惠性托育机构")
    if n["demonstration"]:
        parts.append("示范托育机构")
    if not n["filed"]:
        parts.append("备案审核中")
    return "，".join(parts) + "。（虚构演示数据）"


def load_demo(seed: int = 2026, now: datetime | None = None) -> dict:
    """Load the fictional district into the current app's database in one transaction.

    Dates of the families' bookings are reckoned from `now` (default: the present).
    """
    now = (now or datetime.now()).replace(microsecond=0)
    today = now.date()
    rng = random.Random(seed)
    streets = _streets(rng)
    communities = _communities(rng, streets)
    nurseries = _nurseries(rng, streets, communities)
    # A second generator, so that the registry above does not depend on the families.
    plans = _families(random.Random(f"families-{seed}"), nurseries, today)

    with use_case():  # one transaction: the demo loads whole or not at all
        session = db.session
        street_objs = [Street(code=s["code"], name=s["name"]) for s in streets]  # kind by name
        session.add_all(street_objs)
        session.add_all(
            Community(
                name=c["name"],
                street=street_objs[c["street"]],
                lat=c["lat"],
                lon=c["lon"],
                source_coordsys="wgs84",
                population=c["population"],
                children_under_3=c["children_under_3"],
                urban=c["urban"],
            )
            for c in communities
        )
        nursery_objs = []
        offer_objs = []  # per nursery, in plan order
        for n in nurseries:
            offers = [
                Offer(
                    care_type=o["care_type"],
                    class_type=o["class_type"],
                    price_yuan=o["price_yuan"],
                    price_unit=o["price_unit"],
                    capacity=o["capacity"],
                )
                for o in n["offers"]
            ]
            offer_objs.append(offers)
            obj = Nursery(
                name=n["name"],
                address=n["address"],
                street=street_objs[n["street"]],
                kind=n["kind"],
                inclusive=n["inclusive"],
                filing_no=n["filing_no"],
                filing_date=n["filing_date"],
                grade=n["grade"],
                demonstration=n["demonstration"],
                lat=n["lat"],
                lon=n["lon"],
                source_coordsys="gcj02" if n["gcj02"] else "wgs84",
                phone=n["phone"],
                opens_at=n["opens_at"],
                closes_at=n["closes_at"],
                capacity=n["capacity"],
                description=_description(n),
                classes=[NurseryClass(**c) for c in n["classes"]],
                offers=offers,
            )
            nursery_objs.append(obj)
        session.add_all(nursery_objs)
        session.flush()

        staff_nurseries = {
            n["staff"]: obj
            for obj, n in zip(nursery_objs, nurseries, strict=True)
            if n.get("staff")
        }
        users = []
        for username, password, role, description in DEMO_ACCOUNTS:
            user = User(username=username, role=role, name=description)
            if role == "nursery_staff":
                nursery = staff_nurseries[int(username.removeprefix("nursery"))]
                user.nursery_id = nursery.id
                user.name = f"{nursery.name}工作人员"[:64]
            elif role == "handler":
                user.department_code = username.removeprefix("handler-")
            user.set_password(password)
            users.append(user)
        session.add_all(users)

        bookings = _load_families(plans, nurseries, nursery_objs, offer_objs, now)
        session.add_all(
            Subsidy(class_type=class_type, yuan_per_year=yuan, source=SUBSIDY_SOURCE)
            for class_type, yuan in SUBSIDIES.items()
        )
        session.add_all(PriceRuleRow.from_rule(r) for r in PRICE_RULES)

        bump_registry_version()
        session.flush()
        # The street handler answers for the street of nursery1's nursery (属地).
        street_handler = session.scalar(select(User).where(User.username == "handler-street"))
        session.add(
            HandlerStreet(user_id=street_handler.id, street_id=staff_nurseries[1].street_id)
        )
        complaints = load_cases(now)
        filings = load_filings(now, CENTRE)
        policies = load_policies(now)
        load_ratings(now)  # demo/ratings.py: ratings, replies, one comment to moderate
        inspected = load_inspections(now, [staff_nurseries[k].id for k in sorted(staff_nurseries)])
    return {
        "streets": len(street_objs),
        "communities": len(communities),
        "nurseries": len(nursery_objs),
        "users": len(users),  # the demo accounts one can log in with
        "families": len(plans),
        "complaints": complaints,
        "filings": filings,
        "bookings": len(plans),
        **{f"bookings_{status}": count for status, count in sorted(bookings.items())},
        "subsidies": len(SUBSIDIES),
        "price_rules": len(PRICE_RULES),
        "policies": policies,
        **{f"inspection_{k}": v for k, v in inspected.items()},
    }


def _load_families(plans, nurseries, nursery_objs, offer_objs, now: datetime) -> Counter:
    """Insert the families, children, consents, bookings, their slots and the place counters
    (in bulk); returns the number of bookings by status."""
    session = db.session
    # One hash of a password nobody knows: the demo families cannot log in.
    password_hash = generate_password_hash(secrets.token_urlsafe(), method="scrypt")
    numbers = range(1, len(plans) + 1)
    parents = [
        User(
            username=FAMILY_USERNAME.format(k),
            password_hash=password_hash,
            name=FAMILY_NAME.format(k),
            role="parent",
        )
        for k in numbers
    ]
    session.add_all(parents)
    session.flush()
    children = [
        Child(
            parent_id=parent.id,
            name=CHILD_NAME.format(k),
            birth_date=p["birth"],
            consent_version=RULES_VERSION,
            consent_at=now,
        )
        for k, parent, p in zip(numbers, parents, plans, strict=True)
    ]
    session.add_all(children)
    session.flush()

    held: Counter = Counter()  # (nursery index, offer index, slot) → places held
    slots_used: set = set()
    bookings = []
    for parent, child, p in zip(parents, children, plans, strict=True):
        n, o = nurseries[p["nursery"]], nurseries[p["nursery"]]["offers"][p["offer"]]
        offer = offer_objs[p["nursery"]][p["offer"]]
        slot = slots.session(p["session"]) if p["session"] else slots.enrolment()
        key = (p["nursery"], p["offer"], slot)
        slots_used.add(key)
        if p["status"] in HELD:
            held[key] += 1
        queued_at = now - timedelta(days=p["queue"]) if p["queue"] else None
        bookings.append(
            Booking(
                child_id=child.id,
                parent_id=parent.id,
                nursery_id=nursery_objs[p["nursery"]].id,
                offer_id=offer.id,
                care_type=o["care_type"],
                status=p["status"],
                start_date=p["start"],
                end_date=p["end"],
                session=p["session"],
                price_yuan=o["price_yuan"],
                price_unit=o["price_unit"],
                subsidy_yuan_per_year=_subsidy(n, o, p["birth"], p["start"]),
                priority=0,
                queued_at=queued_at,
                respond_by=now + timedelta(days=RESPOND_DAYS) if p["status"] == "pending" else None,
                created_at=queued_at or now,
                updated_at=queued_at or now,
                slots=[BookingSlot(slot=slot, offer_id=offer.id)],
            )
        )
    session.add_all(
        NurseryConsent(
            child_id=child.id,
            nursery_id=nursery_objs[p["nursery"]].id,
            rules_version=RULES_VERSION,
            given_at=now,
        )
        for child, p in zip(children, plans, strict=True)
    )
    session.add_all(bookings)
    counters = []
    for i, j, slot in sorted(slots_used):
        offer = offer_objs[i][j]
        assert held[i, j, slot] <= offer.capacity, (nurseries[i]["name"], slot)
        counters.append(
            PlaceCounter(
                offer_id=offer.id, slot=slot, capacity=offer.capacity, taken=held[i, j, slot]
            )
        )
    session.add_all(counters)
    session.flush()
    return Counter(p["status"] for p in plans)
