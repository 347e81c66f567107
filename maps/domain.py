"""Registry vocabulary: enums with their Chinese labels and the national class standards.

Plain data, no Flask. The Chinese terms are those of the glossary in DESIGN §2.
"""

from dataclasses import dataclass

NURSERY_KINDS = {
    "public": "公办",
    "public_private": "公建民营",
    "private": "民办",
    "employer": "用人单位办托",
    "kindergarten_class": "幼儿园托班",
    "community": "社区托育点",
    "family": "家庭托育点",
}
# Kinds counted as 公办 where public rules apply (公建民营 included, as 绍兴's 公办托位 and the
# planning indicators count it): government-guided fees, the public places share.
PUBLIC_KINDS = ("public", "public_private")


def is_public(kind: str | None) -> bool:
    """Whether a nursery of this kind counts as public (公办, 公建民营 included)."""
    return kind in PUBLIC_KINDS


# 镇街 by kind: the seeds count 街道 and 乡镇 apart (荣昌 indicator 4 is over 街道 only; 绍兴
# indicator 4 over 乡镇（街道）).
STREET_KINDS = {"subdistrict": "街道", "town": "镇", "township": "乡"}


def street_kind_from_name(name: str) -> str:
    """A street's kind from its name's ending (…街道, …镇, …乡); a 街道 when it says none."""
    name = name.strip()
    if name.endswith("镇"):
        return "town"
    if name.endswith("乡"):
        return "township"
    return "subdistrict"


CARE_TYPES = {
    "full_day": "全日托",
    "half_day": "半日托",
    "hourly": "计时托",
    "temporary": "临时托",
}

# How each care type is priced by default (a nursery may choose another unit).
PRICE_UNITS = {"month": "元/月", "session": "元/次", "hour": "元/小时", "day": "元/天"}
DEFAULT_PRICE_UNIT = {
    "full_day": "month",
    "half_day": "month",
    "hourly": "hour",
    "temporary": "day",
}


@dataclass(frozen=True)
class ClassStandard:
    """One class type of the national 托育机构设置标准（试行） (2019)."""

    label: str
    min_months: int  # inclusive
    max_months: int  # exclusive
    max_children: int
    children_per_carer: int | None


CLASS_TYPES = {
    "infant": ClassStandard("乳儿班", 6, 12, 10, 3),
    "toddler": ClassStandard("托小班", 12, 24, 15, 5),
    "older": ClassStandard("托大班", 24, 36, 20, 7),
    "mixed": ClassStandard("混合班", 18, 36, 18, None),
}

# Kindergarten nursery classes take children aged 2–3 (荣昌 item 1, 大足 item 1); family care
# points at most 5 children with one carer per 3.
KINDERGARTEN_AGE_MONTHS = (24, 36)
FAMILY_MAX_CHILDREN = 5
FAMILY_CHILDREN_PER_CARER = 3
MIN_AGE_MONTHS = 6
MAX_AGE_MONTHS = 36


def class_age_range(kind: str, class_type: str) -> tuple[int, int]:
    """Months [min, max) a class of this type admits at a nursery of this kind."""
    std = CLASS_TYPES[class_type]
    if kind == "kindergarten_class":
        return max(std.min_months, KINDERGARTEN_AGE_MONTHS[0]), std.max_months
    return std.min_months, std.max_months


def class_type_for_age(months: int) -> str:
    """The standard class type (乳儿班, 托小班, 托大班) of a child aged `months`: the one home of
    the age → class mapping (a subsidy by class type follows it when the place is for all ages)."""
    if months < CLASS_TYPES["toddler"].min_months:
        return "infant"
    if months < CLASS_TYPES["older"].min_months:
        return "toddler"
    return "older"


def age_band(kind: str, class_type: str | None, class_types) -> tuple[int, int]:
    """Months [min, max) a place admits: its class type's, or (a place for all ages) the span of
    the ages the nursery's classes admit (`class_types`: those classes' types)."""
    if class_type:
        return class_age_range(kind, class_type)
    months = sorted(admitted_months(kind, class_types))
    return (months[0], months[-1] + 1) if months else (MIN_AGE_MONTHS, MAX_AGE_MONTHS)


def children_per_carer(kind: str, class_type: str) -> int:
    """The ratio a class is staffed at: the family point's 1 : 3, else `standard_ratio`."""
    if kind == "family":
        return FAMILY_CHILDREN_PER_CARER
    return standard_ratio(class_type)


def standard_ratio(class_type: str) -> int:
    """Children per carer in a class of this type: the type's own ratio, or for a 混合班 the
    strictest ratio among the class types of the ages it admits (so it needs carers)."""
    std = CLASS_TYPES[class_type]
    if std.children_per_carer is not None:
        return std.children_per_carer
    ages = range(std.min_months, std.max_months)
    return min(CLASS_TYPES[class_type_for_age(m)].children_per_carer for m in ages)


def max_children(kind: str, class_type: str) -> int:
    """The most children a class of this type may have, whatever its staff."""
    limit = CLASS_TYPES[class_type].max_children
    return min(limit, FAMILY_MAX_CHILDREN) if kind == "family" else limit


def class_capacity_limit(kind: str, class_type: str, carers: int) -> int:
    """Most children a class may take: the national maximum and carers × ratio."""
    return min(max_children(kind, class_type), carers * children_per_carer(kind, class_type))


def admitted_months(kind: str, class_types) -> set[int]:
    """Ages in whole months that at least one of a nursery's classes admits.

    A nursery whose classes are not on file yet is taken to admit the ages its kind may take.
    """
    class_types = list(class_types)
    if not class_types:
        low = KINDERGARTEN_AGE_MONTHS[0] if kind == "kindergarten_class" else MIN_AGE_MONTHS
        return set(range(low, MAX_AGE_MONTHS))
    months: set[int] = set()
    for class_type in class_types:
        low, high = class_age_range(kind, class_type)
        months.update(range(low, high))
    return months
