"""Complaint routing as data (DESIGN §3.6): which department leads, who co-handles, who is told.

Plain functions over the rules in `routing_rules.json` (a district admin edits that data, not
this code). No Flask, no database.

- `load_rules` reads and validates the data.
- `classify` scores the Chinese text against each category's keywords.
- `route` applies the baseline table, escalation to a more serious category, the urgent flag,
  the nursery-kind adjustments and "street always informed", recording a reason for each step:
  a `Reason` with its kind (which rule decided), the department it concerns and the Chinese text
  stored on the case and shown to handlers.
- `Routing.without_street` is the rule for a site no street answers for.

Keyword matching is deliberately simple: NFKC-normalised substring search. Negation is "light":
a negation word directly before an *urgent* keyword ("没有打孩子", "没骨折") cancels that match;
other keywords are not negated, because "没消毒", "没有监控" are themselves the complaint.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from accounts.roles import DEPARTMENTS
from maps.domain import NURSERY_KINDS

DEFAULT_RULES_PATH = Path(__file__).with_name("routing_rules.json")

URGENT_WEIGHT = 2  # an urgent keyword is a strong indicator of its category
KEYWORD_WEIGHT = 1
CONDITIONS = {"kind", "category", "is_public", "inclusive"}
STREET = "street"  # the street (镇街) department: always informed (属地)
STREET_SEARCH_M = 5000  # an unregistered site takes the street of the nearest community
# The kinds of step a routing decision records (Reason.kind).
REASON_KINDS = {
    "classified": "按文本归类",
    "fallback": "兜底类别",
    "escalated": "升级为更严重的类别",
    "escalated_co": "原牵头部门转为协办",
    "baseline_lead": "基线规则：牵头",
    "baseline_co": "基线规则：协办",
    "urgent_category": "紧急类别",
    "urgent_text": "文本含紧急关键词",
    "unregistered_site": "场所未登记",
    "adjustment": "调整规则",
    "informed": "始终知会",
    "no_street": "属地镇街未知",
}


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    description: str
    lead: str
    co: tuple[str, ...]
    urgent: bool
    severity: int
    keywords: tuple[str, ...]
    urgent_keywords: tuple[str, ...]


@dataclass(frozen=True)
class Adjustment:
    id: str
    when: dict
    reason: str
    add_co: tuple[str, ...] = ()
    set_lead: str | None = None


@dataclass(frozen=True)
class Rules:
    departments: dict[str, str]  # code → name; DEPARTMENTS unless the data names its own
    categories: dict[str, Category]
    adjustments: tuple[Adjustment, ...]
    always_informed: tuple[str, ...]
    fallback_category: str
    negations: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    category: str
    score: float
    matched_words: tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """One step of a routing decision: which kind of rule (REASON_KINDS), the department it
    concerns (if one), the adjustment's id (kind "adjustment"), and the Chinese text."""

    kind: str
    text: str
    department: str | None = None
    rule: str | None = None

    def __post_init__(self):
        if self.kind not in REASON_KINDS:
            raise ValueError(f"unknown routing reason kind {self.kind!r}")


@dataclass(frozen=True)
class Routing:
    lead: str
    co_handlers: tuple[str, ...]
    informed: tuple[str, ...]
    urgent: bool
    category_used: str
    reasons: tuple[Reason, ...] = ()

    @property
    def texts(self) -> list[str]:
        """The reasons' texts, in order: what the case stores and handlers read."""
        return [r.text for r in self.reasons]

    def without_street(self, departments: dict[str, str]) -> Routing:
        """The routing of a site no street answers for (unregistered street, or no known
        community within STREET_SEARCH_M): no one informed as the street, and a reason saying
        so instead of "镇街知会"."""
        if STREET not in self.informed:
            return self
        street = departments.get(STREET, STREET)
        reasons = [r for r in self.reasons if not (r.kind == "informed" and r.department == STREET)]
        reasons.append(
            Reason(
                "no_street",
                f"场所所属{street}未知（机构未登记镇街，或 {STREET_SEARCH_M // 1000} 公里内"
                f"无已知社区）→ 暂无属地{street}知会",
                STREET,
            )
        )
        informed = tuple(d for d in self.informed if d != STREET)
        return replace(self, informed=informed, reasons=tuple(reasons))


def normalise(text: str | None) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, no whitespace."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(text.split())


def _dept(code: str, names: dict[str, str]) -> str:
    return f"{names.get(code, code)}（{code}）"


# --- loading and validation -------------------------------------------------------------------


def _words(raw, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
        raise ValueError(f"{where}: must be a list of non-empty strings")
    return tuple(dict.fromkeys(normalise(w) for w in raw))


DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def _departments(raw) -> dict[str, str]:
    if raw is None:
        return dict(DEPARTMENTS)
    if not isinstance(raw, dict) or not raw:
        raise ValueError("routing rules: 'departments' must be a non-empty object code → name")
    for code, name in raw.items():
        if not DEPARTMENT_CODE.match(code):
            raise ValueError(f"department {code!r}: code must be 2–32 of a-z, 0-9, _")
        if not isinstance(name, str) or not name.strip() or len(name) > 32:
            raise ValueError(f"department {code!r}: name must be 1–32 characters")
    for code in (STREET,):
        if code not in raw:
            raise ValueError(f"routing rules: department {code!r} cannot be removed")
    return {code: name.strip() for code, name in raw.items()}


def _check_dept(code, where: str, known: dict[str, str]) -> str:
    if not isinstance(code, str) or code not in known:
        raise ValueError(f"{where}: unknown department code {code!r} (known: {', '.join(known)})")
    return code


def rules_from_dict(data: dict) -> Rules:
    """Validate parsed rules data; raises ValueError naming the offending entry."""
    if not isinstance(data, dict):
        raise ValueError("routing rules: top level must be an object")
    known = _departments(data.get("departments"))
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise ValueError("routing rules: 'categories' must be a non-empty list")
    categories: dict[str, Category] = {}
    for i, raw in enumerate(raw_categories):
        code = raw.get("code") if isinstance(raw, dict) else None
        where = f"category {code or '#' + str(i)}"
        if not code or not isinstance(code, str):
            raise ValueError(f"{where}: missing 'code'")
        if code in categories:
            raise ValueError(f"{where}: duplicate category code")
        if not raw.get("lead"):
            raise ValueError(f"{where}: has no lead department")
        lead = _check_dept(raw["lead"], f"{where} lead", known)
        co = tuple(_check_dept(c, f"{where} co-handler", known) for c in raw.get("co", []))
        if lead in co:
            raise ValueError(f"{where}: lead department {lead!r} is also a co-handler")
        for key in ("label", "description"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise ValueError(f"{where}: missing {key!r}")
        severity = raw.get("severity", 0)
        if not isinstance(severity, int) or isinstance(severity, bool):
            raise ValueError(f"{where}: 'severity' must be an integer")
        categories[code] = Category(
            code=code,
            label=raw["label"],
            description=raw["description"],
            lead=lead,
            co=co,
            urgent=bool(raw.get("urgent", False)),
            severity=severity,
            keywords=_words(raw.get("keywords", []), f"{where} keywords"),
            urgent_keywords=_words(raw.get("urgent_keywords", []), f"{where} urgent_keywords"),
        )
    fallback = data.get("fallback_category", "other")
    if fallback not in categories:
        raise ValueError(f"routing rules: fallback category {fallback!r} is not defined")

    adjustments = []
    for i, raw in enumerate(data.get("adjustments", [])):
        where = f"adjustment {raw.get('id') or '#' + str(i)}"
        when = raw.get("when")
        if not isinstance(when, dict) or not when or set(when) - CONDITIONS:
            raise ValueError(f"{where}: 'when' must use only {sorted(CONDITIONS)}")
        for kind in when.get("kind", []):
            if kind not in NURSERY_KINDS:
                raise ValueError(f"{where}: unknown nursery kind {kind!r}")
        for cat in when.get("category", []):
            if cat not in categories:
                raise ValueError(f"{where}: unknown category {cat!r}")
        add_co = tuple(_check_dept(c, f"{where} add_co", known) for c in raw.get("add_co", []))
        set_lead = raw.get("set_lead")
        if set_lead is not None:
            _check_dept(set_lead, f"{where} set_lead", known)
        if not add_co and set_lead is None:
            raise ValueError(f"{where}: needs 'add_co' or 'set_lead'")
        if not raw.get("reason"):
            raise ValueError(f"{where}: missing 'reason'")
        adjustments.append(
            Adjustment(
                id=raw.get("id", f"#{i}"),
                when=when,
                reason=raw["reason"],
                add_co=add_co,
                set_lead=set_lead,
            )
        )
    informed = tuple(
        _check_dept(c, "always_informed", known) for c in data.get("always_informed", ["street"])
    )
    return Rules(
        departments=known,
        categories=categories,
        adjustments=tuple(adjustments),
        always_informed=informed,
        fallback_category=fallback,
        negations=_words(data.get("negations", []), "negations"),
    )


def load_rules(path: str | Path | None = None) -> Rules:
    path = Path(path) if path else DEFAULT_RULES_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"routing rules {path.name}: not valid JSON ({exc})") from exc
    return rules_from_dict(data)


# --- classification ---------------------------------------------------------------------------


def _negated(text: str, start: int, negations: tuple[str, ...]) -> bool:
    return any(text.endswith(n, 0, start) for n in negations)


def _hits(text: str, words: tuple[str, ...], negations: tuple[str, ...]) -> list[str]:
    """The words found in text (non-negated occurrences), longest first, without words that
    only occur inside a longer found word ("中毒" inside "食物中毒")."""
    spans: list[tuple[int, int, str]] = []
    for word in sorted(words, key=len, reverse=True):
        start = text.find(word)
        while start != -1:
            end = start + len(word)
            inside = any(s <= start and end <= e for s, e, _ in spans)
            if not inside:
                # a negated word still covers its span: "不是食物中毒" must not yield "中毒"
                spans.append((start, end, "" if _negated(text, start, negations) else word))
            start = text.find(word, start + 1)
    return list(dict.fromkeys(w for _, _, w in spans if w))


def _category_hits(text: str, cat: Category, rules: Rules) -> tuple[float, list[str], list[str]]:
    """(score, matched words, urgent words) for one category over normalised text."""
    urgent = _hits(text, cat.urgent_keywords, rules.negations)
    plain = [
        w
        for w in _hits(text, cat.keywords, ())
        if w not in cat.urgent_keywords and not any(w in u for u in urgent)
    ]
    score = URGENT_WEIGHT * len(urgent) + KEYWORD_WEIGHT * len(plain)
    return float(score), urgent + plain, urgent


def classify(text: str, rules: Rules) -> Suggestion:
    """The best-scoring category; ties go to the more severe category (abuse > injury >
    food_safety > fire_safety > …, the `severity` in the data). No match → fallback "other"."""
    norm = normalise(text)
    best: tuple[float, int, str, list[str]] | None = None
    for cat in rules.categories.values():
        score, words, _ = _category_hits(norm, cat, rules)
        if score <= 0:
            continue
        key = (score, cat.severity, cat.code, words)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return Suggestion(rules.fallback_category, 0.0, ())
    return Suggestion(best[2], best[0], tuple(best[3]))


def urgent_signals(text: str, rules: Rules) -> dict[str, list[str]]:
    """Categories whose urgent keywords the text contains (not negated), with the words."""
    norm = normalise(text)
    found = {}
    for cat in rules.categories.values():
        words = _hits(norm, cat.urgent_keywords, rules.negations)
        if words:
            found[cat.code] = words
    return found


# --- routing ----------------------------------------------------------------------------------


def _quote(words) -> str:
    return "、".join(f"“{w}”" for w in words)


def _applies(adj: Adjustment, category: str, kind, is_public: bool, inclusive: bool) -> bool:
    when = adj.when
    if "kind" in when and kind not in when["kind"]:
        return False
    if "category" in when and category not in when["category"]:
        return False
    if "is_public" in when and bool(is_public) != bool(when["is_public"]):
        return False
    if "inclusive" in when and bool(inclusive) != bool(when["inclusive"]):
        return False
    return True


def route(
    category: str | None,
    nursery_kind: str | None,
    nursery_is_public: bool,
    nursery_inclusive: bool,
    text: str,
    rules: Rules,
) -> Routing:
    """Route one complaint. `category` is what the complainant picked (None → "other");
    `nursery_kind` is None for a site not in the registry."""
    category = category or rules.fallback_category
    if category not in rules.categories:
        raise ValueError(f"unknown complaint category {category!r}")
    if nursery_kind is not None and nursery_kind not in NURSERY_KINDS:
        raise ValueError(f"unknown nursery kind {nursery_kind!r}")
    cats = rules.categories

    def dept(code: str) -> str:
        return _dept(code, rules.departments)

    chosen = cats[category]
    reasons: list[Reason] = []
    signals = urgent_signals(text, rules)
    extra_co: list[str] = []

    used = chosen
    if category == rules.fallback_category:
        suggestion = classify(text, rules)
        if suggestion.category != rules.fallback_category:
            used = cats[suggestion.category]
            reasons.append(
                Reason(
                    "classified",
                    f"类别 {chosen.label}（{chosen.code}）→ 按文本归为 {used.label}"
                    f"（{used.code}），匹配 {_quote(suggestion.matched_words)}（文本分类规则）",
                )
            )
        else:
            reasons.append(
                Reason(
                    "fallback",
                    f"类别 {chosen.label}（{chosen.code}）：文本未匹配任何类别，按兜底规则",
                )
            )
    # Escalate when the text clearly describes a more serious (urgent) category.
    graver = [c for c in signals if cats[c].severity > used.severity]
    if graver:
        top = max(graver, key=lambda c: cats[c].severity)
        previous = used
        used = cats[top]
        reasons.append(
            Reason(
                "escalated",
                f"文本含{_quote(signals[top])} → 由 {previous.label}（{previous.code}）"
                f"升级为 {used.label}（{used.code}）（紧急，升级规则）",
            )
        )
        if previous.code != rules.fallback_category:
            extra_co.append(previous.lead)
            reasons.append(
                Reason(
                    "escalated_co",
                    f"原选类别 {previous.label} 的牵头部门 "
                    f"{dept(previous.lead)}转为协办（升级规则）",
                    previous.lead,
                )
            )

    lead = used.lead
    co = list(used.co) + extra_co
    reasons.append(
        Reason(
            "baseline_lead", f"类别 {used.label}（{used.code}）→ {dept(lead)}牵头（基线规则）", lead
        )
    )
    if used.co:
        co_names = "、".join(dept(c) for c in used.co)
        reasons.append(Reason("baseline_co", f"类别 {used.label} → {co_names}协办（基线规则）"))

    urgent = used.urgent or bool(signals)
    if used.urgent:
        reasons.append(
            Reason("urgent_category", f"类别 {used.label}（{used.code}）为紧急类别 → 标记紧急")
        )
    for code, words in signals.items():
        if not (used.urgent and code == used.code):
            reasons.append(
                Reason("urgent_text", f"文本含{_quote(words)}（{cats[code].label}）→ 标记紧急")
            )

    if nursery_kind is None:
        reasons.append(
            Reason("unregistered_site", "场所未登记 → 按所在位置由属地镇街及相关部门处理")
        )
    for adj in rules.adjustments:
        if not _applies(adj, used.code, nursery_kind, nursery_is_public, nursery_inclusive):
            continue
        if adj.set_lead and adj.set_lead != lead:
            lead = adj.set_lead
        co.extend(adj.add_co)
        reasons.append(Reason("adjustment", f"{adj.reason}（规则 {adj.id}）", rule=adj.id))

    co_handlers = tuple(c for c in dict.fromkeys(co) if c != lead)
    informed = tuple(c for c in rules.always_informed if c != lead and c not in co_handlers)
    for c in informed:
        reasons.append(Reason("informed", f"{dept(c)}知会（属地责任，始终知会）", c))
    return Routing(
        lead=lead,
        co_handlers=co_handlers,
        informed=informed,
        urgent=urgent,
        category_used=used.code,
        reasons=tuple(reasons),
    )
