"""Policies as data: the fields of one policy, their checks, and the JSON file that carries them
(`policies/policies.json`, `flask --app app policies import|export`).

Plain rules: no Flask, no database. Every check answers in Chinese; a file is refused whole
with the numbers of its bad entries.

A region is a path of names joined by "/": "全国" (national), "重庆市", "重庆市/荣昌区",
"四川省/达州市/大竹县". A policy of a region concerns every district inside it.

An amount rule (`amount_rule`) is a JSON object with a `kind`:
- `none`: the policy states no amount (its text says where it is published);
- `per_child_month`: `yuan` per child per month (the under-3 care deduction);
- `per_class_year`: `rates` {class type: yuan per child per year} (荣昌 item 11);
- `operating_subsidies`: the district's operating subsidy table (booking's `subsidies`);
- `multiplier`: `factor` times a base the policy names in `of` (荣昌 item 12);
- `days`: `days` of leave.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date

from maps.domain import CLASS_TYPES

CATEGORIES = {
    "subsidy": "补贴",
    "price": "收费价格",
    "tax": "个人所得税",
    "housing_fund": "住房公积金",
    "leave": "假期",
    "other": "其他",
}
AMOUNT_KINDS = {
    "none": "无具体金额（以当地公布为准）",
    "per_child_month": "每孩每月金额",
    "per_class_year": "按班级每生每年金额",
    "operating_subsidies": "本区运营补贴表（按班级每生每年）",
    "multiplier": "倍数",
    "days": "天数",
}
NATIONAL = "全国"
MAX_CODE, MAX_TITLE, MAX_SUMMARY, MAX_BODY = 64, 120, 300, 5000
MAX_REGION, MAX_SOURCE, MAX_OF = 100, 200, 100
MAX_AGE = 36  # the service covers children under three
MAX_CHILDREN = 10
MAX_YUAN = 1_000_000
MAX_FILE_BYTES = 512 * 1024
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# C0 and C1 controls, except the line breaks and tabs a body may hold.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FIELDS = (
    "code", "title", "category", "summary", "body", "region", "min_age_months",
    "max_age_months", "min_children", "inclusive_required", "amount_rule", "source_title",
    "source_date", "effective_from", "effective_to", "hidden",
)  # fmt: skip
REQUIRED = {"code", "title", "category", "summary", "body", "region", "source_title"}


class PolicyError(ValueError):
    """A policy or a file the checks refuse: a code, a Chinese message, the field concerned."""

    status = 400

    def __init__(self, message: str, field: str | None = None, code: str = "invalid_policy"):
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


@dataclass(frozen=True)
class PolicyData:
    """One policy, checked. Ages are months, [min, max) like the class standards."""

    code: str
    title: str
    category: str
    summary: str
    body: str
    region: str
    source_title: str
    min_age_months: int | None = None
    max_age_months: int | None = None
    min_children: int | None = None
    inclusive_required: bool = False
    amount_rule: dict = field(default_factory=lambda: {"kind": "none"})
    source_date: date | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    hidden: bool = False

    def in_force(self, on: date) -> bool:
        """Whether the policy applies on a date (its effective dates, both inclusive)."""
        if self.effective_from and on < self.effective_from:
            return False
        return not (self.effective_to and on > self.effective_to)

    def as_dict(self) -> dict:
        """The policy as the JSON file and the API carry it (dates as ISO strings)."""
        d = asdict(self)
        for key in ("source_date", "effective_from", "effective_to"):
            d[key] = d[key].isoformat() if d[key] else None
        return {k: d[k] for k in FIELDS}


# --- regions -----------------------------------------------------------------------------------


def region_parts(region: str) -> list[str]:
    return [p for p in region.split("/") if p]


def region_label(region: str) -> str:
    """A region as people read it: its last name ("荣昌区"), or 全国."""
    parts = region_parts(region)
    return parts[-1] if parts else NATIONAL


def region_covers(policy_region: str, district: str) -> bool:
    """Whether a policy of `policy_region` concerns a family in `district` (a region path)."""
    if policy_region == NATIONAL:
        return True
    mine, theirs = region_parts(policy_region), region_parts(district)
    return theirs[: len(mine)] == mine


# --- checks ------------------------------------------------------------------------------------


def clean_text(value, name: str, label: str, limit: int, required: bool, multiline=False) -> str:
    """A text field stripped, refused if missing, too long or holding control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PolicyError(f"{label}须为文字", name)
    value = value.strip()
    if multiline:
        value = value.replace("\r\n", "\n")
    if required and not value:
        raise PolicyError(f"请填写{label}", name)
    if len(value) > limit:
        raise PolicyError(f"{label}不能超过 {limit} 字（现为 {len(value)} 字）", name)
    if CONTROL_RE.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise PolicyError(f"{label}含有不可见的控制字符，请删除后再提交", name)
    return value


def _int(value, name: str, label: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{label}须为整数", name)
    if not low <= value <= high:
        raise PolicyError(f"{label}须在 {low} 到 {high} 之间", name)
    return value


def _date(value, name: str, label: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PolicyError(f"{label}须为日期（YYYY-MM-DD）", name)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PolicyError(f"{label}须为日期（YYYY-MM-DD），填写的是 {value[:20]!r}", name) from None


def _yuan(value, name: str, label: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise PolicyError(f"{label}须为数字", "amount_rule")
    if not 0 <= value <= MAX_YUAN:
        raise PolicyError(f"{label}须在 0 到 {MAX_YUAN} 之间", "amount_rule")
    return int(value) if float(value).is_integer() else value


def check_amount_rule(rule) -> dict:
    """An amount rule checked and normalised (see the module docstring)."""
    if isinstance(rule, str):
        try:
            rule = json.loads(rule) if rule.strip() else {"kind": "none"}
        except (json.JSONDecodeError, RecursionError):
            raise PolicyError(
                '金额规则须为 JSON 对象，例如 {"kind": "none"}', "amount_rule"
            ) from None
    if rule is None:
        rule = {"kind": "none"}
    if not isinstance(rule, dict):
        raise PolicyError("金额规则须为 JSON 对象", "amount_rule")
    kind = rule.get("kind")
    if kind not in AMOUNT_KINDS:
        raise PolicyError(
            "金额规则的 kind 须为 " + "、".join(AMOUNT_KINDS) + " 之一", "amount_rule"
        )
    allowed = {
        "none": set(),
        "per_child_month": {"yuan"},
        "per_class_year": {"rates"},
        "operating_subsidies": set(),
        "multiplier": {"factor", "of"},
        "days": {"days"},
    }[kind]
    unknown = sorted(set(rule) - allowed - {"kind"})
    if unknown:
        raise PolicyError(f"金额规则（{kind}）无法识别：{'、'.join(unknown)}", "amount_rule")
    missing = sorted(allowed - set(rule))
    if missing:
        raise PolicyError(f"金额规则（{kind}）缺少：{'、'.join(missing)}", "amount_rule")
    out: dict = {"kind": kind}
    if kind == "per_child_month":
        out["yuan"] = _yuan(rule["yuan"], "yuan", "每孩每月金额 yuan")
    elif kind == "per_class_year":
        rates = rule["rates"]
        if not isinstance(rates, dict) or not rates:
            raise PolicyError("rates 须为 {班级: 元} 对象，且至少一项", "amount_rule")
        bad = sorted(set(rates) - set(CLASS_TYPES))
        if bad:
            raise PolicyError(
                f"rates 的班级须为 {'、'.join(CLASS_TYPES)} 之一：{'、'.join(bad)}", "amount_rule"
            )
        out["rates"] = {
            c: _yuan(rates[c], "rates", f"{CLASS_TYPES[c].label}金额")
            for c in CLASS_TYPES
            if c in rates
        }
    elif kind == "multiplier":
        factor = rule["factor"]
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor <= 100:
            raise PolicyError("倍数 factor 须为 0 到 100 之间的数字", "amount_rule")
        out["factor"] = int(factor) if float(factor).is_integer() else factor
        out["of"] = clean_text(rule["of"], "amount_rule", "倍数的基数 of", MAX_OF, True)
    elif kind == "days":
        out["days"] = _int(rule["days"], "amount_rule", "天数 days", 1, 1000)
        if out["days"] is None:
            raise PolicyError("天数 days 须为整数", "amount_rule")
    return out


def check_region(value) -> str:
    region = clean_text(value, "region", "适用地区", MAX_REGION, True)
    parts = region_parts(region)
    if region != NATIONAL and (not parts or "/".join(parts) != region or NATIONAL in parts):
        raise PolicyError("适用地区须为“全国”或用“/”分隔的地名，例如“重庆市/荣昌区”", "region")
    return region


def check_policy(item) -> PolicyData:
    """One policy from a mapping (a file entry, an API body, a form's data), checked whole."""
    if not isinstance(item, dict):
        raise PolicyError("每条政策须为对象")
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise PolicyError("无法识别的字段：" + "、".join(unknown))
    code = clean_text(item.get("code"), "code", "编号", MAX_CODE, True)
    if not CODE_RE.match(code):
        raise PolicyError("编号只能用小写字母、数字、下划线和连字符", "code")
    category = item.get("category")
    if category not in CATEGORIES:
        raise PolicyError("类别须为 " + "、".join(CATEGORIES) + " 之一", "category")
    low = _int(item.get("min_age_months"), "min_age_months", "最小月龄", 0, MAX_AGE)
    high = _int(item.get("max_age_months"), "max_age_months", "最大月龄", 1, MAX_AGE)
    if low is not None and high is not None and low >= high:
        raise PolicyError("最大月龄须大于最小月龄（月龄范围为[最小, 最大)）", "max_age_months")
    start = _date(item.get("effective_from"), "effective_from", "生效日期")
    end = _date(item.get("effective_to"), "effective_to", "失效日期")
    if start and end and end < start:
        raise PolicyError("失效日期不能早于生效日期", "effective_to")
    for flag in ("inclusive_required", "hidden"):
        if not isinstance(item.get(flag, False), bool):
            raise PolicyError(f"{flag} 须为 true 或 false", flag)
    return PolicyData(
        code=code,
        title=clean_text(item.get("title"), "title", "标题", MAX_TITLE, True),
        category=category,
        summary=clean_text(item.get("summary"), "summary", "摘要", MAX_SUMMARY, True),
        body=clean_text(item.get("body"), "body", "正文", MAX_BODY, True, multiline=True),
        region=check_region(item.get("region")),
        source_title=clean_text(
            item.get("source_title"), "source_title", "来源文件", MAX_SOURCE, True
        ),
        min_age_months=low,
        max_age_months=high,
        min_children=_int(item.get("min_children"), "min_children", "最少子女数", 1, MAX_CHILDREN),
        inclusive_required=item.get("inclusive_required", False),
        amount_rule=check_amount_rule(item.get("amount_rule")),
        source_date=_date(item.get("source_date"), "source_date", "来源日期"),
        effective_from=start,
        effective_to=end,
        hidden=item.get("hidden", False),
    )


# --- the file ----------------------------------------------------------------------------------


def parse_document(data: bytes) -> list[PolicyData]:
    """The policies of a JSON file `{"policies": [...]}`; refused whole, with entry numbers."""
    if len(data) > MAX_FILE_BYTES:
        raise PolicyError(
            f"政策文件过大（不超过 {MAX_FILE_BYTES // 1024} KB）", code="invalid_file"
        )
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PolicyError("政策文件须为 UTF-8 编码的 JSON", code="invalid_file") from None
    items = doc.get("policies") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise PolicyError("政策文件须含 policies 列表", code="invalid_file")
    policies, errors, seen = [], [], {}
    for number, item in enumerate(items, start=1):
        try:
            p = check_policy(item)
        except PolicyError as exc:
            errors.append(f"第 {number} 条：{exc.message}")
            continue
        if p.code in seen:
            errors.append(f"第 {number} 条：编号 {p.code} 与第 {seen[p.code]} 条重复")
        seen.setdefault(p.code, number)
        policies.append(p)
    if errors:
        more = f"（另有 {len(errors) - 5} 处错误）" if len(errors) > 5 else ""
        raise PolicyError("；".join(errors[:5]) + more, code="invalid_file")
    return policies


def dump_document(policies) -> str:
    """Policies as the JSON file `parse_document` reads back, in code order."""
    rows = [p.as_dict() for p in sorted(policies, key=lambda p: p.code)]
    return json.dumps({"policies": rows}, ensure_ascii=False, indent=2) + "\n"
