"""Open311 GeoReport v2 at /open311/v2 (DESIGN §6), in JSON and XML.

- ``GET services.json|xml``: one service per complaint category (``other`` among them);
  ``GET services/<code>.json|xml``: its definition (attributes ``nursery_id`` and ``site_name``).
- ``POST requests.json|xml`` (form-encoded, or a JSON object): files a complaint through
  ``services.filing.file_complaint`` (source ``open311``); answers 201 with the tracking code as
  ``service_request_id``, formatted ``ABCD-EFGH-JKLM-NPQR`` (look-ups take it with or without
  the dashes, in any case).
- ``GET requests/<code>.json|xml``: the status of one complaint by its tracking code (rate-limited,
  the same counter as the tracking page). A handler may also read ``case-<id>`` with a bearer token.
- ``GET requests.json|xml``: the listing, for complaint handlers only (bearer token from
  ``POST /api/v1/auth/token``): the cases their department can see. The tracking code cannot be
  recovered from its stored hash, so listed cases are identified as ``case-<id>``.

Confidentiality: no response carries the complainant's name, phone, e-mail or photos, nor the
description (which may name them) or their answers to requests for information; nothing here
logs request data. Errors use GeoReport's format, ``[{"code": 400, "description": "…"}]`` (XML:
``<errors><error>…``), with the description in Chinese. Times are ISO 8601 with the +08:00 offset
(stored times are China local time).

The enums it answers come from the domain: ``service_code`` is a category of the rules in force,
``status`` is ``open`` while the case is in one of ``models.OPEN_STATUSES`` (GEOREPORT_STATUS);
the OpenAPI description (``api_openapi.py``) is built from the same constants.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

import idempotency
from errors import DomainError, NotFound
from idempotency import services as idempotent
from maps.coords import in_china

from . import queries, rulebook
from .codes import format_code, normalise_code
from .limits import file_limit, lookup_limit, public_listing_limit
from .models import OPEN_STATUSES, STATUSES, Complaint
from .services import filing

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = ("json", "xml")
CHINA = timezone(timedelta(hours=8))
MAX_LISTED = 1000  # GeoReport: at most 1000 requests per listing
LIST_WINDOW = timedelta(days=90)  # GeoReport: a listing spans at most (and by default) 90 days
MAX_IDS = 100  # service_request_id values in one listing
KEYWORDS_SHOWN = 10
CASE_ID = re.compile(r"^case-([1-9][0-9]{0,9})$")
# Never stored: NUL and other C0 controls (PostgreSQL refuses NUL; XML 1.0 cannot carry them)
# and lone surrogates (a JSON body can smuggle them in; UTF-8 cannot encode them).
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CONTACT_FIELDS = ("first_name", "last_name", "phone", "email", "description")
# Kinds of public timeline entry written by the complainant: never shown as status notes.
COMPLAINANT_EVENTS = {"info_provided": "投诉人已补充材料，等待承办部门继续办理", "rated": None}
# services.filing.Filing field → the GeoReport field it came from, to name it in error descriptions
FIELD_NAMES = {
    "category": "service_code",
    "description": "description",
    "nursery_id": "attribute[nursery_id]",
    "site_name": "attribute[site_name]",
    "site": "lat/long",
    "site_address": "address_string",
    "name": "first_name/last_name",
    "phone": "phone",
    "email": "email",
}
# Our statuses → GeoReport's two; GEOREPORT_STATUSES is ("open", "closed").
GEOREPORT_STATUS = {s: "open" if s in OPEN_STATUSES else "closed" for s in STATUSES}
GEOREPORT_STATUSES = tuple(dict.fromkeys(GEOREPORT_STATUS.values()))
HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录（缺少或无效的访问令牌）",
    403: "当前账号无权执行此操作",
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    413: "请求体过大",
    415: "不支持的请求体格式，请以表单或 JSON 提交",
}


# --- output -----------------------------------------------------------------------------------


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound("unknown_format", "不支持的格式：请使用 .json 或 .xml")
    return fmt


def _request_format() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


def _xml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return BAD_CHARS.sub("", str(value))


SINGULAR = {"attributes": "attribute", "values": "value"}


def _xml_add(parent: ET.Element, tag: str, value) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_add(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_add(node, SINGULAR.get(tag, "item"), item)
    else:
        node.text = _xml_text(value)


def _xml(root_tag: str, item_tag: str | None, data) -> bytes:
    """GeoReport XML: <root><item>…</item>…</root> for lists, <root>…</root> for one object;
    ElementTree escapes every text."""
    root = ET.Element(root_tag)
    if isinstance(data, list):
        for row in data:
            _xml_add(root, item_tag, row)
    else:
        for key, value in data.items():
            _xml_add(root, key, value)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def _render(data, fmt: str, root_tag: str, item_tag: str | None = None, status: int = 200):
    if fmt == "xml":
        return Response(
            _xml(root_tag, item_tag, data), status, content_type="application/xml; charset=utf-8"
        )
    response = jsonify(data)
    response.status_code = status
    return response


def error_response(status: int, description: str, fmt: str | None = None, headers=None):
    """A GeoReport error: [{"code", "description"}] (XML <errors><error>… for .xml paths).

    Also for app.py's handlers, for /open311/ paths no view of this blueprint matched."""
    body = [{"code": status, "description": description}]
    response = _render(body, fmt or _request_format(), "errors", "error", status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="open311"'
    for key, value in headers or ():
        response.headers[key] = value
    return response


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    message = exc.message
    if request.method == "POST" and exc.field in FIELD_NAMES:
        message = f"{FIELD_NAMES[exc.field]}：{message}"
    return error_response(exc.status, message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    if status == 429:
        what = "提交" if request.method == "POST" else "查询"
        message = f"{what}过于频繁，请稍后再试"
    else:
        message = HTTP_MESSAGES.get(status, "请求无法完成")
    keep = [(k, v) for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")]
    return error_response(status, message, headers=keep)


def _iso(value: datetime | None) -> str | None:
    """Stored times are China local (naive); GeoReport wants ISO 8601 with the offset."""
    return value.replace(tzinfo=CHINA).isoformat() if value else None


# --- the OpenAPI description -------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of the JSON variants (api_openapi.py)."""
    from .api_openapi import build_spec

    return jsonify(build_spec(list(rulebook.current_rules().categories)))


# --- services ---------------------------------------------------------------------------------


def _service(cat, rules) -> dict:
    return {
        "service_code": cat.code,
        "service_name": cat.label,
        "description": cat.description,
        "metadata": True,  # every service takes the nursery_id attribute
        "type": "realtime",
        "keywords": ",".join(cat.keywords[:KEYWORDS_SHOWN]),
        "group": rules.departments.get(cat.lead, cat.lead),  # the baseline lead department
    }


ATTRIBUTES = [
    {
        "variable": True,
        "code": "nursery_id",
        "datatype": "number",
        "required": False,
        "datatype_description": (
            "托育机构编号（正整数，可在 /api/v1/nurseries 查询）。投诉未登记的场所时不填，"
            "改为提供 lat 和 long，或 address_string（或两者）"
        ),
        "order": 1,
        "description": "被投诉的托育机构",
    },
    {
        "variable": True,
        "code": "site_name",
        "datatype": "string",
        "required": False,
        "datatype_description": "不超过 100 字；仅用于未登记的场所",
        "order": 2,
        "description": "场所名称（未登记的场所）",
    },
]


@bp.get("/services.<fmt>")
def list_services(fmt: str):
    fmt = _format(fmt)
    rules = rulebook.current_rules()
    rows = [_service(cat, rules) for cat in rules.categories.values()]
    return _render(rows, fmt, "services", "service")


@bp.get("/services/<service_code>.<fmt>")
def service_definition(service_code: str, fmt: str):
    fmt = _format(fmt)
    if service_code not in rulebook.current_rules().categories:
        raise NotFound("unknown_service", "未知的 service_code，可用的类别见 services.json")
    return _render(
        {"service_code": service_code, "attributes": ATTRIBUTES}, fmt, "service_definition"
    )


# --- POST requests ----------------------------------------------------------------------------


def _payload() -> dict:
    """The posted fields (form-encoded or a JSON object), attributes as "attribute[code]"."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested too deep for the parser: not a ValueError, so not silent
            data = None
        if not isinstance(data, dict):
            raise DomainError("invalid_json", "请求体须为 JSON 对象")
        fields = {}
        for key, value in data.items():
            if key == "attribute" and isinstance(value, dict):
                fields.update({f"attribute[{k}]": v for k, v in value.items()})
            else:
                fields[key] = value
    else:
        fields = request.form.to_dict(flat=True)
    for key, value in fields.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, str | int | float)
        ):
            raise DomainError("invalid_field", f"{key[:40]}：格式不正确")
        if isinstance(value, str):
            if BAD_CHARS.search(value):
                raise DomainError("invalid_characters", f"{key[:40]}：含有无效的控制字符")
            fields[key] = value.strip() or None
    return fields


def _text(fields: dict, key: str) -> str | None:
    value = fields.get(key)
    if value is not None and not isinstance(value, str):
        raise DomainError("invalid_field", f"{key}：须为文本")
    return value


def _number(fields: dict, key: str, low: float, high: float, label: str) -> float | None:
    raw = fields.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise DomainError("invalid_" + key, f"{key}：须为 WGS-84 {label}（十进制度数）")
    return value


def _nursery_id(fields: dict) -> int | None:
    raw = fields.get("attribute[nursery_id]")
    if raw is None:
        return None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        value = int(raw) if len(str(raw)) <= 12 else 0
        if value > 0:
            return value
    raise DomainError("invalid_nursery", "attribute[nursery_id]：须为托育机构编号（正整数）")


def _name(fields: dict) -> str | None:
    last, first = _text(fields, "last_name") or "", _text(fields, "first_name") or ""
    # Chinese order, family name first; Latin names keep a space between the parts.
    gap = " " if last and first and last[-1].isascii() and first[0].isascii() else ""
    return (last + gap + first) or None


def _filing(fields: dict, rules) -> filing.Filing:
    code = _text(fields, "service_code")
    if not code:
        raise DomainError("missing_service_code", "缺少 service_code：请选择投诉举报类别")
    if code not in rules.categories:
        raise DomainError("unknown_service", "未知的 service_code，可用的类别见 services.json")
    known = {f"attribute[{a['code']}]" for a in ATTRIBUTES}
    unknown = sorted(k for k in fields if k.startswith("attribute[") and k not in known)
    if unknown:
        raise DomainError("unknown_attribute", f"不支持的属性：{unknown[0][:60]}")
    lat = _number(fields, "lat", -90, 90, "纬度")
    lon = _number(fields, "long", -180, 180, "经度")
    if (lat is None) != (lon is None):
        raise DomainError("incomplete_location", "lat 和 long 须同时提供")
    if lat is not None and not in_china(lat, lon):
        raise DomainError("site_outside_china", "lat/long：场所位置不在中国境内，请重新选点")
    return filing.Filing(
        category=code,
        description=_text(fields, "description"),
        nursery_id=_nursery_id(fields),
        site_name=_text(fields, "attribute[site_name]"),
        site_address=_text(fields, "address_string"),
        lat=lat,
        lon=lon,
        name=_name(fields),
        phone=_text(fields, "phone"),
        email=_text(fields, "email"),
        source="open311",
    )


@bp.post("/requests.<fmt>")
@file_limit
def create_request(fmt: str):
    fmt = _format(fmt)
    if any(key in request.args for key in CONTACT_FIELDS):
        # A URL ends up in access logs: the complainant's words and contact stay in the body.
        raise DomainError(
            "fields_in_url", "description 和联系方式须放在请求体中提交，不能放在网址中"
        )
    rules = rulebook.current_rules()
    complaint_filing = _filing(_payload(), rules)

    def file():
        complaint, code = filing.file_complaint(complaint_filing)
        lead = rules.departments.get(complaint.lead_department, complaint.lead_department)
        urgent = "（紧急）" if complaint.urgent else ""
        notice = (
            f"投诉举报已提交，由{lead}牵头办理{urgent}，"
            f"应于 {complaint.accept_by:%Y-%m-%d} 前受理。"
            "请保存查询码（service_request_id），凭码查询办理进度。"
        )
        row = {"service_request_id": format_code(code), "service_notice": notice}
        row["account_id"] = None
        return 201, [row]

    key = idempotency.key_from_request()
    if key is None:
        status, rows = file()
        return _render(rows, fmt, "service_requests", "request", status)
    # Anonymous posts share one scope: the key, random and known only to the client, is the
    # secret (the stored answer holds a tracking code, readable only with the key).
    status, rows, replayed = idempotent.once("open311", key, idempotency.fingerprint(), file)
    response = _render(rows, fmt, "service_requests", "request", status)
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return response


# --- GET requests -----------------------------------------------------------------------------


def _status_notes(c: Complaint) -> str | None:
    for event in reversed(c.public_events()):
        if event.kind not in COMPLAINANT_EVENTS:
            return event.text
        if COMPLAINANT_EVENTS[event.kind]:
            return COMPLAINANT_EVENTS[event.kind]
    return None


def _clean(text: str | None) -> str | None:
    """Free text written elsewhere (handlers' notes, addresses), without characters that XML
    cannot carry and UTF-8 cannot encode."""
    return BAD_CHARS.sub("", text) if text else text


PROVISIONAL = "（期限暂定：该年节假日安排尚未载入，暂按周一至周五推算）"


def _notice(c: Complaint) -> str:
    urgent = "紧急。" if c.urgent else ""
    provisional = PROVISIONAL if c.deadlines_provisional else ""
    if c.status == "submitted":
        return f"{urgent}待受理，应于 {c.accept_by:%Y-%m-%d} 前受理{provisional}"
    if c.is_open:
        extended = f"（已延长 {c.regime.days(c.extended_days)}）" if c.extended_days else ""
        return (
            f"{urgent}{STATUSES[c.status]}，办理期限至 {c.conclude_by:%Y-%m-%d}{extended}"
            f"{provisional}"
        )
    return STATUSES[c.status]


def _request_row(c: Complaint, request_id: str, rules, public: bool = False) -> dict:
    """What GeoReport shows of a case. Deliberately left out: the description (it may name the
    complainant) and every contact detail. The public listing (`public`) also leaves out the
    notes and the address, and gives the location to about a kilometre: a case is an allegation
    until it is concluded, and an unlicensed site may be someone's home."""
    category = rules.categories.get(c.category)
    return {
        "service_request_id": request_id,
        "status": GEOREPORT_STATUS[c.status],
        "status_notes": None if public else _clean(_status_notes(c)),
        "service_name": category.label if category else c.category,
        "service_code": c.category,
        "agency_responsible": rules.departments.get(c.lead_department, c.lead_department),
        "agency_code": c.lead_department,
        "service_notice": _notice(c),
        "requested_datetime": _iso(c.filed_at),
        "updated_datetime": _iso(c.updated_at),
        "expected_datetime": _iso(c.conclude_by) if c.is_open else None,
        "address": None if public else _clean(c.site_address),
        "lat": _coarse(c.lat) if public else c.lat,
        "long": _coarse(c.lon) if public else c.lon,
        "media_url": None,
        "deadline_regime": _regime(c),  # an addition to GeoReport v2
    }


def _regime(c: Complaint) -> dict:
    """The deadline regime the case's deadlines follow, and whether they are provisional."""
    regime = c.regime
    return {
        "code": regime.code,
        "label": regime.label,
        "source": regime.source,
        "unit": regime.unit,
        "provisional": c.deadlines_provisional,
    }


PUBLIC_PLACES = 2  # decimals of lat/long in the public listing: about a kilometre


def _coarse(degrees: float | None) -> float | None:
    return None if degrees is None else round(degrees, PUBLIC_PLACES)


def _handler():
    """The complaint handler the bearer token belongs to; 401 without one, 403 for others."""
    from accounts.access import bearer_user

    user = bearer_user()
    if user is None:
        raise DomainError("unauthorized", HTTP_MESSAGES[401], status=401)
    if user.role != "handler" or not user.department_code:
        raise DomainError("forbidden", "只有投诉举报承办部门的账号可以查看投诉列表", status=403)
    return user


def _case_id(raw: str) -> int | None:
    match = CASE_ID.match(raw)
    return int(match.group(1)) if match else None


@bp.get("/requests/<service_request_id>.<fmt>")
@lookup_limit
def get_request(service_request_id: str, fmt: str):
    fmt = _format(fmt)
    case_id = _case_id(service_request_id)
    if case_id is not None:  # a handler's listing id
        c = queries.case_for(_handler(), case_id)  # NotFound unless the handler's to see
        request_id = service_request_id
    else:
        c = queries.by_code(service_request_id)
        request_id = format_code(normalise_code(service_request_id))
    return _render(
        [_request_row(c, request_id, rulebook.current_rules())], fmt, "service_requests", "request"
    )


def _list_arg(name: str) -> list[str]:
    raw = request.args.get(name, "")
    return [part.strip() for part in raw.split(",") if part.strip()]


def _datetime_arg(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            "invalid_" + name, f"{name}：须为 ISO 8601 时间，如 2026-11-01T00:00:00+08:00"
        ) from None
    try:  # near year 1 or 9999 the shift to China time can leave datetime's range
        if value.tzinfo is not None:
            value = value.astimezone(CHINA).replace(tzinfo=None)
        if name == "end_date" and len(raw) == 10:  # a date alone: the whole of that day
            value += timedelta(days=1, microseconds=-1)
    except OverflowError:
        raise DomainError("invalid_" + name, f"{name}：超出可查询的时间范围") from None
    return value


def _window() -> tuple[datetime, datetime]:
    start, end = _datetime_arg("start_date"), _datetime_arg("end_date")
    if start is None and end is None:
        end = datetime.now()
    try:  # the default 90 days before end_date or after start_date may leave datetime's range
        if start is None:
            start = end - LIST_WINDOW
        if end is None:
            end = start + LIST_WINDOW
    except OverflowError:
        raise DomainError("invalid_dates", "start_date 或 end_date 超出可查询的时间范围") from None
    if start > end:
        raise DomainError("invalid_dates", "start_date 不能晚于 end_date")
    if end - start > LIST_WINDOW:
        raise DomainError("invalid_dates", "start_date 与 end_date 的跨度不能超过 90 天")
    return start, end


def _ids_wanted(raw_ids: list[str]) -> set[int]:
    if len(raw_ids) > MAX_IDS:
        raise DomainError("too_many_ids", f"service_request_id 一次最多 {MAX_IDS} 个")
    wanted = set()
    for raw in raw_ids:
        case_id = _case_id(raw)
        if case_id is None:
            try:
                case_id = queries.by_code(raw).id
            except NotFound:
                continue
        wanted.add(case_id)
    return wanted


@bp.get("/requests.<fmt>")
@public_listing_limit
def list_requests(fmt: str):
    """The handler's listing with a bearer token; without one, the public listing."""
    fmt = _format(fmt)
    user = _handler() if "Authorization" in request.headers else None
    rules = rulebook.current_rules()
    raw_ids = _list_arg("service_request_id")
    codes = set(_list_arg("service_code"))
    if codes - set(rules.categories):
        raise DomainError("unknown_service", "未知的 service_code，可用的类别见 services.json")
    statuses = set(_list_arg("status"))
    if statuses - set(GEOREPORT_STATUSES):
        allowed = " 或 ".join(GEOREPORT_STATUSES)
        raise DomainError("invalid_status", f"status 只能是 {allowed}（可用逗号分隔）")
    start, end = _window()
    wanted = _ids_wanted(raw_ids) if raw_ids else None
    if user is None:
        cases = queries.public_listing(start, end, wanted, codes, statuses, MAX_LISTED)
        rows = [_request_row(c, f"case-{c.id}", rules, public=True) for c in cases]
        return _render(rows, fmt, "service_requests", "request")
    # GeoReport: service_request_id overrides the other filters, the date window among them.
    window = {"filed_from": start, "filed_to": end} if wanted is None else {}
    filt = queries.QueueFilter(status="all", **window)
    rows = []
    for c, _role, _late in queries.queue(user, filt, with_events=True):
        if wanted is not None:
            if c.id not in wanted:
                continue
        elif (codes and c.category not in codes) or (
            statuses and GEOREPORT_STATUS[c.status] not in statuses
        ):
            continue
        rows.append(_request_row(c, f"case-{c.id}", rules))
        if len(rows) == MAX_LISTED:
            break
    response = _render(rows, fmt, "service_requests", "request")
    # a department's own cases: never kept by a shared cache (the public listing may be)
    response.headers["Cache-Control"] = "private, no-store"
    return response
