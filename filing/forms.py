"""The filing forms (Flask-WTF, CSRF-protected) and the reading of the application form.

The application form has fixed fields (institution, site) and repeated rows (classes, staff:
`class_type-0`, `class_name-0`, … `staff_name-0`, …). Only what a browser can get wrong in its
own terms is refused here (a number that is not a number, a choice that is not ours); every
rule about a filing stays in `filing.rules` and `filing.services`.
"""

from __future__ import annotations

import math

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from accounts.forms import acceptable_password
from accounts.services import USERNAME_RE
from complaints.validation import CONTROL_RE
from maps.domain import CARE_TYPES, CLASS_TYPES
from maps.standards import ClassSpec

from .rules import (
    DOCUMENTS,
    MAX_CLASSES,
    MAX_FILE_BYTES,
    MAX_STAFF,
    STAFF_ROLES,
    Content,
    Problem,
    StaffSpec,
    Upload,
)

COORDSYS_CHOICES = [
    ("wgs84", "WGS-84（手机 GPS）"),
    ("gcj02", "GCJ-02（高德、腾讯地图）"),
    ("bd09", "BD-09（百度地图）"),
]
ACCEPT = "application/pdf,image/jpeg,image/png"
MULTIPLE = {"photo"}  # document types that take several files


class OperatorRegisterForm(FlaskForm):
    username = StringField(
        "用户名",
        validators=[
            DataRequired("请输入用户名"),
            Regexp(USERNAME_RE, message="用户名须为 3–32 位字母、数字、汉字、下划线、点或连字符"),
        ],
    )
    name = StringField("申办人姓名或单位", validators=[Length(max=64, message="不能超过 64 个字")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), acceptable_password])
    confirm = PasswordField(
        "再次输入密码", validators=[EqualTo("password", message="两次输入的密码不一致")]
    )


class ApplicationForm(FlaskForm):
    """CSRF only: the fields are read by `read_content` (rows repeat, so they are not WTForms
    fields)."""


class ClosureForm(FlaskForm):
    reason = TextAreaField("注销原因")


class DecisionForm(FlaskForm):
    """Return (reasons per section), approve (a number, optional), refuse (reasons)."""

    filing_no = StringField("备案号（留空自动编号）")
    confirm = BooleanField("已核对申请信息和材料")
    reason = TextAreaField("理由")


def _text(values, name: str, label: str, limit: int, problems, section, required=True):
    raw = values.get(name, "")
    text = raw.replace("\r\n", "\n").strip() if isinstance(raw, str) else ""
    if CONTROL_RE.search(text):
        problems.append(Problem(section, f"{label}含有无法保存的控制字符，请删除后重试", name))
        return ""
    if required and not text:
        problems.append(Problem(section, f"请填写{label}", name))
    if len(text) > limit:
        message = f"{label}不能超过 {limit} 字（现有 {len(text)} 字）"
        problems.append(Problem(section, message, name))
        return text[:limit]
    return text


def _number(values, name, label, problems, section, integer=False, bound=1e7):
    raw = (values.get(name) or "").strip().replace("，", ",").replace("．", ".")
    if not raw:
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "整数" if integer else "数字"
        problems.append(Problem(section, f"{label}须为{kind}：{raw[:20]}", name))
        return None
    if not math.isfinite(value) or abs(value) > bound:
        problems.append(Problem(section, f"{label}超出范围", name))
        return None
    return value


def _row_indices(values, prefix: str, limit: int) -> list[int]:
    found = set()
    for key in values:
        head, _, tail = key.rpartition("-")
        if head.startswith(prefix) and tail.isascii() and tail.isdigit() and len(tail) < 4:
            found.add(int(tail))
    return sorted(found)[: limit + 1]


def read_content(values) -> tuple[Content, list[Problem]]:
    """The application's content from the posted form, and what cannot even be read."""
    p: list[Problem] = []
    c = Content()
    c.name = _text(values, "name", "机构名称", 100, p, "institution")
    c.kind = values.get("kind", "")
    c.registration = values.get("registration", "")
    c.registration_no = _text(values, "registration_no", "统一社会信用代码", 18, p, "institution")
    c.registration_no = c.registration_no.upper().replace(" ", "")
    c.phone = _text(values, "phone", "联系电话", 32, p, "institution", required=False) or None
    c.care_types = [t for t in CARE_TYPES if values.get(f"care_{t}")]
    c.address = _text(values, "address", "地址", 200, p, "site")
    street = (values.get("street_id") or "").strip()
    digits = street.isascii() and street.isdigit() and len(street) < 10
    c.street_id = int(street) if digits else None
    c.lat = _number(values, "lat", "纬度", p, "site", bound=90)
    c.lon = _number(values, "lon", "经度", p, "site", bound=180)
    c.source_coordsys = values.get("coordsys") or "wgs84"
    c.floor_area_m2 = _number(values, "floor_area_m2", "建筑面积", p, "site")
    c.outdoor_area_m2 = _number(values, "outdoor_area_m2", "户外场地面积", p, "site")
    c.serves_meals = values.get("serves_meals") == "1"
    for i in _row_indices(values, "class_", MAX_CLASSES):
        kind = values.get(f"class_type-{i}", "")
        name = _text(values, f"class_name-{i}", "班级名称", 64, p, "classes", required=False)
        carers = _number(values, f"class_carers-{i}", "保育人员数", p, "classes", True, 100)
        places = _number(values, f"class_capacity-{i}", "托位数", p, "classes", True, 1000)
        if not kind and not name and carers is None and places is None:
            continue  # an empty row
        if kind not in CLASS_TYPES:
            p.append(Problem("classes", f"第 {i + 1} 行班级：请选择班级类型", "classes"))
            continue
        if places is None or places < 0 or carers is None or carers < 0:
            p.append(Problem("classes", f"第 {i + 1} 行班级：请填写托位数和保育人员数", "classes"))
            continue
        c.classes.append(ClassSpec(kind, places, carers, name or CLASS_TYPES[kind].label))
    for i in _row_indices(values, "staff_", MAX_STAFF):
        name = _text(values, f"staff_name-{i}", "姓名", 64, p, "staff", required=False)
        role = values.get(f"staff_role-{i}", "")
        cert = _text(values, f"staff_cert-{i}", "证书编号", 64, p, "staff", required=False)
        if not name and not cert:
            continue
        if not name:
            p.append(Problem("staff", f"第 {i + 1} 行人员：请填写姓名", "staff"))
            continue
        if role not in STAFF_ROLES:
            p.append(Problem("staff", f"第 {i + 1} 行人员（{name}）：请选择岗位", "staff"))
            continue
        none = {"", "无", "暂无", "none"}
        c.staff.append(StaffSpec(name, role, None if cert.lower() in none else cert))
    return c, p


def uploads(files) -> list:
    """The uploaded files (`doc_<type>` inputs), one byte more than allowed read at most."""
    found = []
    for doc_type in DOCUMENTS:
        for storage in files.getlist(f"doc_{doc_type}"):
            if storage and storage.filename:
                found.append(Upload(doc_type, storage.filename, storage.read(MAX_FILE_BYTES + 1)))
    return found


def rows_for_display(c: Content, blank: int = 2) -> tuple[list, list]:
    """The class and staff rows the form shows: the content's, then `blank` empty ones."""
    classes = [
        {"class_type": k.class_type, "name": k.name, "carers": k.carers, "capacity": k.capacity}
        for k in c.classes
    ] + [{"class_type": "", "name": "", "carers": "", "capacity": ""}] * blank
    staff = [
        {"name": s.name, "role": s.role, "certificate_no": s.certificate_no or ""} for s in c.staff
    ] + [{"name": "", "role": "", "certificate_no": ""}] * blank
    return classes, staff
