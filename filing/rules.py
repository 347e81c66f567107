"""What a filing application (托育机构备案) must contain, checked without Flask or the database.

Plain rules: the registration number (统一社会信用代码, GB 32100-2015, with its check digit and
the registering authority its first character names), the classes against the national limits
(DESIGN §3.2 via `maps.standards`), the staff list, which documents are required, the files'
types by their first bytes, the review deadline in working days and the filing number.

The registering authority follows the seeds: a non-profit nursery registers with the 编办
(public institutions) or the 民政局 (social service organisations), a for-profit one with the
市场监管局 (北碚 item 8; 大竹 二(三)1; 荣昌 item 14). In a USCC the first character says which:
1 机构编制, 5 民政, 9 市场监管（工商）.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from maps.domain import CLASS_TYPES, NURSERY_KINDS
from maps.standards import ClassSpec, check_nursery

KINDS = ("new", "change", "closure")
KIND_LABELS = {"new": "新机构备案", "change": "备案变更", "closure": "注销备案"}
STATUSES = ("submitted", "returned", "approved", "refused")
STATUS_LABELS = {
    "submitted": "待审核",
    "returned": "退回补正",
    "approved": "已通过",
    "refused": "不予备案",
}
OPEN = ("submitted", "returned")  # an application still under way

# The sections of the form; the admin returns an application with a reason per section.
SECTIONS = {
    "institution": "机构信息",
    "site": "场地",
    "classes": "班级与托位",
    "staff": "人员名单",
    "documents": "材料附件",
}

# How a nursery is registered (登记), and the first USCC character of that authority.
REGISTRATIONS = {
    "market": "营利性（市场监管部门登记）",
    "public_institution": "非营利性（编办登记的事业单位）",
    "civil_affairs": "非营利性（民政部门登记的社会服务机构）",
}
USCC_AUTHORITY = {"market": "9", "public_institution": "1", "civil_affairs": "5"}

STAFF_ROLES = {"caregiver": "保育师", "infant_carer": "育婴员", "health_worker": "保健员"}
CARER_ROLES = ("caregiver", "infant_carer")  # who may be counted as a class's carers

DOCUMENTS = {
    "fire_safety": "消防验收或备案文件",
    "food_licence": "食品经营许可证",
    "health_evaluation": "托育机构卫生评价报告",
    "photo": "场所照片",
    "registration": "营业执照或登记证书",
}
MAX_CLASSES = 30
MAX_STAFF = 200
MAX_AREA_M2 = 100_000


# --- 统一社会信用代码 ----------------------------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC (GB 32100-2015: weights 3^i mod 31, modulus 31)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc_problem(code: str, registration: str) -> str | None:
    """Why a registration number cannot be right (Chinese), or None."""
    if len(code) != 18:
        return f"统一社会信用代码须为 18 位（现为 {len(code)} 位）"
    if not _USCC_RE.match(code):
        return "统一社会信用代码只含数字和大写字母（不含 I、O、S、V、Z），第 3–8 位为行政区划代码"
    if uscc_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确，请核对营业执照或登记证书"
    expected = USCC_AUTHORITY.get(registration)
    if expected and code[0] != expected:
        where = {"9": "市场监管部门", "1": "编办", "5": "民政部门"}
        return (
            f"该代码由{where.get(code[0], '其他登记机关')}登记，与所选登记类型"
            f"“{REGISTRATIONS[registration]}”不符（应以 {expected} 开头）"
        )
    return None


# --- the application's content -----------------------------------------------------------------


@dataclass(frozen=True)
class StaffSpec:
    name: str
    role: str
    certificate_no: str | None


@dataclass
class Content:
    """The filed data an application proposes (a new nursery, or a filed one's new state)."""

    name: str = ""
    kind: str = "private"
    registration: str = "market"
    registration_no: str = ""
    phone: str | None = None
    address: str = ""
    street_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    source_coordsys: str = "wgs84"
    floor_area_m2: float | None = None
    outdoor_area_m2: float | None = None
    serves_meals: bool = False
    care_types: list[str] = field(default_factory=list)
    classes: list[ClassSpec] = field(default_factory=list)
    staff: list[StaffSpec] = field(default_factory=list)

    @property
    def places(self) -> int:
        return sum(c.capacity for c in self.classes)


@dataclass(frozen=True)
class Problem:
    section: str
    message: str
    field: str | None = None
    code: str = "invalid_application"


def check_content(c: Content, min_floor_per_place: float = 0.0) -> list[Problem]:
    """Everything wrong with an application's content, section by section."""
    found: list[Problem] = []

    def add(section, message, field_name=None, code="invalid_application"):
        found.append(Problem(section, message, field_name, code))

    if c.kind not in NURSERY_KINDS:
        add("institution", "请选择机构类型", "kind")
    if c.registration not in REGISTRATIONS:
        add("institution", "请选择登记类型（营利性或非营利性）", "registration")
    elif (problem := uscc_problem(c.registration_no, c.registration)) is not None:
        add("institution", problem, "registration_no", "invalid_registration_no")
    if not c.care_types:
        add("institution", "请至少选择一种托育服务类型", "care_types")
    if c.lat is None or c.lon is None:
        add("site", "请在地图上选点或填写经纬度", "lat")
    if c.floor_area_m2 is None or c.floor_area_m2 <= 0:
        add("site", "请填写建筑面积（平方米，大于 0）", "floor_area_m2")
    elif min_floor_per_place and c.places and c.floor_area_m2 < min_floor_per_place * c.places:
        add(
            "site",
            f"建筑面积 {c.floor_area_m2:g} 平方米，按本区每托位不少于 {min_floor_per_place:g}"
            f" 平方米，{c.places} 个托位至少需要 {min_floor_per_place * c.places:g} 平方米",
            "floor_area_m2",
            "floor_area_too_small",
        )
    if c.outdoor_area_m2 is None or c.outdoor_area_m2 < 0:
        add("site", "请填写户外活动场地面积（平方米，没有请填 0）", "outdoor_area_m2")
    found += _check_classes(c)
    found += _check_staff(c)
    return found


def _check_classes(c: Content) -> list[Problem]:
    if not c.classes:
        return [Problem("classes", "请至少登记一个班级及其托位数", "classes")]
    if len(c.classes) > MAX_CLASSES:
        return [Problem("classes", f"最多登记 {MAX_CLASSES} 个班级", "classes")]
    if c.kind not in NURSERY_KINDS:
        return []
    breaches = check_nursery(c.kind, c.classes, [])
    return [Problem("classes", b.message, "classes", b.code) for b in breaches]


def _check_staff(c: Content) -> list[Problem]:
    found = []
    if not c.staff:
        return [Problem("staff", "请填写人员名单（保育师、育婴员、保健员）", "staff")]
    if len(c.staff) > MAX_STAFF:
        return [Problem("staff", f"人员名单最多 {MAX_STAFF} 人", "staff")]
    carers = sum(1 for s in c.staff if s.role in CARER_ROLES)
    needed = sum(cl.carers for cl in c.classes)
    if needed > carers:
        found.append(
            Problem(
                "staff",
                f"各班级共配备保育人员 {needed} 名，人员名单中只有保育师、育婴员 {carers} 名",
                "staff",
                "carers_not_listed",
            )
        )
    return found


def required_documents(kind: str, c: Content | None, site_changed: bool, meals_new: bool):
    """The document types an application must carry (the seeds' 消防、食品、卫生 of 荣昌 item
    16; photos so the reviewer sees the site). A change needs them again only for what it
    changes: a new site needs fire safety, the health evaluation and photos; meals newly served
    need the food licence. A closure needs none."""
    if kind == "closure" or c is None:
        return []
    if kind == "new":
        needed = ["fire_safety", "health_evaluation", "photo"]
        if c.serves_meals:
            needed.append("food_licence")
        return needed
    needed = ["fire_safety", "health_evaluation", "photo"] if site_changed else []
    if meals_new:
        needed.append("food_licence")
    return needed


# --- files ---------------------------------------------------------------------------------------

MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A file as uploaded: the document type it was uploaded as, its name and bytes."""

    doc_type: str
    filename: str
    data: bytes


MAX_FILES = 12  # per submission


def sniff(data: bytes) -> str | None:
    """The content type a file's first bytes show (PDF, JPEG, PNG), or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


# --- deadlines and numbers --------------------------------------------------------------------


def review_deadline(submitted_at: datetime, working_days: int, add_working_days) -> datetime:
    """The day the commission must decide by: `working_days` working days after the
    (re)submission (the Chinese calendar's `add_working_days`); a resubmission restarts it."""
    return add_working_days(submitted_at, working_days)


def filing_number(prefix: str, year: int, seq: int) -> str:
    """A filing number in the district's style, e.g. 渝星卫托备〔2026〕007号."""
    return f"{prefix}〔{year}〕{seq:03d}号"


def number_seq(prefix: str, year: int, number: str) -> int | None:
    """The sequence number of a filing number of this prefix and year, or None."""
    m = re.fullmatch(re.escape(prefix) + rf"〔{year}〕(\d+)号", number or "")
    return int(m.group(1)) if m else None


def class_label(class_type: str) -> str:
    return CLASS_TYPES[class_type].label if class_type in CLASS_TYPES else class_type
