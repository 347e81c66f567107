"""Admin pages: departments, categories, keywords and routing rules; routing preview; the
holiday calendar (节假日安排: the years loaded, importing one — `workdays.services`).

Only admin accounts may enter. The rules are data (`complaints/rulebook.py`): every save builds
a new full document from the newest version plus the one change, validates it with the same
`rules_from_dict` routing uses, and stores it as a new version (`services/rules.py`) — a
refused change stores nothing. Each edit form carries the version it was made from; if someone
saved in between, the change is refused (409) rather than silently overwriting theirs.
"""

from __future__ import annotations

import copy
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from accounts.access import restrict
from errors import Conflict, DomainError, NotFound
from maps.domain import NURSERY_KINDS, is_public
from workdays import calendar as workday_calendar
from workdays import services as workday_services
from workdays import store as workday_store

from .. import modelbook, rulebook
from ..forms.admin import (
    CategoryForm,
    HolidayImportForm,
    ImportForm,
    JsonForm,
    PreviewForm,
    VersionedForm,
    departments_form,
    split_words,
)
from ..routing import route
from ..services import rules as rule_versions

bp = Blueprint("complaint_admin", __name__, url_prefix="/admin/complaint-rules")

restrict(bp, "admin", "只有管理员可以维护分办规则")


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
    rulebook.validate(doc, "规则有误，未保存")
    return rule_versions.save(current_user.id, doc, reason, based_on=based_on)


def _parse(raw: bytes) -> dict:
    """The document, parsed and validated (size, UTF-8, JSON, nesting, rules): DomainError 400."""
    return rulebook.parse(raw)[0]


def _form_errors(form) -> list[str]:
    return [e for f in form for e in f.errors]


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
        if "keywords" in adj.when:
            when.append("文本含 " + "、".join(adj.when["keywords"]) + " 之一")
        rows.append(
            {
                "id": adj.id,
                "when": "，且".join(when),
                "then": "；".join(then),
                "reason": adj.reason,
                "source": adj.source,
            }
        )
    return rows


# --- the overview ----------------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def index():
    version, rules, raw = _current()
    return render_template(
        "complaint_admin/index.html",
        version=rulebook.version_info(version),
        history=rulebook.history(),
        rules=rules,
        names=lambda codes: _names(codes, rules.departments),
        adjustments=_adjustment_rows(rules),
        regimes=rulebook.current_regimes(),
        calendar_missing=workday_store.missing(),
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
                source = (form.source.data or "").strip()
                if source:
                    target["source"] = source
                else:
                    target.pop("source", None)
                new = _save(doc, f"编辑类别 {code}", version)
            except DomainError as exc:
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
        form.source.data = entry.get("source", "")
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
        form = departments_form(rules.departments, request.form)
        if form.validate_on_submit():
            try:
                _check_version(form, version)
                names = {code: form["name_" + code].data.strip() for code in rules.departments}
                sources = dict(rules.department_sources)  # kept: the form edits names only
                new_code = (form.new_code.data or "").strip()
                if new_code:
                    names[new_code] = form.new_name.data.strip()
                    if (form.new_source.data or "").strip():
                        sources[new_code] = form.new_source.data.strip()
                seen: dict[str, str] = {}
                for code, name in names.items():
                    if name in seen:
                        raise DomainError(
                            "duplicate_department_name",
                            f"部门名称“{name}”重复（{seen[name]} 与 {code}）",
                        )
                    seen[name] = code
                doc = copy.deepcopy(raw)
                doc["departments"] = {
                    code: {"name": name, "source": sources[code]} if code in sources else name
                    for code, name in names.items()
                }
                new = _save(doc, f"编辑部门{'，新增 ' + new_code if new_code else ''}", version)
            except DomainError as exc:
                status, page_error = exc.status, exc.message
            else:
                added = f"，新增部门“{names[new_code]}”" if new_code else ""
                flash(f"已保存部门（规则版本 {new}）{added}。", "success")
                return redirect(url_for("complaint_admin.departments"), 303)
        else:
            status = 400
    else:
        form = departments_form(rules.departments)
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
            version=rulebook.version_info(version),
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
                is_public(kind),
                bool(form.inclusive.data) and kind is not None,
                form.text.data or "",
                rules,
                modelbook.current_model(),
            )
            names = rules.departments
            used = rules.categories[r.category_used]
            applied = {x.rule for x in r.reasons if x.kind == "adjustment"}
            sources = [(f"类别 {used.label}", used.source)] + [
                (f"调整规则 {a.id}", a.source) for a in rules.adjustments if a.id in applied
            ]
            result = {
                "lead": f"{names.get(r.lead, r.lead)}（{r.lead}）",
                "co": _names(r.co_handlers, names),
                "informed": _names(r.informed, names),
                "urgent": r.urgent,
                "category": categories.get(r.category_used, r.category_used),
                "changed": r.category_used != form.category.data,
                "reasons": r.texts,
                "sources": sources,
                "public": is_public(kind),
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


# --- the holiday calendar (节假日安排) --------------------------------------------------------


def _holidays_page(form=None, status=200, page_error=None):
    return (
        render_template(
            "complaint_admin/holidays.html",
            form=form or HolidayImportForm(formdata=None),
            years=workday_store.years(),
            missing=workday_store.missing(),
            page_error=page_error,
            limit_kb=workday_services.MAX_FILE_BYTES // 1024,
            active="holidays",
        ),
        status,
    )


@bp.get("/holidays")
def holidays():
    """The loaded years (shipped or imported), the missing ones, and the import form."""
    return _holidays_page()


@bp.post("/holidays")
def import_holidays():
    form = HolidayImportForm()
    if not form.validate_on_submit():
        return _holidays_page(form, 400, "；".join(_form_errors(form)))
    upload = form.file.data
    try:
        data = workday_services.parse(upload.stream.read(workday_services.MAX_FILE_BYTES + 1))
        done = workday_services.import_year(
            data, current_user.id, (form.reason.data or "").strip() or None
        )
    except DomainError as exc:
        return _holidays_page(form, exc.status, exc.message)
    flash(
        f"已导入 {done.year} 年节假日安排，重新计算了 {done.complaints} 件投诉、"
        f"{done.bookings} 个预约的期限。",
        "success",
    )
    return redirect(url_for("complaint_admin.holidays"), 303)


@bp.get("/holidays/<int:year>.json")
def export_holidays(year: int):
    data = workday_store.arrangement_json(year)
    if data is None:
        raise NotFound("holiday_year_not_found", f"没有 {year} 年的节假日安排")
    response = Response(workday_calendar.file_text(data), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="holidays-{year}.json"'
    return response
