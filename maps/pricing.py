"""Price regimes (价格管理, 荣昌 item 9, 大足 item 9) as plain rules: which regime a nursery's
prices fall under, and whether a price keeps the district's guided price or cap.

No Flask, no database. The figures are data a district sets (table `price_rules`, loaded from
a JSON file such as the shipped `maps/price_rules.json`, whose numbers are demo data): the
seeds name the regimes but give no amounts.

- 政府指导价 (`guided`): 公办 nurseries, and 公建民营 counted with them (as planning counts public
  places). A guided price is a base price (基准价) with a float range: a nursery may charge from
  base × (1 − down %) to base × (1 + up %); no down % means it may charge anything below.
- 普惠限价 (`capped`): other inclusive (普惠性) nurseries. The amount is the most they may charge.
- 市场调节价 (`market`): every other nursery sets its own price.

A rule is per care type and, where it matters, class type (NULL: every class type without a
row of its own) and fixes the unit the price is charged in.
"""

import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path

from .domain import CARE_TYPES, CLASS_TYPES, PRICE_UNITS

REGIMES = {"guided": "政府指导价", "capped": "普惠限价", "market": "市场调节价"}
REGULATED = ("guided", "capped")  # regimes whose prices the district's rules bound
# Kinds where 公办 rules apply (the same two planning counts as public places, 公建).
PUBLIC_KINDS = ("public", "public_private")
MAX_AMOUNT = Decimal(100_000)
SHIPPED_RULES = Path(__file__).with_name("price_rules.json")  # demo figures (演示数据)
MAX_SOURCE = 200
CENT = Decimal("0.01")


class PriceRuleError(ValueError):
    """A price the rules refuse, or a rule file that cannot be read: a code and a message."""

    def __init__(self, code: str, message: str, field: str | None = "price_yuan"):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def regime_for(kind: str, inclusive: bool) -> str:
    """The price regime of a nursery: guided for 公办 (and 公建民营), capped for other inclusive
    nurseries, market for the rest."""
    if kind in PUBLIC_KINDS:
        return "guided"
    return "capped" if inclusive else "market"


@dataclass(frozen=True)
class PriceRule:
    """One guided price or cap: regime, care type, class type (None: any other), unit, amount
    (the base of a guided price, the maximum of a cap), a guided price's float range, source."""

    regime: str
    care_type: str
    class_type: str | None
    price_unit: str
    amount: Decimal
    source: str
    float_up_percent: Decimal | None = None
    float_down_percent: Decimal | None = None

    @property
    def low(self) -> Decimal:
        """The lowest price the rule allows (0 for caps and guided prices with no lower bound)."""
        if self.regime != "guided" or self.float_down_percent is None:
            return Decimal(0)
        low = self.amount * (100 - self.float_down_percent) / 100
        return low.quantize(CENT, rounding=ROUND_CEILING)

    @property
    def high(self) -> Decimal:
        """The highest price the rule allows."""
        if self.regime != "guided":
            return self.amount
        high = self.amount * (100 + (self.float_up_percent or 0)) / 100
        return high.quantize(CENT, rounding=ROUND_FLOOR)

    @property
    def unit_label(self) -> str:
        return PRICE_UNITS[self.price_unit]

    def describe(self) -> str:
        """In Chinese, as the pages and refusals show it."""
        unit = self.unit_label
        if self.regime == "capped":
            return f"限价 {_yuan(self.amount)} {unit}"
        up = f"上浮不超过 {_pct(self.float_up_percent or Decimal(0))}%"
        down = (
            "下浮不限"
            if self.float_down_percent is None
            else f"下浮不超过 {_pct(self.float_down_percent)}%"
        )
        span = f"{_yuan(self.low)}–{_yuan(self.high)}" if self.low else f"不高于 {_yuan(self.high)}"
        return f"指导价 {_yuan(self.amount)} {unit}（{up}、{down}，即 {span} {unit}）"

    def as_dict(self) -> dict:
        """The rule as the JSON file and the API carry it."""
        return {
            "regime": self.regime,
            "care_type": self.care_type,
            "class_type": self.class_type,
            "price_unit": self.price_unit,
            "amount": _num(self.amount),
            "float_up_percent": _num(self.float_up_percent),
            "float_down_percent": _num(self.float_down_percent),
            "source": self.source,
        }


def _num(value: Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _yuan(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


def applicable(rules, regime: str, care_type: str, class_type: str | None) -> list[PriceRule]:
    """The rules an offer's price must keep: its class type's own rule, else the care type's
    rule for any class type. An offer for no class type (imported, not yet placed in a class)
    keeps the any-class rule, or, if there is none, every class type's rule of its care type."""
    if regime not in REGULATED:
        return []
    mine = [r for r in rules if r.regime == regime and r.care_type == care_type]
    general = [r for r in mine if r.class_type is None]
    if class_type is None:
        return general or mine
    own = [r for r in mine if r.class_type == class_type]
    return own or general


def check_price(
    rules, kind: str, inclusive: bool, care_type: str, class_type, price: Decimal | None, unit: str
) -> None:
    """Refuse a price outside the nursery's regime: above a cap, outside a guided range, or in
    another unit than the rule's. Market prices, unpublished prices (None) and care types the
    district has set no rule for are not bounded."""
    if price is None:
        return
    regime = regime_for(kind, inclusive)
    what = CARE_TYPES.get(care_type, care_type)
    if class_type:
        what += f"（{CLASS_TYPES[class_type].label}）"
    who = {"public": "公办托育机构", "public_private": "公建民营托育机构"}.get(
        kind, "普惠性托育机构"
    )
    for rule in applicable(rules, regime, care_type, class_type):
        if unit != rule.price_unit:
            raise PriceRuleError(
                "price_unit_mismatch",
                f"{who}的{what}收费实行{REGIMES[regime]}，按 {rule.unit_label} 计价，"
                f"请以 {rule.unit_label} 填写。{rule.describe()}；来源：{rule.source}",
                field="price_unit",
            )
        if price > rule.high:
            code = "price_above_cap" if regime == "capped" else "price_above_guided"
            limit = "限价" if regime == "capped" else "指导价允许的最高价"
            raise PriceRuleError(
                code,
                f"{who}的{what}收费不得高于{limit} {_yuan(rule.high)} {rule.unit_label}，"
                f"填写的是 {_yuan(price)} {rule.unit_label}。"
                f"{REGIMES[regime]}：{rule.describe()}；来源：{rule.source}",
            )
        if price < rule.low:
            raise PriceRuleError(
                "price_below_guided",
                f"{who}的{what}收费不得低于指导价允许的最低价 {_yuan(rule.low)} "
                f"{rule.unit_label}，填写的是 {_yuan(price)} {rule.unit_label}。"
                f"{REGIMES[regime]}：{rule.describe()}；来源：{rule.source}",
            )


# --- the rule file -----------------------------------------------------------------------------

FILE_KEYS = {"regime", "care_type", "class_type", "price_unit", "amount", "source"}
FILE_OPTIONAL = {"float_up_percent", "float_down_percent", "note"}


def parse_rules(data: bytes) -> list[PriceRule]:
    """Rules from a JSON file (`{"rules": [...]}`, see maps/price_rules.json); every error is
    reported with the rule's number, nothing is half read."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PriceRuleError("invalid_file", "价格规则文件须为 UTF-8 编码的 JSON", None) from None
    items = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise PriceRuleError("invalid_file", "价格规则文件须含 rules 列表", None)
    rules, errors, seen = [], [], {}
    for number, item in enumerate(items, start=1):
        try:
            rule = _parse_rule(item)
        except PriceRuleError as exc:
            errors.append(f"第 {number} 条：{exc.message}")
            continue
        key = (rule.regime, rule.care_type, rule.class_type)
        if key in seen:
            errors.append(
                f"第 {number} 条：与第 {seen[key]} 条重复（同一价格类型、托育类型和班级）"
            )
        seen.setdefault(key, number)
        rules.append(rule)
    if errors:
        more = f"（另有 {len(errors) - 5} 处错误）" if len(errors) > 5 else ""
        raise PriceRuleError("invalid_rules", "；".join(errors[:5]) + more, None)
    return rules


def _parse_rule(item) -> PriceRule:
    if not isinstance(item, dict):
        raise PriceRuleError("invalid_rule", "每条规则须为对象", None)
    missing = sorted(FILE_KEYS - set(item))
    unknown = sorted(set(item) - FILE_KEYS - FILE_OPTIONAL)
    if missing or unknown:
        parts = (["缺少 " + "、".join(missing)] if missing else []) + (
            ["无法识别 " + "、".join(unknown)] if unknown else []
        )
        raise PriceRuleError("invalid_rule", "；".join(parts), None)
    regime = item["regime"]
    if regime not in REGULATED:
        raise PriceRuleError(
            "invalid_rule", "regime 须为 guided（政府指导价）或 capped（普惠限价）"
        )
    if item["care_type"] not in CARE_TYPES:
        raise PriceRuleError("invalid_rule", f"care_type 未知：{item['care_type']!r}")
    if item["class_type"] is not None and item["class_type"] not in CLASS_TYPES:
        raise PriceRuleError("invalid_rule", f"class_type 未知：{item['class_type']!r}")
    if item["price_unit"] not in PRICE_UNITS:
        raise PriceRuleError("invalid_rule", f"price_unit 未知：{item['price_unit']!r}")
    source = item["source"]
    if not isinstance(source, str) or not source.strip() or len(source.strip()) > MAX_SOURCE:
        raise PriceRuleError("invalid_rule", f"source 须填写（不超过 {MAX_SOURCE} 字）")
    amount = decimal_in(item["amount"], "amount", Decimal(0), MAX_AMOUNT)
    up = down = None
    if regime == "guided":
        up = decimal_in(item.get("float_up_percent", 0), "float_up_percent", Decimal(0), 1000)
        if item.get("float_down_percent") is not None:
            down = decimal_in(item["float_down_percent"], "float_down_percent", Decimal(0), 100)
    elif item.get("float_up_percent") is not None or item.get("float_down_percent") is not None:
        raise PriceRuleError("invalid_rule", "限价（capped）没有浮动幅度")
    return PriceRule(
        regime, item["care_type"], item["class_type"], item["price_unit"], amount,
        source.strip(), up, down,
    )  # fmt: skip


def decimal_in(value, name: str, low: Decimal, high) -> Decimal:
    """A JSON number within [low, high], to the cent."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PriceRuleError("invalid_rule", f"{name} 须为数字")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PriceRuleError("invalid_rule", f"{name} 须为数字") from None
    if not number.is_finite() or not low <= number <= Decimal(high):
        raise PriceRuleError("invalid_rule", f"{name} 须在 {low} 到 {high} 之间")
    return number.quantize(CENT)


def ordered(rules) -> list[PriceRule]:
    """Rules by regime, care type and class type (youngest first, "any other class" last)."""
    care, classes = list(CARE_TYPES), [*CLASS_TYPES, None]
    return sorted(
        rules, key=lambda r: (r.regime, care.index(r.care_type), classes.index(r.class_type))
    )


def dump_rules(rules) -> str:
    """The rules as a JSON file `parse_rules` reads back."""
    rows = [r.as_dict() for r in ordered(rules)]
    return json.dumps({"rules": rows}, ensure_ascii=False, indent=2) + "\n"


def fit(rule: PriceRule, share: float, step: int) -> Decimal:
    """A price a share (0–1) of the way across a rule's range, rounded to `step` inside it
    (the demo's prices: drawn, then kept within the district's rules)."""
    low = rule.low if rule.low else rule.high * Decimal("0.75")
    price = low + (rule.high - low) * Decimal(str(min(max(share, 0.0), 1.0)))
    stepped = (price / step).to_integral_value(rounding=ROUND_FLOOR) * step
    if stepped < rule.low:
        stepped = (rule.low / step).to_integral_value(rounding=ROUND_CEILING) * step
    return min(Decimal(stepped), rule.high).quantize(CENT)
