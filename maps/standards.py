"""Does a nursery's data keep the national limits? Classes and the places offered in them.

Plain rules, no Flask or database: `check_nursery` takes a nursery's kind, its classes and its
offers and returns every breach, each with a code (the API's refusal codes of issue 10) and a
Chinese message carrying the numbers. It reports; enforcing the limits in the booking use cases
builds on it.

The limits (DESIGN §3.2; 托育机构设置标准（试行）, 家庭托育点管理办法（试行）):
- a class holds at most its type's maximum and at most carers × ratio; a 混合班 takes the
  strictest ratio of the ages it admits (18–36 months: the 托小班's 1 : 5), so it needs carers;
- a 家庭托育点 is one group of at most 5 children, one carer per 3;
- a kindergarten's 托班 takes children aged 2–3 only;
- care types whose times overlap share a class's places: at any moment the full-day places, one
  half-day session's places, an hour's hourly places and a day's temporary places of a class are
  all present at once, so together they may not exceed the class's places;
- a place belongs to one class, so an offer "for every age" (no class type) cannot be checked
  against any class, and a nursery with no classes on file may not offer places at all.
"""

from collections import defaultdict
from dataclasses import dataclass

from .domain import (
    CARE_TYPES,
    CLASS_TYPES,
    children_per_carer,
    class_age_range,
    class_capacity_limit,
    max_children,
)


@dataclass(frozen=True)
class ClassSpec:
    class_type: str
    capacity: int
    carers: int
    name: str = ""


@dataclass(frozen=True)
class OfferSpec:
    care_type: str
    class_type: str | None  # None: "for every age"
    capacity: int


def class_specs(rows) -> list[ClassSpec]:
    """Classes as these rules read them, from anything with their fields (NurseryClass rows)."""
    return [ClassSpec(c.class_type, c.capacity, c.carers, c.name) for c in rows]


def offer_specs(rows) -> list[OfferSpec]:
    """Offers as these rules read them, from anything with their fields (Offer rows)."""
    return [OfferSpec(o.care_type, o.class_type, o.capacity) for o in rows]


@dataclass(frozen=True)
class Breach:
    code: str  # class_size_exceeded, ratio_exceeded, capacity_exceeds_class, no_class,
    # age_outside_class
    message: str
    subject: str | None = None  # the class type it concerns; GROUP for the nursery as a whole


GROUP = "group"  # a breach of the nursery as a whole (no classes; a family point's one group)


def _label(c: ClassSpec) -> str:
    return c.name or CLASS_TYPES[c.class_type].label


def check_class(kind: str, c: ClassSpec) -> list[Breach]:
    """The breaches of one class: its size, its staff, the ages a kindergarten may take."""
    found = []
    label = _label(c)
    most = max_children(kind, c.class_type)
    if c.capacity > most:
        found.append(
            Breach(
                "class_size_exceeded",
                f"{label}设 {c.capacity} 个托位，超过上限 {most} 人",
                c.class_type,
            )
        )
    per_carer = children_per_carer(kind, c.class_type)
    if c.capacity > c.carers * per_carer:
        found.append(
            Breach(
                "ratio_exceeded",
                f"{label}设 {c.capacity} 个托位，{c.carers} 名保育人员按 1:{per_carer} "
                f"最多照护 {c.carers * per_carer} 人",
                c.class_type,
            )
        )
    low, high = class_age_range(kind, c.class_type)
    if low >= high:  # e.g. a 乳儿班 at a kindergarten, which takes 2–3-year-olds only
        found.append(
            Breach(
                "age_outside_class",
                f"幼儿园托班只招收 2–3 岁幼儿，不能开设{label}",
                c.class_type,
            )
        )
    return found


def class_places(kind: str, classes: list[ClassSpec]) -> dict[str, int]:
    """The places of each class type: its classes' capacities, each at most the lawful limit
    (the class maximum and carers × ratio), so unlawful data never widens a limit."""
    places: dict[str, int] = defaultdict(int)
    for c in classes:
        places[c.class_type] += min(c.capacity, class_capacity_limit(kind, c.class_type, c.carers))
    return dict(places)


def check_offers(kind: str, classes: list[ClassSpec], offers: list[OfferSpec]) -> list[Breach]:
    """Places offered without a class, in a class the nursery lacks, or more at one moment
    than a class type's places (every care type's places of a class are present at once)."""
    found = []
    offered = [o for o in offers if o.capacity > 0]
    if not classes:
        if offered:
            found.append(
                Breach(
                    "no_class",
                    "机构未登记班级，不能提供托位（备案托位数只是上限，不是班级）",
                    GROUP,
                )
            )
        return found
    places = class_places(kind, classes)
    present: dict[str, list[OfferSpec]] = defaultdict(list)
    for o in offered:
        if o.class_type is None:
            found.append(
                Breach(
                    "no_class",
                    f"{CARE_TYPES[o.care_type]} {o.capacity} 个托位未指明班级："
                    "每个托位须属于一个班级",
                )
            )
        elif o.class_type not in places:
            found.append(
                Breach(
                    "no_class",
                    f"{CARE_TYPES[o.care_type]}的托位属于{CLASS_TYPES[o.class_type].label}，"
                    "但机构没有登记这个班级",
                    o.class_type,
                )
            )
        else:
            present[o.class_type].append(o)
    for class_type, class_offers in present.items():
        total = sum(o.capacity for o in class_offers)
        if total > places[class_type]:
            parts = "、".join(f"{CARE_TYPES[o.care_type]} {o.capacity}" for o in class_offers)
            found.append(
                Breach(
                    "capacity_exceeds_class",
                    f"{CLASS_TYPES[class_type].label}同一时段可能在园 {total} 人（{parts}），"
                    f"超过班级托位 {places[class_type]} 个",
                    class_type,
                )
            )
    return found


def check_nursery(kind: str, classes: list[ClassSpec], offers: list[OfferSpec]) -> list[Breach]:
    """Every breach of the national limits in a nursery's classes and offers."""
    found = []
    if kind == "family" and len(classes) > 1:
        places = sum(c.capacity for c in classes)
        found.append(
            Breach(
                "class_size_exceeded",
                f"家庭托育点只设一个托育组，现登记 {len(classes)} 个班级共 {places} 个托位",
                GROUP,
            )
        )
    for c in classes:
        found += check_class(kind, c)
    return found + check_offers(kind, classes, offers)


def breaches_of_change(
    kind: str, classes: list[ClassSpec], offers: list[OfferSpec], class_types
) -> list[Breach]:
    """The breaches a change to these class types would leave: what a nursery is refused when
    it sets a class or an offer (breaches elsewhere in its data are reported, not refused, so a
    nursery can always mend one thing at a time)."""
    concerned = set(class_types) | {GROUP}
    return [b for b in check_nursery(kind, classes, offers) if b.subject in concerned]
