"""Filing use cases (机构"网上提交及时办"): an operator's registration and new filing, a filed
nursery's change or closure, correction and resubmission, and the commission's review.

Each validates everything first (content, files, the registry), then writes in one
`use_case()`: nothing of a refused submission or decision is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

import audit
from accounts.models import User
from accounts.services import change_role, create_user
from booking import capacity
from booking.models import Booking
from booking.rules import ACTIVE
from complaints import photos
from complaints.validation import CONTROL_RE
from database import use_case
from errors import Conflict, DomainError, NotFound
from extensions import db
from maps import boundary
from maps.coords import COORDSYS, in_china, to_wgs84
from maps.domain import CARE_TYPES, CLASS_TYPES, DEFAULT_PRICE_UNIT
from maps.models import Nursery, NurseryClass, NurseryStaff, Offer, Street, bump_registry_version
from maps.standards import class_places
from notifications.services import notify
from workdays.calendar import add_working_days

from . import rules
from .models import FilingApplication, FilingAttachment, FilingEvent
from .rules import Upload

MAX_REASON = 500


class ApplicationInvalid(DomainError):
    """The application was refused; `problems` lists every one, by section."""

    def __init__(self, problems: list[rules.Problem]):
        status = 413 if any(p.code == "file_too_large" for p in problems) else 400
        first = problems[0]
        super().__init__(first.code, "；".join(p.message for p in problems), status, first.field)
        self.problems = problems


@dataclass(frozen=True)
class CleanFile:
    doc_type: str
    filename: str
    content_type: str
    data: bytes


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _config(name: str, default):
    return current_app.config.get(name, default)


def review_days() -> int:
    return int(_config("FILING_REVIEW_WORKDAYS", 20))


# --- accounts -----------------------------------------------------------------------------------


def register_operator(username: str, password: str, name: str) -> User:
    """Self-service registration of an applicant (申办人) who wants to open a nursery."""
    return create_user("operator", username, password, name)


# --- checking what is submitted ---------------------------------------------------------------


def clean_files(uploads: list[Upload]) -> tuple[list[CleanFile], list[rules.Problem]]:
    """Files checked by their first bytes (PDF, JPEG, PNG) and size; images re-encoded from
    their pixels (complaints.photos: no EXIF or GPS survives)."""
    problems, clean = [], []
    if len(uploads) > rules.MAX_FILES:
        problems.append(
            rules.Problem("documents", f"一次最多上传 {rules.MAX_FILES} 个文件", "documents")
        )
        return [], problems
    for up in uploads:
        label = f"{rules.DOCUMENTS.get(up.doc_type, '附件')}“{up.filename[:60]}”"
        if up.doc_type not in rules.DOCUMENTS:
            problems.append(rules.Problem("documents", f"未知的材料类型：{up.doc_type[:30]}"))
            continue
        if not up.data:
            problems.append(rules.Problem("documents", f"{label}是空文件", up.doc_type))
            continue
        if len(up.data) > rules.MAX_FILE_BYTES:
            problems.append(
                rules.Problem(
                    "documents",
                    f"{label}超过 {rules.MAX_FILE_BYTES // (1024 * 1024)} MB，请压缩后再上传",
                    up.doc_type,
                    "file_too_large",
                )
            )
            continue
        kind = rules.sniff(up.data)
        if kind is None or (up.doc_type == "photo" and kind == "application/pdf"):
            allowed = "JPEG 或 PNG 图片" if up.doc_type == "photo" else "PDF 文件或 JPEG、PNG 图片"
            problems.append(
                rules.Problem("documents", f"{label}不是{allowed}", up.doc_type, "file_type")
            )
            continue
        data, content_type = up.data, kind
        if kind != "application/pdf":
            try:
                image = photos.clean(up.data)
            except DomainError:
                problems.append(
                    rules.Problem(
                        "documents",
                        f"{label}无法识别为图片（或像素过多）",
                        up.doc_type,
                        "file_type",
                    )
                )
                continue
            data, content_type = image.data, image.content_type
        name = CONTROL_RE.sub("", up.filename).strip()[:120] or "附件"
        clean.append(CleanFile(up.doc_type, name, content_type, data))
    return clean, problems


def _site_problems(c: rules.Content) -> list[rules.Problem]:
    """The position converted to WGS-84 and checked (China, the district boundary); the
    street must be one of the registry's."""
    found = []
    if c.lat is not None and c.lon is not None:
        if c.source_coordsys not in COORDSYS:
            found.append(rules.Problem("site", "请选择坐标来源", "coordsys"))
        else:
            try:
                lat, lon = to_wgs84(c.lat, c.lon, c.source_coordsys)
            except ValueError:
                lat = lon = None
            if lat is None or not in_china(lat, lon):
                found.append(rules.Problem("site", "位置不在中国境内，请重新选点", "lat"))
            elif not boundary.contains(lat, lon):
                found.append(rules.Problem("site", "位置不在本区范围内，请重新选点", "lat"))
            else:
                c.lat, c.lon = round(lat, 7), round(lon, 7)
    streets = db.session.scalar(select(func.count()).select_from(Street))
    if c.street_id is None:
        if streets:
            found.append(rules.Problem("site", "请选择所在镇街", "street_id"))
    elif db.session.get(Street, c.street_id) is None:
        found.append(rules.Problem("site", "所选镇街不存在", "street_id"))
    return found


def _document_problems(
    needed: list[str], files: list[CleanFile], kept: set[str]
) -> list[rules.Problem]:
    have = {f.doc_type for f in files} | kept
    return [
        rules.Problem("documents", f"缺少{rules.DOCUMENTS[d]}", f"doc_{d}", "missing_document")
        for d in needed
        if d not in have
    ]


def _check(
    c: rules.Content,
    uploads: list[Upload],
    needed,
    kept: set[str] = frozenset(),
    parse_problems=(),
) -> list[CleanFile]:
    files, problems = clean_files(uploads)
    problems = list(parse_problems) + problems
    problems += rules.check_content(c, float(_config("FILING_MIN_FLOOR_M2_PER_PLACE", 0) or 0))
    problems += _site_problems(c)
    problems += _document_problems(needed(c), files, kept)
    if problems:
        raise ApplicationInvalid(problems)
    return files


def _attach(application: FilingApplication, files: list[CleanFile], now: datetime) -> None:
    """Add the files; a type uploaded again replaces that type's earlier files (photos too)."""
    replaced = {f.doc_type for f in files}
    for old in [a for a in application.attachments if a.doc_type in replaced]:
        application.attachments.remove(old)
    for f in files:
        application.attachments.append(
            FilingAttachment(
                doc_type=f.doc_type,
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.data),
                data=f.data,
                uploaded_at=now,
            )
        )


def _event(application, action, actor_id, now, note=None, reasons=None, due_at=None) -> None:
    import json

    application.events.append(
        FilingEvent(
            action=action,
            actor_id=actor_id,
            at=now,
            note=note,
            reasons_json=json.dumps(reasons, ensure_ascii=False) if reasons else None,
            due_at=due_at,
        )
    )


def _start_review(application: FilingApplication, now: datetime) -> datetime:
    application.status = "submitted"
    application.submitted_at = now
    application.due_at = rules.review_deadline(now, review_days(), add_working_days)
    return application.due_at


# --- the applicant's use cases -------------------------------------------------------------------


def submit_new(
    applicant_id: int, c: rules.Content, uploads: list[Upload], parse_problems=(), now=None
) -> FilingApplication:
    """An operator files a new nursery: validated whole, stored with its files, queued."""
    now = _now(now)
    applicant = db.session.get(User, applicant_id)
    if applicant is None or applicant.role != "operator":
        raise DomainError("not_operator", "只有申办人账号可以提交新机构备案", status=403)
    files = _check(
        c, uploads, lambda c: rules.required_documents("new", c, True, c.serves_meals),
        parse_problems=parse_problems,
    )  # fmt: skip
    with use_case():
        if db.session.scalar(
            select(FilingApplication.id).where(
                FilingApplication.applicant_id == applicant_id,
                FilingApplication.kind == "new",
                FilingApplication.status.in_(rules.OPEN),
            )
        ):
            raise Conflict(
                "application_open", "您已有一份正在办理的备案申请，请等待审核结果或按要求补正"
            )
        application = FilingApplication(kind="new", applicant_id=applicant_id, created_at=now)
        application.set_content(c)
        due = _start_review(application, now)
        _attach(application, files, now)
        _event(application, "submitted", applicant_id, now, due_at=due)
        db.session.add(application)
        db.session.flush()
        audit.record(applicant_id, "filing.submitted", "filing", application.id, "new", at=now)
    return application


def own_filed_nursery(staff_id: int) -> Nursery:
    staff = db.session.get(User, staff_id)
    nursery = db.session.get(Nursery, staff.nursery_id) if staff and staff.nursery_id else None
    if staff is None or staff.role != "nursery_staff" or nursery is None:
        raise DomainError("not_staff", "只有托育机构账号可以申请变更或注销", status=403)
    if not nursery.is_filed:
        raise Conflict("not_filed", "本机构尚未备案（或已注销），不能申请变更或注销")
    return nursery


def _refuse_second_open(nursery_id: int) -> None:
    if db.session.scalar(
        select(FilingApplication.id).where(
            FilingApplication.nursery_id == nursery_id,
            FilingApplication.status.in_(rules.OPEN),
        )
    ):
        raise Conflict(
            "application_open", "本机构已有一份正在办理的变更或注销申请，请等待审核结果或按要求补正"
        )


def current_dossier(nursery: Nursery) -> FilingApplication | None:
    """The latest approved application of a nursery (its filed registration and areas)."""
    return db.session.scalar(
        select(FilingApplication)
        .where(FilingApplication.nursery_id == nursery.id, FilingApplication.status == "approved")
        .order_by(FilingApplication.decided_at.desc(), FilingApplication.id.desc())
        .limit(1)
    )


def _change_needs(nursery: Nursery):
    dossier = current_dossier(nursery)

    def needed(c: rules.Content):
        moved = abs((c.lat or 0) - nursery.lat) > 1e-5 or abs((c.lon or 0) - nursery.lon) > 1e-5
        site_changed = c.address != nursery.address or moved  # ~1 m: the same point
        meals_new = c.serves_meals and not (dossier and dossier.serves_meals)
        return rules.required_documents("change", c, site_changed, meals_new)

    return needed


def submit_change(
    staff_id: int, c: rules.Content, uploads: list[Upload], parse_problems=(), now=None
) -> FilingApplication:
    """A filed nursery's staff ask for a change (site, classes and places, kind, staff list);
    the public record stays as approved until the commission approves it."""
    now = _now(now)
    nursery = own_filed_nursery(staff_id)
    files = _check(c, uploads, _change_needs(nursery), parse_problems=parse_problems)
    with use_case():
        _refuse_second_open(nursery.id)
        application = FilingApplication(
            kind="change", applicant_id=staff_id, nursery_id=nursery.id, created_at=now
        )
        application.set_content(c)
        due = _start_review(application, now)
        _attach(application, files, now)
        _event(application, "submitted", staff_id, now, due_at=due)
        db.session.add(application)
        db.session.flush()
        audit.record(staff_id, "filing.submitted", "filing", application.id, "change", at=now)
    return application


def _clean_reason(value, label: str, required: bool = True) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None or CONTROL_RE.search(text):
        raise DomainError("invalid_reason", f"{label}含有无法保存的字符", field="reason")
    if required and not text:
        raise DomainError("reason_required", f"请填写{label}", field="reason")
    if len(text) > MAX_REASON:
        raise DomainError("reason_too_long", f"{label}不能超过 {MAX_REASON} 字", field="reason")
    return text or None


def _future_bookings(nursery_id: int, today: date) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.nursery_id == nursery_id,
            Booking.status.in_(ACTIVE),
            or_(Booking.end_date.is_(None), Booking.end_date >= today),
        )
    )


def _refuse_while_booked(nursery_id: int, today: date) -> None:
    count = _future_bookings(nursery_id, today)
    if count:
        raise Conflict(
            "bookings_active",
            f"本机构还有 {count} 个未结束的预约（待确认、已确认、递补保留或候补），"
            "请先妥善安置这些家庭并处理完预约，再申请注销",
        )


def submit_closure(staff_id: int, reason, now=None) -> FilingApplication:
    """A filed nursery's staff ask to close (注销); refused while families hold bookings."""
    now = _now(now)
    reason = _clean_reason(reason, "注销原因")
    nursery = own_filed_nursery(staff_id)
    dossier = current_dossier(nursery)
    with use_case():
        _refuse_second_open(nursery.id)
        _refuse_while_booked(nursery.id, now.date())
        application = FilingApplication(
            kind="closure", applicant_id=staff_id, nursery_id=nursery.id, created_at=now
        )
        application.set_content(_content_of(nursery, dossier))
        application.reason = reason
        due = _start_review(application, now)
        _event(application, "submitted", staff_id, now, note=reason, due_at=due)
        db.session.add(application)
        db.session.flush()
        audit.record(staff_id, "filing.submitted", "filing", application.id, "closure", at=now)
    return application


def _content_of(nursery: Nursery, dossier: FilingApplication | None) -> rules.Content:
    """A filed nursery's record as an application's content (the form of a change starts
    from it); what only a filing carries (registration, areas) from its latest approval."""
    from maps.standards import class_specs

    c = dossier.content() if dossier else rules.Content()
    c.name, c.kind, c.phone = nursery.name, nursery.kind, nursery.phone
    c.address, c.street_id = nursery.address, nursery.street_id
    c.lat, c.lon, c.source_coordsys = nursery.lat, nursery.lon, "wgs84"
    c.care_types = sorted({o.care_type for o in nursery.offers}, key=list(CARE_TYPES).index)
    c.classes = class_specs(nursery.classes)
    c.staff = [rules.StaffSpec(s.name, s.role, s.certificate_no) for s in nursery.staff]
    if dossier is None:
        c.registration_no = ""
        c.floor_area_m2 = c.outdoor_area_m2 = None
    return c


def content_of_nursery(nursery_id: int) -> rules.Content:
    nursery = db.session.get(Nursery, nursery_id)
    return _content_of(nursery, current_dossier(nursery))


def resubmit(
    user_id: int,
    application_id: int,
    c: rules.Content,
    uploads: list[Upload],
    parse_problems=(),
    now=None,
) -> FilingApplication:
    """The applicant corrects a returned application and submits it again; the review
    deadline restarts from the resubmission (the full FILING_REVIEW_WORKDAYS)."""
    now = _now(now)
    application = db.session.get(FilingApplication, application_id)
    if application is None or not _may_act_as_applicant(user_id, application):
        raise NotFound("application_not_found", "未找到该备案申请")
    if not application.can_correct():
        raise Conflict("not_returned", f"该申请当前状态为“{application.status_label}”，不能补正")
    if application.kind == "closure":
        raise Conflict("closure_not_corrected", "注销申请不能补正，请重新提交")
    kept = {a.doc_type for a in application.attachments}
    if application.kind == "new":

        def needed(c):
            return rules.required_documents("new", c, True, c.serves_meals)
    else:
        needed = _change_needs(db.session.get(Nursery, application.nursery_id))
    files = _check(c, uploads, needed, kept, parse_problems)
    with use_case():
        application = db.session.get(FilingApplication, application_id)
        if not application.can_correct():
            raise Conflict("not_returned", "该申请已不在待补正状态")
        application.set_content(c)
        due = _start_review(application, now)
        _attach(application, files, now)
        _event(application, "resubmitted", user_id, now, due_at=due)
        audit.record(user_id, "filing.resubmitted", "filing", application.id, at=now)
    return application


def _may_act_as_applicant(user_id: int, application: FilingApplication) -> bool:
    user = db.session.get(User, user_id)
    if user is None:
        return False
    if application.kind == "new" and application.nursery_id is None:
        return application.applicant_id == user_id
    return user.role == "nursery_staff" and user.nursery_id == application.nursery_id


# --- the commission's review -------------------------------------------------------------------


def _under_review(application_id) -> FilingApplication:
    application = db.session.get(FilingApplication, application_id)
    if application is None:
        raise NotFound("application_not_found", "未找到该备案申请")
    if not application.can_review():
        raise Conflict(
            "not_under_review", f"该申请当前状态为“{application.status_label}”，不能再审核"
        )
    return application


def return_for_correction(admin_id: int, application_id, reasons: dict, now=None):
    """Return an application for correction, with a reason for each section concerned."""
    now = _now(now)
    cleaned = {}
    for section, text in (reasons or {}).items():
        if section not in rules.SECTIONS:
            raise DomainError("invalid_section", "未知的申请部分")
        text = _clean_reason(text, f"“{rules.SECTIONS[section]}”的补正意见", required=False)
        if text:
            cleaned[section] = text
    if not cleaned:
        raise DomainError("reason_required", "请至少对一个部分写明需要补正的内容", field="reason")
    with use_case():
        application = _under_review(application_id)
        if application.kind == "closure":
            raise Conflict("closure_not_corrected", "注销申请不能退回补正：请通过或不予通过")
        application.status = "returned"
        application.due_at = None
        _event(application, "returned", admin_id, now, reasons=cleaned)
        notify(
            application.applicant_id,
            f"您的{application.kind_label}申请（编号 {application.id}）需要补正："
            + "；".join(f"{rules.SECTIONS[s]}：{t}" for s, t in cleaned.items()),
            "filing",
            application.id,
            now,
        )
        sections = ",".join(cleaned)
        audit.record(admin_id, "filing.returned", "filing", application.id, sections, at=now)
    return application


def refuse(admin_id: int, application_id, reason, now=None):
    """不予备案 / 不予变更: the application ends with the reasons given."""
    now = _now(now)
    reason = _clean_reason(reason, "不予通过的理由")
    with use_case():
        application = _under_review(application_id)
        application.status, application.decided_at, application.due_at = "refused", now, None
        _event(application, "refused", admin_id, now, note=reason)
        notify(
            application.applicant_id,
            f"您的{application.kind_label}申请（编号 {application.id}）未通过：{reason}",
            "filing",
            application.id,
            now,
        )
        audit.record(admin_id, "filing.refused", "filing", application.id, at=now)
    return application


def _number_taken(number: str) -> bool:
    return bool(
        db.session.scalar(select(Nursery.id).where(Nursery.filing_no == number))
        or db.session.scalar(
            select(FilingApplication.id).where(FilingApplication.filing_no == number)
        )
    )


def _next_number(today: date) -> str:
    prefix = _config("FILING_NO_PREFIX", "卫托备")
    like = f"{prefix}〔{today.year}〕%"
    numbers = list(
        db.session.scalars(select(Nursery.filing_no).where(Nursery.filing_no.like(like)))
    )
    numbers += db.session.scalars(
        select(FilingApplication.filing_no).where(FilingApplication.filing_no.like(like))
    )
    seqs = [s for n in numbers if (s := rules.number_seq(prefix, today.year, n)) is not None]
    seq = max(seqs, default=0) + 1
    while _number_taken(rules.filing_number(prefix, today.year, seq)):
        seq += 1
    return rules.filing_number(prefix, today.year, seq)


def _typed_number(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or CONTROL_RE.search(value) or len(value.strip()) > 64:
        raise DomainError("invalid_filing_no", "备案号须为不超过 64 字的文字", field="filing_no")
    return value.strip()


def approve(admin_id: int, application_id, filing_no=None, now=None) -> FilingApplication:
    """Approve: a new nursery is filed (a number issued, or the one typed) and public at once;
    a change is applied to the public record; a closure takes the nursery off it."""
    now = _now(now)
    typed = _typed_number(filing_no)
    with use_case():
        application = _under_review(application_id)
        if application.kind == "new":
            number = typed or _next_number(now.date())
            if _number_taken(number):
                raise Conflict(
                    "filing_no_taken",
                    f"备案号“{number}”已被其他机构使用（或曾被使用），请换一个",
                    field="filing_no",
                )
            _file_new(admin_id, application, number, now)
            text = (
                f"您的备案申请（编号 {application.id}）已通过，备案号 {number}。机构已在地图上"
                "公开；请重新登录，进入机构工作台设置托位和价格。"
            )
        elif application.kind == "change":
            if typed:
                raise DomainError("no_number_for_change", "变更申请不另发备案号", field="filing_no")
            _apply_change(application, now)
            text = "本机构的备案变更申请已通过，公开信息已更新。"
        else:
            if typed:
                raise DomainError("no_number_for_change", "注销申请不另发备案号", field="filing_no")
            _close(application, now)
            text = "本机构的注销备案申请已通过，机构已不再公开显示。"
        application.status, application.decided_at, application.due_at = "approved", now, None
        _event(application, "approved", admin_id, now, note=application.filing_no)
        notify(application.applicant_id, text, "filing", application.id, now)
        audit.record(
            admin_id, "filing.approved", "filing", application.id, application.kind, at=now
        )
        bump_registry_version()
    return application


def _classes(c: rules.Content) -> list[NurseryClass]:
    return [
        NurseryClass(
            class_type=k.class_type,
            name=k.name or CLASS_TYPES[k.class_type].label,
            carers=k.carers,
            capacity=k.capacity,
        )
        for k in c.classes
    ]


def _staff(c: rules.Content) -> list[NurseryStaff]:
    return [
        NurseryStaff(name=s.name, role=s.role, certificate_no=s.certificate_no) for s in c.staff
    ]


def _offer(care_type: str) -> Offer:
    # As the registry import files a care type: no places yet, price 待公布; the nursery puts
    # places in its classes on the portal (maps.services.import_nurseries does the same).
    return Offer(
        care_type=care_type,
        class_type=None,
        price_yuan=None,
        price_unit=DEFAULT_PRICE_UNIT[care_type],
        capacity=0,
    )


def _file_new(admin_id: int, application: FilingApplication, number: str, now: datetime):
    c = application.content()
    nursery = Nursery(
        name=c.name,
        address=c.address,
        street_id=c.street_id,
        kind=c.kind,
        inclusive=False,  # 普惠 is recognised apart, not by filing
        filing_no=number,
        filing_date=now.date(),
        lat=c.lat,
        lon=c.lon,
        source_coordsys=c.source_coordsys,
        phone=c.phone,
        capacity=c.places,
        classes=_classes(c),
        staff=_staff(c),
        offers=[_offer(t) for t in c.care_types],
    )
    db.session.add(nursery)
    db.session.flush()
    application.nursery_id = nursery.id
    application.filing_no, application.filing_date = number, now.date()
    applicant = db.session.get(User, application.applicant_id)
    if applicant is not None and applicant.active and applicant.role == "operator":
        # The applicant's account becomes the nursery's staff account (audited as 角色变更).
        change_role(admin_id, applicant.username, "nursery_staff", nursery_id=nursery.id, now=now)


def _apply_change(application: FilingApplication, now: datetime) -> None:
    c = application.content()
    nursery = db.session.scalar(
        select(Nursery)
        .where(Nursery.id == application.nursery_id)
        .options(selectinload(Nursery.offers), selectinload(Nursery.classes))
    )
    if nursery is None or not nursery.is_filed:
        raise Conflict("not_filed", "该机构已不在备案中，不能变更")
    today = now.date()
    _fit_offers(nursery, c, today)
    nursery.name, nursery.kind, nursery.phone = c.name, c.kind, c.phone
    nursery.address, nursery.street_id = c.address, c.street_id
    nursery.lat, nursery.lon, nursery.source_coordsys = c.lat, c.lon, c.source_coordsys
    nursery.classes[:] = _classes(c)
    nursery.staff[:] = _staff(c)
    nursery.capacity = c.places
    listed = {o.care_type for o in nursery.offers}
    for care_type in c.care_types:
        if care_type not in listed:
            nursery.offers.append(_offer(care_type))
    application.filing_no, application.filing_date = nursery.filing_no, nursery.filing_date


def _fit_offers(nursery: Nursery, c: rules.Content, today: date) -> None:
    """Bring the offers within the new classes' places, never below the places families hold:
    an offer is lowered as far as needed (larger ones first) but not under its most places
    held in one slot (booking.capacity.set_capacity); if that cannot make room, the change is
    refused. A care type dropped from the list closes its places the same way."""
    places = class_places(c.kind, c.classes)
    dropped = {o.care_type for o in nursery.offers} - set(c.care_types)
    for o in nursery.offers:
        if o.care_type in dropped and o.capacity > 0:
            held = capacity.most_taken(o.id, today)
            if held:
                raise Conflict(
                    "places_held",
                    f"{CARE_TYPES[o.care_type]}还有 {held} 个托位被占用，不能停办该托育类型；"
                    "请机构先处理这些预约",
                )
            capacity.set_capacity(o, 0, today)
    for class_type in sorted({o.class_type for o in nursery.offers if o.class_type}):
        offers = [o for o in nursery.offers if o.class_type == class_type and o.capacity > 0]
        room, total = places.get(class_type, 0), sum(o.capacity for o in offers)
        if total <= room:
            continue
        held = {o.id: capacity.most_taken(o.id, today) for o in offers}
        if sum(held.values()) > room:
            label = CLASS_TYPES[class_type].label
            raise Conflict(
                "places_held",
                f"{label}已有 {sum(held.values())} 个托位被占用（含待确认和递补保留），"
                f"变更后{label}只有 {room} 个托位，不能通过；请机构先处理这些预约",
            )
        excess = total - room
        for o in sorted(offers, key=lambda o: -o.capacity):
            cut = min(excess, o.capacity - held[o.id])
            if cut > 0:
                capacity.set_capacity(o, o.capacity - cut, today)
                excess -= cut


def _close(application: FilingApplication, now: datetime) -> None:
    nursery = db.session.get(Nursery, application.nursery_id)
    if nursery is None or not nursery.is_filed:
        raise Conflict("not_filed", "该机构已不在备案中")
    _refuse_while_booked(nursery.id, now.date())
    # The number is retired with the application (never issued again); without a filing
    # number the nursery is off the map, search, booking and complaint pickers at once.
    application.filing_no, application.filing_date = nursery.filing_no, nursery.filing_date
    nursery.filing_no, nursery.filing_date = None, None
