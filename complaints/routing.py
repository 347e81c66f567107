"""Complaint routing as data (DESIGN §3.6): which department leads, who co-handles, who is told.

Plain functions over the rules in `routing_rules.json` (a district admin edits that data, not
this code) and the text classifier's model (`classifier.py`; the model in force is chosen by
`modelbook.py`). No Flask, no database.

- `load_rules` / `rules_from_dict` read and validate the data.
- `route` decides the category, then applies the baseline table, the urgent flag, the
  nursery-kind adjustments and "street always informed", recording a reason for each step:
  a `Reason` with its kind (which rule decided), the department it concerns and the Chinese text
  stored on the case and shown to handlers.
- `Routing.without_street` is the rule for a site no street answers for.

Every department, category (its lead and co-handlers) and adjustment may name its `source`
(依据: the seed document and item, a national rule, or "本系统默认（种子文件未规定）"); the admin
pages show it. It is optional so versions saved before sources existed still load. An
adjustment may also depend on words in the text (`when.keywords`): playground equipment and toys
are product safety, formaldehyde is indoor air — one category each, a different department.

The category: the complainant's pick is respected unless the text clearly shows a graver
category — the model says so with high probability, or an *urgent keyword* of a graver category
is in the text (record why). Without a pick, the model decides when it is confident; otherwise
the case waits for a person (待分类) at the fallback category's lead department.

Keywords are data for urgent signals and overrides, not the classifier: every keyword has at
least two characters and counts only where it starts and ends on a word boundary (jieba's
segmentation: "被打" is not in "被打扰"), outside the admin's benign phrases ("踢球", "消防演练",
"打骨折"), and not directly after a negation ("没有打孩子", "没骨折"). Plain keywords tell
handlers which words of a category the text contains (and the admin's preview shows them); they
do not decide a category on their own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from accounts.roles import DEPARTMENTS
from maps.domain import NURSERY_KINDS

from .classifier import Model, Prediction, normalise, word_bounds

DEFAULT_RULES_PATH = Path(__file__).with_name("routing_rules.json")

MIN_KEYWORD_CHARS = 2  # one character alone ("掐", "踢", "绑") is in too many harmless words
CLASSIFIER_DEFAULTS = {
    "confident": 0.5,  # no pick: the model's top category is used from this probability up
    "escalate": 0.6,  # a pick yields to a graver category the model gives this probability
    "grave_severity": 50,  # ... if that category is at least this severe
    "keyword_support": 0.1,  # an urgent keyword moves the category if the model gives it this
    "keyword_urgent_share": 0.5,  # a lone urgent keyword needs this share of the urgent bar
}
CONDITIONS = {"kind", "category", "is_public", "inclusive", "keywords"}
MAX_SOURCE_CHARS = 200  # a source (依据) names a document and an item, not its text
STREET = "street"  # the street (镇街) department: informed, or a co-handler (属地)
STREET_SEARCH_M = 5000  # an unregistered site takes the street of the nearest community
# The kinds of step a routing decision records (Reason.kind).
REASON_KINDS = {
    "classified": "按文本归类",
    "fallback": "兜底类别",
    "awaiting": "待分类",
    "escalated": "升级为更严重的类别",
    "escalated_model": "文本分类模型判为更严重的类别",
    "escalated_co": "原牵头部门转为协办",
    "baseline_lead": "基线规则：牵头",
    "baseline_co": "基线规则：协办",
    "urgent_category": "紧急类别",
    "urgent_text": "文本含紧急关键词",
    "urgent_text_discounted": "紧急关键词不计",
    "urgent_model": "文本分类模型判为紧急",
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
    source: str | None = None  # 依据 of the lead and co-handlers (None: a version without one)


@dataclass(frozen=True)
class Adjustment:
    id: str
    when: dict  # kind, category, is_public, inclusive, keywords (any of the words in the text)
    reason: str
    add_co: tuple[str, ...] = ()
    set_lead: str | None = None
    source: str | None = None  # 依据


@dataclass(frozen=True)
class Rules:
    departments: dict[str, str]  # code → name; DEPARTMENTS unless the data names its own
    categories: dict[str, Category]
    adjustments: tuple[Adjustment, ...]
    always_informed: tuple[str, ...]
    fallback_category: str
    negations: tuple[str, ...]
    benign_phrases: tuple[str, ...] = ()
    # the model's thresholds (CLASSIFIER_DEFAULTS): confident, escalate, grave_severity
    classifier: dict = field(default_factory=lambda: dict(CLASSIFIER_DEFAULTS))
    department_sources: dict[str, str] = field(default_factory=dict)  # code → 依据, where named


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
    awaiting_category: bool = False  # 待分类: no pick and the model unsure; a handler decides

    @property
    def texts(self) -> list[str]:
        """The reasons' texts, in order: what the case stores and handlers read."""
        return [r.text for r in self.reasons]

    def without_street(self, departments: dict[str, str]) -> Routing:
        """The routing of a site no street answers for (unregistered street, or no known
        community within STREET_SEARCH_M): no street informed or co-handling, and a reason
        saying so instead of "镇街知会"."""
        if STREET not in self.informed and STREET not in self.co_handlers:
            return self
        street = departments.get(STREET, STREET)
        role = "协办" if STREET in self.co_handlers else "知会"
        # the category's or an adjustment's reason still names the street's duty; this one
        # says why no street handler has the case
        reasons = [r for r in self.reasons if not (r.kind == "informed" and r.department == STREET)]
        reasons.append(
            Reason(
                "no_street",
                f"场所所属{street}未知（机构未登记镇街，或 {STREET_SEARCH_M // 1000} 公里内"
                f"无已知社区）→ 暂无属地{street}{role}",
                STREET,
            )
        )
        informed = tuple(d for d in self.informed if d != STREET)
        co = tuple(d for d in self.co_handlers if d != STREET)
        return replace(self, informed=informed, co_handlers=co, reasons=tuple(reasons))


def _dept(code: str, names: dict[str, str]) -> str:
    return f"{names.get(code, code)}（{code}）"


# --- loading and validation -------------------------------------------------------------------


def _words(raw, where: str, strict: bool = True, min_chars: int = MIN_KEYWORD_CHARS):
    """A validated word list. `strict` refuses a word shorter than `min_chars`; a version saved
    before that rule is read leniently (such words are dropped, not matched)."""
    if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
        raise ValueError(f"{where}: must be a list of non-empty strings")
    words = tuple(dict.fromkeys(normalise(w) for w in raw))
    short = [w for w in words if len(w) < min_chars]
    if short and strict:
        raise ValueError(
            f"{where}: 关键词至少 {min_chars} 个字（单字会匹配大量无害的话）："
            + "、".join(f"“{w}”" for w in short)
        )
    return tuple(w for w in words if len(w) >= min_chars)


def _classifier_settings(raw) -> dict:
    settings = dict(CLASSIFIER_DEFAULTS)
    if raw is None:
        return settings
    if not isinstance(raw, dict) or set(raw) - set(CLASSIFIER_DEFAULTS):
        raise ValueError(f"classifier: only {', '.join(CLASSIFIER_DEFAULTS)} may be set")
    for key in ("confident", "escalate", "keyword_support", "keyword_urgent_share"):
        value = raw.get(key, settings[key])
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise ValueError(f"classifier {key}: 须为 0 到 1 之间的概率")
        settings[key] = float(value)
    grave = raw.get("grave_severity", settings["grave_severity"])
    if isinstance(grave, bool) or not isinstance(grave, int):
        raise ValueError("classifier grave_severity: 须为整数")
    settings["grave_severity"] = grave
    return settings


DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def _source(raw, where: str) -> str | None:
    """A validated source (依据): absent is allowed (versions saved before sources), else a
    non-empty string of at most MAX_SOURCE_CHARS characters."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > MAX_SOURCE_CHARS:
        raise ValueError(
            f"{where}：依据（source）须为 1–{MAX_SOURCE_CHARS} 字的文字，"
            "如“荣昌 行动计划 第9项”或“本系统默认（种子文件未规定）”"
        )
    return raw.strip()


def _departments(raw) -> tuple[dict[str, str], dict[str, str]]:
    """(code → name, code → source). A department is its name, or {"name", "source"}."""
    if raw is None:
        return dict(DEPARTMENTS), {}
    if not isinstance(raw, dict) or not raw:
        raise ValueError("routing rules: 'departments' must be a non-empty object code → name")
    names, sources = {}, {}
    for code, entry in raw.items():
        if not DEPARTMENT_CODE.match(code):
            raise ValueError(f"department {code!r}: code must be 2–32 of a-z, 0-9, _")
        if isinstance(entry, dict):
            if set(entry) - {"name", "source"}:
                raise ValueError(f"department {code!r}: only 'name' and 'source' may be set")
            name = entry.get("name")
            source = _source(entry.get("source"), f"部门 {code}")
            if source:
                sources[code] = source
        else:
            name = entry
        if not isinstance(name, str) or not name.strip() or len(name) > 32:
            raise ValueError(f"department {code!r}: name must be 1–32 characters")
        names[code] = name.strip()
    for code in (STREET,):
        if code not in raw:
            raise ValueError(f"routing rules: department {code!r} cannot be removed")
    return names, sources


def _check_dept(code, where: str, known: dict[str, str]) -> str:
    if not isinstance(code, str) or code not in known:
        raise ValueError(f"{where}: unknown department code {code!r} (known: {', '.join(known)})")
    return code


def rules_from_dict(data: dict, strict: bool = True) -> Rules:
    """Validate parsed rules data; raises ValueError naming the offending entry. `strict`
    (every new save) refuses one-character keywords; stored versions are read leniently."""
    if not isinstance(data, dict):
        raise ValueError("routing rules: top level must be an object")
    known, department_sources = _departments(data.get("departments"))
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
            keywords=_words(raw.get("keywords", []), f"{where} keywords", strict),
            urgent_keywords=_words(
                raw.get("urgent_keywords", []), f"{where} urgent_keywords", strict
            ),
            source=_source(raw.get("source"), f"类别 {code}"),
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
        if "keywords" in when:
            # matched like plain keywords: word boundaries, outside benign phrases
            words = _words(when["keywords"], f"{where} keywords", strict)
            if not words:
                raise ValueError(f"{where}: 'keywords' must name at least one word")
            when = {**when, "keywords": words}
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
                source=_source(raw.get("source"), f"调整规则 {raw.get('id') or '#' + str(i)}"),
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
        # a negation is matched only directly before a keyword, so one character is enough
        negations=_words(data.get("negations", []), "negations", min_chars=1),
        benign_phrases=_words(data.get("benign_phrases", []), "benign_phrases", strict),
        classifier=_classifier_settings(data.get("classifier")),
        department_sources=department_sources,
    )


def load_rules(path: str | Path | None = None) -> Rules:
    path = Path(path) if path else DEFAULT_RULES_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"routing rules {path.name}: not valid JSON ({exc})") from exc
    return rules_from_dict(data)


# --- keywords -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A complaint's text prepared for keyword matching: normalised, its word boundaries, and
    the spans the admin's benign phrases cover."""

    norm: str
    bounds: frozenset[int]
    benign: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, text: str, rules: Rules) -> Text:
        norm = normalise(text)
        benign = []
        for phrase in rules.benign_phrases:
            start = norm.find(phrase)
            while start != -1:
                benign.append((start, start + len(phrase)))
                start = norm.find(phrase, start + 1)
        return cls(norm, frozenset(word_bounds(norm)) if norm else frozenset({0}), tuple(benign))

    def occurrences(self, word: str):
        """The starts of `word` on word boundaries and outside benign phrases."""
        start = self.norm.find(word)
        while start != -1:
            end = start + len(word)
            if (
                start in self.bounds
                and end in self.bounds
                and not any(s <= start and end <= e for s, e in self.benign)
            ):
                yield start
            start = self.norm.find(word, start + 1)


def _negated(text: str, start: int, negations: tuple[str, ...]) -> bool:
    return any(text.endswith(n, 0, start) for n in negations)


def _hits(text: Text, words: tuple[str, ...], negations: tuple[str, ...]) -> list[str]:
    """The words found in text (non-negated occurrences), longest first, without words that
    only occur inside a longer found word ("中毒" inside "食物中毒")."""
    spans: list[tuple[int, int, str]] = []
    for word in sorted(words, key=len, reverse=True):
        for start in text.occurrences(word):
            end = start + len(word)
            inside = any(s <= start and end <= e for s, e, _ in spans)
            if not inside:
                # a negated word still covers its span: "不是食物中毒" must not yield "中毒"
                spans.append((start, end, "" if _negated(text.norm, start, negations) else word))
    return list(dict.fromkeys(w for _, _, w in spans if w))


def keyword_matches(text: str | Text, rules: Rules) -> dict[str, list[str]]:
    """Per category, the plain and urgent keywords the text contains (evidence shown to
    handlers and in the admin's preview; urgent keywords are not negated)."""
    prepared = text if isinstance(text, Text) else Text.of(text, rules)
    found = {}
    for cat in rules.categories.values():
        words = _hits(prepared, cat.urgent_keywords, rules.negations) + _hits(
            prepared, cat.keywords, ()
        )
        if words:
            found[cat.code] = list(dict.fromkeys(words))
    return found


def urgent_signals(text: str | Text, rules: Rules) -> dict[str, list[str]]:
    """Categories whose urgent keywords the text contains (not negated), with the words."""
    prepared = text if isinstance(text, Text) else Text.of(text, rules)
    found = {}
    for cat in rules.categories.values():
        words = _hits(prepared, cat.urgent_keywords, rules.negations)
        if words:
            found[cat.code] = words
    return found


def model_opinion(model: Model | None, text: str, rules: Rules) -> Prediction | None:
    """The model's prediction over the rules' categories (a category the model was not trained
    on gets no probability; one it knows but the rules dropped is left out), or None without a
    model or text."""
    if model is None or not normalise(text):
        return None
    p = model.predict(text)
    known = {c: v for c, v in p.probabilities.items() if c in rules.categories}
    total = sum(known.values())
    if not known or total <= 0:
        return None
    return Prediction(
        probabilities={c: v / total for c, v in known.items()},
        urgent_probability=p.urgent_probability,
        urgent=p.urgent,
    )


# --- routing ----------------------------------------------------------------------------------


def _quote(words) -> str:
    return "、".join(f"“{w}”" for w in words)


def _applies(
    adj: Adjustment, category: str, kind, is_public: bool, inclusive: bool, words: list[str]
) -> bool:
    """Whether the adjustment's conditions hold; `words` are its keywords found in the text."""
    when = adj.when
    if "keywords" in when and not words:
        return False
    if "kind" in when and kind not in when["kind"]:
        return False
    if "category" in when and category not in when["category"]:
        return False
    if "is_public" in when and bool(is_public) != bool(when["is_public"]):
        return False
    if "inclusive" in when and bool(inclusive) != bool(when["inclusive"]):
        return False
    return True


def adjusted_lead(
    category: str, kind: str | None, is_public: bool, inclusive: bool, text: str, rules: Rules
) -> str:
    """The lead a complaint of this (known) category gets: the baseline's, then the
    adjustments' `set_lead` (e.g. toys in a building-safety complaint → market) — what the
    evaluation counts as the right lead for a labelled complaint."""
    prepared = Text.of(text, rules)
    lead = rules.categories[category].lead
    for adj in rules.adjustments:
        words = _hits(prepared, adj.when.get("keywords", ()), ())
        if adj.set_lead and _applies(adj, category, kind, is_public, inclusive, words):
            lead = adj.set_lead
    return lead


def route(
    category: str | None,
    nursery_kind: str | None,
    nursery_is_public: bool,
    nursery_inclusive: bool,
    text: str,
    rules: Rules,
    model: Model | None = None,
) -> Routing:
    """Route one complaint. `category` is what the complainant picked (None or the fallback
    "other": no pick); `nursery_kind` is None for a site not in the registry; `model` is the
    text classifier in force (None: the text is read for urgent keywords only)."""
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
    prepared = Text.of(text, rules)
    signals = urgent_signals(prepared, rules)
    opinion = model_opinion(model, text, rules)
    settings = rules.classifier
    extra_co: list[str] = []
    awaiting = False

    def pct(p: float) -> str:
        return f"{p:.0%}"

    used = chosen
    if category == rules.fallback_category:
        best = opinion.category if opinion else None
        # sending a case to the police or the fire brigade takes the surer bar of an escalation
        bar = settings["confident"]
        if best and cats[best].severity >= settings["grave_severity"]:
            bar = max(bar, settings["escalate"])
        if opinion and opinion.confidence >= bar:
            used = cats[best]
            reasons.append(
                Reason(
                    "classified",
                    f"未选具体类别 → 文本分类模型归为 {used.label}（{used.code}），"
                    f"概率 {pct(opinion.confidence)}",
                )
            )
        else:
            awaiting = True
            guess = (
                f"最可能为 {cats[best].label}，概率 {pct(opinion.confidence)}，低于 {pct(bar)}"
                if opinion
                else "无可分类的文本或未启用模型"
            )
            reasons.append(
                Reason(
                    "awaiting",
                    f"未选具体类别，文本分类不确定（{guess}）→ 待分类，"
                    f"由{dept(chosen.lead)}分诊后更正类别",
                    chosen.lead,
                )
            )
    elif opinion and opinion.category != chosen.code:
        # The pick stands unless the model is sure the text describes a graver harm.
        best = cats[opinion.category]
        if (
            best.severity >= settings["grave_severity"]
            and best.severity > chosen.severity
            and opinion.confidence >= settings["escalate"]
        ):
            used = best
            words = f"，文本含{_quote(signals[best.code])}" if best.code in signals else ""
            reasons.append(
                Reason(
                    "escalated_model",
                    f"所选类别 {chosen.label}（{chosen.code}）→ 文本分类模型以 "
                    f"{pct(opinion.confidence)} 的概率判为更严重的 {used.label}（{used.code}）"
                    f"{words}，升级",
                )
            )
            extra_co.append(chosen.lead)
            reasons.append(
                Reason(
                    "escalated_co",
                    f"原选类别 {chosen.label} 的牵头部门 {dept(chosen.lead)}转为协办（升级规则）",
                    chosen.lead,
                )
            )
    # An urgent keyword of a graver category overrides (admin data, always explainable), unless
    # it is a lone word the model all but rules out ("钱包被虐待", "急得冒烟": the words, not
    # the harm); two of the category's urgent words ("打了孩子" and "巴掌") always count. The
    # keyword still marks the case urgent below.
    graver = [
        c
        for c in signals
        if cats[c].severity > used.severity
        and (
            opinion is None
            or len(signals[c]) >= 2
            or opinion.probabilities.get(c, 0.0) >= settings["keyword_support"]
        )
    ]
    if graver:
        top = max(graver, key=lambda c: cats[c].severity)
        previous = used
        used = cats[top]
        awaiting = False
        reasons.append(
            Reason(
                "escalated",
                f"文本含{_quote(signals[top])} → 由 {previous.label}（{previous.code}）"
                f"升级为 {used.label}（{used.code}）（紧急，升级规则）",
            )
        )
        if previous.code != rules.fallback_category and previous.lead not in extra_co:
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

    model_urgent = bool(opinion and opinion.urgent)
    # A lone urgent word lowers the model's urgent bar (to keyword_urgent_share of it) rather
    # than to nothing: "急诊" in "我自己进了急诊" is the parent's night, not the child's danger.
    bar = model.urgent_threshold * settings["keyword_urgent_share"] if opinion else 0.0
    counted = {
        code: words
        for code, words in signals.items()
        if opinion is None or len(words) >= 2 or opinion.urgent_probability >= bar
    }
    urgent = used.urgent or bool(counted) or model_urgent
    if used.urgent:
        reasons.append(
            Reason("urgent_category", f"类别 {used.label}（{used.code}）为紧急类别 → 标记紧急")
        )
    for code, words in signals.items():
        if used.urgent and code == used.code:
            continue
        if code in counted:
            reasons.append(
                Reason("urgent_text", f"文本含{_quote(words)}（{cats[code].label}）→ 标记紧急")
            )
        else:
            reasons.append(
                Reason(
                    "urgent_text_discounted",
                    f"文本含{_quote(words)}（{cats[code].label}），但文本分类模型判断不涉及"
                    f"孩子安全（{pct(opinion.urgent_probability)}，低于 {pct(bar)}）"
                    f"→ 不因此标记紧急",
                )
            )
    if model_urgent and not used.urgent and not counted:
        reasons.append(
            Reason(
                "urgent_model",
                f"文本分类模型判断可能危及孩子安全（概率 {pct(opinion.urgent_probability)}）"
                f"→ 标记紧急，请尽快核实",
            )
        )

    if nursery_kind is None:
        reasons.append(
            Reason("unregistered_site", "场所未登记 → 按所在位置由属地镇街及相关部门处理")
        )
    for adj in rules.adjustments:
        # like plain keywords, not negated: "没有补贴" is the complaint itself
        words = _hits(prepared, adj.when.get("keywords", ()), ())
        if not _applies(adj, used.code, nursery_kind, nursery_is_public, nursery_inclusive, words):
            continue
        if adj.set_lead and adj.set_lead != lead:
            lead = adj.set_lead
        co.extend(adj.add_co)
        found = f"文本含{_quote(words)}：" if words else ""
        reasons.append(Reason("adjustment", f"{found}{adj.reason}（规则 {adj.id}）", rule=adj.id))

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
        awaiting_category=awaiting,
    )
