"""Admin pages: departments, categories, keywords and routing rules; routing preview.

Only admin accounts may enter. The rules are data (`complaints/rulebook.py`): every save builds
a new full document from the newest version plus the one change, validates it with the same
`rules_from_dict` routing uses, and stores it as a new version — a refused change stores
nothing. Each edit form carries the version it was made from; if someone saved in between,
the change is refused (409) rather than silently overwriting theirs.
"""

from __future__ import annotations

import copy
import json
import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from accounts.access import restrict
from accounts.models import User
from booking.portal_forms import ChoiceField
from errors import Conflict, DomainError, NotFound
from extensions import db
from maps.domain import NURSERY_KINDS

from . import rulebook
from .models import RulesVersion
from .routing import DEPARTMENT_CODE, route, rules_from_dict
from .services import MAX_DESCRIPTION

bp = Blueprint("complaint_admin", __name__, url_prefix="/admin/complaint-rules")

WORD_SEPARATORS = re.compile(r"[、,，;；\r\n]+")
MAX_WORD = 20
MAX_WORDS = 300
MAX_LABEL = 32
MAX_CATEGORY_DESCRIPTION = 500
HISTORY = 10


restrict(bp, "admin", "只有管理员可以维护分办规则")


# --- forms -----------------------------------------------------------------------------------


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", "请从列表中选择")
        super().__init__(*args, **kwargs)


def split_words(text: str | None) -> list[str]:
    """Keywords typed one per line or separated by 、 , ， ; ；, blanks dropped, order kept."""
    words = (w.strip() for w in WORD_SEPARATORS.split(text or ""))
    return list(dict.fromkeys(w for w in words if w))


def _check_words(field) -> None:
    words = split_words(field.data)
    if len(words) > MAX_WORDS:
        raise ValidationError(f"关键词不能超过 {MAX_WORDS} 个（现有 {len(words)} 个）")
    for w in words:
        if len(w) > MAX_WORD:
            raise ValidationError(f"关键词“{w[:MAX_WORD]}…”过长（每个不超过 {MAX_WORD} 字）")


class VersionedForm(FlaskForm):
    base_version = HiddenField()  # the rules version the form was filled from


class CategoryForm(VersionedForm):
    label = StringField(
        "类别名称",
        validators=[
            DataRequired("请填写类别名称"),
            Length(max=MAX_LABEL, message=f"类别名称不能超过 {MAX_LABEL} 字"),
        ],
    )
    description = TextAreaField(
        "说明与举例（公众填表时看到）",
        validators=[
            DataRequired("请填写说明"),
            Length(
                max=MAX_CATEGORY_DESCRIPTION,
                message=f"说明不能超过 {MAX_CATEGORY_DESCRIPTION} 字",
            ),
        ],
    )
    lead = ChoiceField("牵头部门", validators=[DataRequired("请选择牵头部门")])
    co = CheckboxesField("协办部门")
    urgent = BooleanField("紧急类别（提交即标记紧急，24 小时内受理）")
    keywords = TextAreaField("关键词（文本分类用；每行一个，或用顿号、逗号分隔）")
    urgent_keywords = TextAreaField("紧急关键词（出现即标记紧急，并可升级类别）")

    def __init__(self, *args, departments: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        pairs = list(departments.items())
        self.lead.choices = _choices([("", "请选择"), *pairs])
        self.co.choices = _choices(pairs)

    def validate_co(self, field):
        if self.lead.data and self.lead.data in (field.data or []):
            raise ValidationError("牵头部门不能同时是协办部门")

    def validate_keywords(self, field):
        _check_words(field)

    def validate_urgent_keywords(self, field):
        _check_words(field)


def _departments_form(departments: dict[str, str], formdata=None):
    """One name box per department, plus a new code and name; built for the current list."""

    class DepartmentsForm(VersionedForm):
        new_code = StringField("新部门代码（小写字母、数字和下划线，如 admin_approval）")
        new_name = StringField("新部门名称")

        def validate_new_code(self, field):
            code = (field.data or "").strip()
            if not code:
                if (self.new_name.data or "").strip():
                    raise ValidationError("请填写新部门的代码")
                return
            if not DEPARTMENT_CODE.match(code):
                raise ValidationError("部门代码须为 2–32 位小写字母、数字或下划线，以字母开头")
            if code in departments:
                raise ValidationError("该部门代码已存在")

        def validate_new_name(self, field):
            if (self.new_code.data or "").strip() and not (field.data or "").strip():
                raise ValidationError("请填写新部门的名称")
            if len((field.data or "").strip()) > MAX_LABEL:
                raise ValidationError(f"部门名称不能超过 {MAX_LABEL} 字")

    for code, name in departments.items():
        setattr(
            DepartmentsForm,
            "name_" + code,
            StringField(
                code,
                default=name,
                validators=[
                    DataRequired("请填写部门名称"),
                    Length(max=MAX_LABEL, message=f"部门名称不能超过 {MAX_LABEL} 字"),
                ],
            ),
        )
    return DepartmentsForm() if formdata is not None else DepartmentsForm(formdata=None)


class JsonForm(VersionedForm):
    document = TextAreaField("分办规则（JSON）", validators=[DataRequired("请填写规则 JSON")])


class ImportForm(FlaskForm):
    file = FileField(
        "规则文件（JSON，UTF-8，不超过 512 KB）", validators=[FileRequired("请选择规则文件")]
    )


class PreviewForm(FlaskForm):
    text = TextAreaField(
        "投诉内容",
        validators=[Length(max=MAX_DESCRIPTION, message=f"投诉内容不能超过 {MAX_DESCRIPTION} 字")],
    )
    category = ChoiceField("投诉人选择的类别", validators=[DataRequired("请选择类别")])
    kind = ChoiceField(
        "机构类型",
        choices=_choices([("", "未登记场所（按位置）"), *NURSERY_KINDS.items()]),
    )
    inclusive = BooleanField("普惠性机构")

    def __init__(self, *args, categories: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _choices(categories.items())


# --- helpers ---------------------------------------------------------------------------------


def _current():
    return rulebook.current()  # (version id, rules, raw data)


def _check_version(form: VersionedForm, version: int) -> None:
    if (form.base_version.data or "") != str(version):
        raise Conflict(
            "rules_changed", "分办规则已被他人修改（版本已更新），请刷新页面后在最新规则上修改"
        )


def _save(doc: dict, reason: str, based_on: int | None = None) -> int:
    """Validate the whole new document and store it as a new version; DomainError 400 else."""
    try:
        rules_from_dict(doc)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("rules_invalid", f"规则有误，未保存：{exc}") from None
    return rulebook.save(current_user.id, doc, reason, based_on=based_on)


def _parse(raw: bytes) -> dict:
    """The document, parsed and validated (size, UTF-8, JSON, nesting, rules): DomainError 400."""
    return rulebook.parse(raw)[0]


def _form_errors(form) -> list[str]:
    return [e for f in form for e in f.errors]


def _version_info(version: int) -> dict:
    if not version:
        return {"id": 0, "saved_at": None, "by": None}
    row = db.session.get(RulesVersion, version)
    who = db.session.get(User, row.saved_by) if row.saved_by else None
    return {"id": version, "saved_at": row.saved_at, "by": who.username if who else None}


def _history() -> list[dict]:
    rows = db.session.execute(
        select(RulesVersion.id, RulesVersion.saved_at, User.username)
        .outerjoin(User, User.id == RulesVersion.saved_by)
        .order_by(RulesVersion.id.desc())
        .limit(HISTORY)
    ).all()
    return [{"id": i, "saved_at": at, "by": by} for i, at, by in rows]


def _names(codes, departments: dict[str, str]) -> str:
    return "、".join(departments.get(c, c) for c in codes) or "—"


def _adjustment_rows(rules) -> list[dict]:
    rows = []
    for adj in rules.adjustments:
        when = []
        if "kind" in adj.when:
            when.append(
                "机构类型为 " + "、".join(NURSERY_KINDS.get(k, k) for k in adj.when["kind"])
            )
        if "category" in adj.when:
            labels = (
                rules.categories[c].label if c in rules.categories else c
                for c in adj.when["category"]
            )
            when.append("类别为 " + "、".join(labels))
        if "is_public" in adj.when:
            when.append("公办机构" if adj.when["is_public"] else "非公办机构")
        if "inclusive" in adj.when:
            when.append("普惠性机构" if adj.when["inclusive"] else "非普惠性机构")
        then = []
        if adj.set_lead:
            then.append(f"改由{rules.departments.get(adj.set_lead, adj.set_lead)}牵头")
        if adj.add_co:
            then.append(f"{_names(adj.add_co, rules.departments)}协办")
        rows.append(
            {"id": adj.id, "when": "，且".join(when), "then": "；".join(then), "reason": adj.reason}
        )
    return rows


# --- the overview ----------------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def index():
    version, rules, raw = _current()
    return render_template(
        "complaint_admin/index.html",
        version=_version_info(version),
        history=_history(),
        rules=rules,
        names=lambda codes: _names(codes, rules.departments),
        adjustments=_adjustment_rows(rules),
        active="index",
    )


# --- a category ------------------------------------------------------------------------------


@bp.route("/categories/<code>", methods=["GET", "POST"])
def category(code: str):
    version, rules, raw = _current()
    if code not in rules.categories:
        raise NotFound("category_not_found", "未找到该类别")
    entry = next(c for c in raw["categories"] if isinstance(c, dict) and c.get("code") == code)
    status, page_error = 200, None
    if request.method == "POST":
        form = CategoryForm(departments=rules.departments)
        if form.validate_on_submit():
            try:
                _check_version(form, version)
                doc = copy.deepcopy(raw)
                target = next(c for c in doc["categories"] if c.get("code") == code)
                target.update(
                    label=form.label.data.strip(),
                    description=form.description.data.strip(),
                    lead=form.lead.data,
                    co=[d for d in rules.departments if d in (form.co.data or [])],
                    urgent=bool(form.urgent.data),
                    keywords=split_words(form.keywords.data),
                    urgent_keywords=split_words(form.urgent_keywords.data),
                )
                new = _save(doc, f"编辑类别 {code}", version)
            except DomainError as exc:
                db.session.rollback()
                status, page_error = exc.status, exc.message
            else:
                flash(
                    f"已保存类别“{target['label']}”（规则版本 {new}），新提交的投诉按新规则分办。",
                    "success",
                )
                return redirect(url_for("complaint_admin.index") + f"#cat-{code}", 303)
        else:
            status = 400
    else:
        form = CategoryForm(formdata=None, departments=rules.departments)
        form.base_version.data = str(version)
        form.label.data = entry.get("label", "")
        form.description.data = entry.get("description", "")
        form.lead.data = entry.get("lead", "")
        form.co.data = list(entry.get("co", []))
        form.urgent.data = bool(entry.get("urgent", False))
        form.keywords.data = "、".join(entry.get("keywords", []))
        form.urgent_keywords.data = "、".join(entry.get("urgent_keywords", []))
    return (
        render_template(
            "complaint_admin/category.html",
            code=code,
            form=form,
            page_error=page_error,
            version=version,
            is_fallback=code == rules.fallback_category,
            active="index",
        ),
        status,
    )


# --- departments -----------------------------------------------------------------------------


@bp.route("/departments", methods=["GET", "POST"])
def departments():
    version, rules, raw = _current()
    status, page_error = 200, None
    if request.method == "POST":
        form = _departments_form(rules.departments, request.form)
        if form.validate_on_submit():
            try:
                _check_version(form, version)
                names = {code: form["name_" + code].data.strip() for code in rules.departments}
                new_code = (form.new_code.data or "").strip()
                if new_code:
                    names[new_code] = form.new_name.data.strip()
                seen: dict[str, str] = {}
                for code, name in names.items():
                    if name in seen:
                        raise DomainError(
                            "duplicate_department_name",
                            f"部门名称“{name}”重复（{seen[name]} 与 {code}）",
                        )
                    seen[name] = code
                doc = copy.deepcopy(raw)
                doc["departments"] = names
                new = _save(doc, f"编辑部门{'，新增 ' + new_code if new_code else ''}", version)
            except DomainError as exc:
                db.session.rollback()
                status, page_error = exc.status, exc.message
            else:
                added = f"，新增部门“{names[new_code]}”" if new_code else ""
                flash(f"已保存部门（规则版本 {new}）{added}。", "success")
                return redirect(url_for("complaint_admin.departments"), 303)
        else:
            status = 400
    else:
        form = _departments_form(rules.departments)
        form.base_version.data = str(version)
    return (
        render_template(
            "complaint_admin/departments.html",
            form=form,
            codes=list(rules.departments),
            page_error=page_error,
            active="departments",
        ),
        status,
    )


# --- the whole document: JSON editor, import, export ------------------------------------------


def _json_page(form=None, import_form=None, status=200, page_error=None, import_error=None):
    version, rules, raw = _current()
    if form is None:
        form = JsonForm(formdata=None)
        form.base_version.data = str(version)
        form.document.data = json.dumps(raw, ensure_ascii=False, indent=2)
    return (
        render_template(
            "complaint_admin/json.html",
            form=form,
            import_form=import_form or ImportForm(formdata=None),
            page_error=page_error,
            import_error=import_error,
            version=_version_info(version),
            limit_kb=rulebook.MAX_RULES_BYTES // 1024,
            active="json",
        ),
        status,
    )


@bp.route("/json", methods=["GET", "POST"])
def edit_json():
    if request.method == "GET":
        return _json_page()
    version = _current()[0]
    form = JsonForm()
    if not form.validate_on_submit():
        return _json_page(form, status=400, page_error="；".join(_form_errors(form)))
    try:
        _check_version(form, version)
        doc = _parse(form.document.data.encode("utf-8"))
        new = _save(doc, "编辑规则 JSON", version)
    except DomainError as exc:
        db.session.rollback()
        return _json_page(form, status=exc.status, page_error=exc.message)
    flash(f"已保存分办规则（规则版本 {new}）。", "success")
    return redirect(url_for("complaint_admin.index"), 303)


@bp.post("/import")
def import_rules():
    form = ImportForm()
    if not form.validate_on_submit():
        return _json_page(import_form=form, status=400, import_error="；".join(_form_errors(form)))
    upload = form.file.data
    try:
        doc = _parse(upload.stream.read(rulebook.MAX_RULES_BYTES + 1))
        new = _save(doc, f"导入规则文件 {upload.filename or ''}".strip())
    except DomainError as exc:
        db.session.rollback()
        return _json_page(import_form=form, status=exc.status, import_error=exc.message)
    flash(f"已导入分办规则（规则版本 {new}）。", "success")
    return redirect(url_for("complaint_admin.index"), 303)


@bp.get("/export")
def export_rules():
    version, _, raw = _current()
    body = json.dumps(raw, ensure_ascii=False, indent=2) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="complaint-rules-v{version}.json"'
    )
    return response


# --- preview ---------------------------------------------------------------------------------


@bp.route("/preview", methods=["GET", "POST"])
def preview():
    """Which departments a sample complaint would reach under the current rules; stores nothing."""
    version, rules, _ = _current()
    categories = {code: cat.label for code, cat in rules.categories.items()}
    form = PreviewForm(
        formdata=request.form if request.method == "POST" else None, categories=categories
    )
    if request.method == "GET":
        form.category.data = rules.fallback_category
    result, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            kind = form.kind.data or None
            r = route(
                form.category.data,
                kind,
                kind == "public",
                bool(form.inclusive.data) and kind is not None,
                form.text.data or "",
                rules,
            )
            names = rules.departments
            result = {
                "lead": f"{names.get(r.lead, r.lead)}（{r.lead}）",
                "co": _names(r.co_handlers, names),
                "informed": _names(r.informed, names),
                "urgent": r.urgent,
                "category": categories.get(r.category_used, r.category_used),
                "changed": r.category_used != form.category.data,
                "reasons": r.reasons,
                "public": kind == "public",
            }
        else:
            status = 400
    return (
        render_template(
            "complaint_admin/preview.html",
            form=form,
            result=result,
            version=version,
            active="preview",
        ),
        status,
    )
