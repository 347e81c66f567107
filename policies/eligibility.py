"""What applies to me (这些政策与我有关): the benefits a family can expect for one child, a
district and, optionally, the nursery they chose, with the amounts.

Plain rules, no Flask or database: the query layer (policies/queries.py) hands in the policies
in force, the nursery's classes and offers and the district's operating-subsidy table.

- Age: whole months on the day asked (booking.rules.months_old). The service covers children
  under three: a birth date in the future or an age of 36 months or more is refused.
- The class a child would join is the class of its age (maps.domain.class_type_for_age); at a
  chosen nursery, each of its classes that admits that age (a 混合班 too). A child under six
  months joins no class yet: the amounts are those of the first class it can join (乳儿班).
- Operating subsidies (运营补贴, 荣昌 item 11) are paid to filed inclusive nurseries per child
  per year by class type; the family does not receive them. A 混合班 without a rate of its own
  counts by the class of the child's age (booking.rules.subsidy_class_type).
- Policies about a nursery (those requiring an inclusive nursery, and price regimes) follow the
  chosen nursery's district — the district this service runs for; the others follow the
  family's district.
- The under-3 care deduction (国发〔2022〕8号, raised by 国发〔2023〕13号) runs from the month of
  birth to the month before the third birthday.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from booking.rules import months_old, subsidy_class_type, third_birthday
from maps.domain import (
    CARE_TYPES,
    CLASS_TYPES,
    MAX_AGE_MONTHS,
    MIN_AGE_MONTHS,
    PRICE_UNITS,
    admitted_months,
    class_age_range,
    class_type_for_age,
)
from maps.pricing import REGIMES, regime_for

from .document import CATEGORIES, MAX_CHILDREN, PolicyData, region_covers, region_label

NURSERY_BOUND_CATEGORIES = ("price",)


class EligibilityError(ValueError):
    """Input the helper cannot answer: a code, a Chinese message and the field concerned."""

    def __init__(self, code: str, message: str, field: str):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def age_in_months(birth: date | None, months: int | None, on: date) -> int:
    """The child's age in whole months from a birth date or a stated age, checked."""
    if birth is not None:
        if birth > on:
            raise EligibilityError(
                "birth_in_future", "出生日期不能晚于今天，请检查后重新填写", "birth_date"
            )
        months = months_old(birth, on)
    if months is None:
        raise EligibilityError("age_required", "请填写孩子的出生日期或月龄", "birth_date")
    if months < 0:
        raise EligibilityError("age_invalid", "月龄不能为负数", "age_months")
    if months >= MAX_AGE_MONTHS:
        raise EligibilityError(
            "over_three",
            "本服务面向 3 岁以下（36 个月以下）婴幼儿：孩子已满 3 岁，托育政策查询不再适用，"
            "3 岁以上请咨询当地教育部门（幼儿园）",
            "birth_date" if birth is not None else "age_months",
        )
    return months


def check_children(children: int | None) -> int:
    if children is None:
        return 1
    if not 1 <= children <= MAX_CHILDREN:
        raise EligibilityError(
            "children_invalid", f"家庭子女数须在 1 到 {MAX_CHILDREN} 之间", "children"
        )
    return children


@dataclass(frozen=True)
class OfferFacts:
    care_type: str
    class_type: str | None
    price_yuan: Decimal | None
    price_unit: str
    rule_text: str | None = None  # the guided price or cap it keeps (maps.queries)


@dataclass(frozen=True)
class NurseryFacts:
    id: int
    name: str
    kind: str
    inclusive: bool
    class_types: tuple[str, ...] = ()
    offers: tuple[OfferFacts, ...] = ()


@dataclass(frozen=True)
class Situation:
    months: int
    on: date
    district: str  # the family's district (a region path)
    home: str  # the district this service runs for: its nurseries are there
    children: int = 1
    birth: date | None = None
    nursery: NurseryFacts | None = None


@dataclass(frozen=True)
class Amount:
    label: str
    text: str
    yuan: int | float | None = None
    unit: str | None = None  # 元/月, 元/年, 元/生/年

    def as_dict(self) -> dict:
        return {"label": self.label, "text": self.text, "yuan": self.yuan, "unit": self.unit}


@dataclass
class Benefit:
    policy: PolicyData
    amounts: list[Amount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OfferLine:
    care: str
    class_label: str
    price: str
    rule: str | None


@dataclass
class Outcome:
    months: int
    classes: list[str]  # class types the child would join (at the nursery, if chosen)
    class_note: str
    applies: list[Benefit]
    not_applicable: list[tuple[PolicyData, str]]
    regime: str | None = None
    offers: list[OfferLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regime_label(self) -> str | None:
        return REGIMES.get(self.regime) if self.regime else None


def joinable_classes(months: int, nursery: NurseryFacts | None) -> list[str]:
    """Class types the child would join at its age (from six months: see the module notes)."""
    age = max(months, MIN_AGE_MONTHS)
    if nursery is None:
        return [class_type_for_age(age)]
    if not nursery.class_types:  # classes not on file: the class of its age, if the kind admits it
        admitted = admitted_months(nursery.kind, [])
        return [class_type_for_age(age)] if age in admitted else []
    found = []
    for c in dict.fromkeys(nursery.class_types):
        low, high = class_age_range(nursery.kind, c)
        if low <= age < high:
            found.append(c)
    order = list(CLASS_TYPES)
    return sorted(found, key=order.index)


def _class_note(months: int, classes: list[str], nursery: NurseryFacts | None) -> str:
    labels = "、".join(CLASS_TYPES[c].label for c in classes)
    if months < MIN_AGE_MONTHS:
        start = f"孩子 {months} 个月，满 {MIN_AGE_MONTHS} 个月后才能入托"
        return f"{start}，届时可入{labels}" if classes else f"{start}；所选机构没有可入的班级"
    if not classes:
        return f"所选机构目前没有招收 {months} 个月龄孩子的班级"
    where = "该机构的" if nursery else ""
    return f"孩子 {months} 个月，按月龄可入{where}{labels}"


def _subsidy_amounts(rates: dict, months: int, classes: list[str]) -> list[Amount]:
    age = max(months, MIN_AGE_MONTHS)
    found = []
    for c in classes:
        rated = subsidy_class_type(c, age, rates)
        yuan = rates.get(rated) if rated else None
        label = CLASS_TYPES[c].label
        if c != rated and rated:
            label += f"（按月龄计{CLASS_TYPES[rated].label}标准）"
        if yuan is None:
            found.append(Amount(label, "该班级没有补贴标准"))
        else:
            found.append(Amount(label, f"每生每年 {yuan} 元", yuan, "元/生/年"))
    return found


def deduction_months_in_year(birth: date, year: int) -> int:
    """Months of `year` the under-3 care deduction covers: from the month of birth to the
    month before the third birthday (国发〔2022〕8号)."""
    first = birth.year * 12 + birth.month - 1
    end = third_birthday(birth)
    last = end.year * 12 + end.month - 2  # the month before the third birthday's month
    lo, hi = max(first, year * 12), min(last, year * 12 + 11)
    return max(0, hi - lo + 1)


def _amounts(p: PolicyData, s: Situation, classes: list[str], rates: dict) -> list[Amount]:
    rule = p.amount_rule
    kind = rule["kind"]
    if kind == "per_child_month":
        yuan = rule["yuan"]
        found = [
            Amount("每月", f"每孩每月 {yuan} 元", yuan, "元/月"),
            Amount("每年", f"每孩每年 {yuan * 12} 元（12 个月）", yuan * 12, "元/年"),
        ]
        if s.birth is not None:
            n = deduction_months_in_year(s.birth, s.on.year)
            found.append(
                Amount(
                    f"{s.on.year} 年",
                    f"{s.on.year} 年可扣除 {n} 个月，共 {yuan * n} 元",
                    yuan * n,
                    "元/年",
                )
            )
        return found
    if kind in ("per_class_year", "operating_subsidies"):
        table = rule.get("rates", {}) if kind == "per_class_year" else rates
        if not table:
            return [Amount("补贴标准", "本区尚未录入运营补贴标准，以当地公布为准")]
        return _subsidy_amounts(table, s.months, classes)
    if kind == "multiplier":
        return [Amount("额度", f"为{rule['of']}的 {rule['factor']} 倍")]
    if kind == "days":
        return [Amount("天数", f"{rule['days']} 天")]
    return []


def _nursery_bound(p: PolicyData) -> bool:
    return p.inclusive_required or p.category in NURSERY_BOUND_CATEGORIES


def _why_not(p: PolicyData, s: Situation, classes: list[str]) -> str | None:
    """None if the policy applies to the situation, else the reason in Chinese."""
    if not p.in_force(s.on):
        if p.effective_from and s.on < p.effective_from:
            return f"自 {p.effective_from.isoformat()} 起施行"
        return f"已于 {p.effective_to.isoformat()} 失效"
    if p.min_age_months is not None and s.months < p.min_age_months:
        return f"适用于 {p.min_age_months} 个月及以上的孩子"
    if p.max_age_months is not None and s.months >= p.max_age_months:
        return f"适用于 {p.max_age_months} 个月以下的孩子"
    if p.min_children is not None and s.children < p.min_children:
        return f"适用于有 {p.min_children} 个及以上子女的家庭"
    if s.nursery is not None and _nursery_bound(p):
        if p.inclusive_required and not s.nursery.inclusive:
            return "所选机构不是普惠性托育机构"
        if p.category == "subsidy" and not classes:
            return "所选机构没有孩子这个月龄可入的班级"
    return None


def _region_of(p: PolicyData, s: Situation) -> str:
    """The district a policy is matched against: the nursery's for nursery policies."""
    return s.home if s.nursery is not None and _nursery_bound(p) else s.district


def evaluate(s: Situation, policies, rates: dict | None = None) -> Outcome:
    """The benefits that apply (with amounts) and the related ones that do not (with why).

    `policies`: the visible policies (PolicyData); `rates`: the district's operating subsidies
    {class type: yuan per child per year} (booking's `subsidies` table)."""
    rates = rates or {}
    classes = joinable_classes(s.months, s.nursery)
    applies, not_applicable = [], []
    order = list(CATEGORIES)
    for p in sorted(policies, key=lambda p: (order.index(p.category), p.code)):
        if p.hidden or not region_covers(p.region, _region_of(p, s)):
            continue
        reason = _why_not(p, s, classes)
        if reason:
            not_applicable.append((p, reason))
            continue
        benefit = Benefit(p, _amounts(p, s, classes, rates))
        if p.category == "price" and s.nursery is not None:
            regime = REGIMES[regime_for(s.nursery.kind, s.nursery.inclusive)]
            benefit.notes.append(f"所选机构收费实行{regime}，各托位价格见下方“所选机构的收费”")
        elif p.amount_rule["kind"] == "none":
            benefit.notes.append("文件未规定统一金额，以当地公布为准")
        if p.category == "subsidy" and p.amount_rule["kind"] != "none":
            benefit.notes.append(
                "运营补贴付给托育机构（用于降低普惠收费），家庭不直接领取；限全日托、半日托等入托服务"
            )
        if p.inclusive_required and s.nursery is None:
            benefit.notes.append("仅限选择普惠性托育机构")
        applies.append(benefit)
    outcome = Outcome(s.months, classes, _class_note(s.months, classes, s.nursery), applies,
                      not_applicable)  # fmt: skip
    if s.nursery is not None:
        n = s.nursery
        outcome.regime = regime_for(n.kind, n.inclusive)
        outcome.offers = _offer_lines(n, classes)
        if s.district != s.home and not region_covers(s.district, s.home):
            outcome.notes.append(
                f"所选机构位于{region_label(s.home)}：运营补贴和收费按{region_label(s.home)}的规定"
            )
        if n.inclusive and not any(b.policy.category == "subsidy" for b in applies) and rates:
            # the district's table, even without a policy text for it
            benefit_amounts = _subsidy_amounts(rates, s.months, classes)
            if benefit_amounts:
                outcome.notes.append(
                    "本区运营补贴：" + "；".join(f"{a.label} {a.text}" for a in benefit_amounts)
                )
    return outcome


def _offer_lines(n: NurseryFacts, classes: list[str]) -> list[OfferLine]:
    lines = []
    for o in n.offers:
        if o.class_type is not None and o.class_type not in classes:
            continue
        price = (
            "未公布"
            if o.price_yuan is None
            else f"{o.price_yuan.normalize():f} {PRICE_UNITS.get(o.price_unit, o.price_unit)}"
        )
        label = CLASS_TYPES[o.class_type].label if o.class_type else "各月龄"
        lines.append(OfferLine(CARE_TYPES.get(o.care_type, o.care_type), label, price, o.rule_text))
    return lines
