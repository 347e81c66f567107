"""The public's use cases (web form and Open311): file a complaint, answer a request for
information, rate the result. The complainant is known only by the tracking code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select

import audit
from database import use_case
from errors import DomainError
from extensions import db
from maps.coords import in_china
from maps.domain import is_public
from maps.geo import distances_m
from maps.models import Community, Nursery, Street

from .. import deadlines, modelbook, photos, rulebook
from ..codes import code_hash, new_code
from ..models import RATINGS, Complaint, ComplaintDepartment, ComplaintPhoto, check_rating
from ..queries import by_code
from ..routing import STREET_SEARCH_M, route
from ..validation import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_SITE_NAME,
    clean_email,
    clean_phone,
    clean_text,
)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


@dataclass
class Filing:
    """What the public form or an Open311 client sends (coordinates in WGS-84)."""

    category: str | None
    description: str | None
    nursery_id: int | None = None
    site_name: str | None = None
    site_address: str | None = None
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    photos: list[bytes] = field(default_factory=list)
    source: str = "web"


def _street_named_in(address: str) -> int | None:
    """The street (镇街) an address names, for a site given by its address alone: the longest
    street name found in it (so "南坪街道" wins over a shorter name it contains)."""
    found = [
        (len(name), street_id)
        for street_id, name in db.session.execute(select(Street.id, Street.name))
        if len(name) >= 2 and name in address
    ]
    return max(found)[1] if found else None


def _street_at(lat: float, lon: float) -> int | None:
    """The street of the nearest community within STREET_SEARCH_M (属地 of an unlisted site)."""
    deg = STREET_SEARCH_M / 111_000
    rows = db.session.execute(
        select(Community.lat, Community.lon, Community.street_id).where(
            Community.street_id.is_not(None),
            Community.lat.between(lat - deg, lat + deg),
            Community.lon.between(lon - 2 * deg, lon + 2 * deg),
        )
    ).all()
    if not rows:
        return None
    d = distances_m(lat, lon, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    best = int(np.argmin(d))
    return rows[best][2] if d[best] <= STREET_SEARCH_M else None


def _check_filing(f: Filing):
    in_force = rulebook.current_rules()
    if not f.category:
        raise DomainError("missing_category", "请选择投诉举报的类别", field="category")
    if not isinstance(f.category, str) or f.category not in in_force.categories:
        raise DomainError("invalid_category", "未知的投诉举报类别", field="category")
    description = clean_text(f.description, "description", "问题描述", limit=MAX_DESCRIPTION)
    name = clean_text(f.name, "name", "姓名", required=False, limit=MAX_NAME)
    phone = clean_phone(f.phone)
    email = clean_email(f.email)
    if len(f.photos) > photos.MAX_PHOTOS:
        raise DomainError("too_many_photos", "最多上传 3 张照片", field="photos")
    cleaned = [photos.clean(p, i + 1) for i, p in enumerate(f.photos)]

    nursery = None
    site_name = clean_text(
        f.site_name, "site_name", "场所名称", required=False, limit=MAX_SITE_NAME
    )
    address = clean_text(f.site_address, "site_address", "地址", required=False, limit=MAX_ADDRESS)
    lat, lon = f.lat, f.lon
    if f.nursery_id is not None:
        if isinstance(f.nursery_id, bool) or not isinstance(f.nursery_id, int):
            raise DomainError("invalid_nursery", "托育机构编号不正确", field="nursery_id")
        nursery = db.session.get(Nursery, f.nursery_id) if 0 < f.nursery_id < 2**31 else None
        if nursery is None or not nursery.filing_no:
            raise DomainError(
                "unknown_nursery",
                "未找到该托育机构；未登记的场所请在地图上选点并填写地址",
                field="nursery_id",
            )
        lat, lon = nursery.lat, nursery.lon
    else:
        # An unlisted site is located by a point on the map, by its address, or both
        # (GeoReport v2 takes lat/long or address_string).
        if (lat is None) != (lon is None) or (lat is None and not address):
            raise DomainError(
                "missing_site",
                "请选择托育机构，或在地图上标出场所位置、填写场所地址（至少其一）",
                field="site",
            )
        if lat is not None:
            try:
                inside = in_china(lat, lon)
            except ValueError:
                inside = False
            if not inside:
                raise DomainError(
                    "site_outside_china", "场所位置不在中国境内，请重新选点", field="site"
                )
    return in_force, description, name, phone, email, cleaned, nursery, site_name, address, lat, lon


def file_complaint(f: Filing, now: datetime | None = None) -> tuple[Complaint, str]:
    """Store and route a complaint; returns it with its tracking code (shown once, never stored)."""
    now = _now(now)
    (in_force, description, name, phone, email, cleaned, nursery, site_name, address, lat, lon) = (
        _check_filing(f)
    )
    routing = route(
        f.category,
        nursery.kind if nursery else None,
        bool(nursery and is_public(nursery.kind)),  # 公建民营 counts as 公办
        bool(nursery and nursery.inclusive),
        description,
        in_force,
        modelbook.current_model(),
    )
    # the case keeps the regime it is filed under (its category's, else its lead's)
    regime = rulebook.current_regimes().for_case(routing.lead, routing.category_used)
    due = deadlines.deadlines(now, routing.urgent, regime=regime)
    code = new_code()
    with use_case():
        if nursery:
            street_id = nursery.street_id
        else:
            street_id = _street_at(lat, lon) if lat is not None else _street_named_in(address)
        if street_id is None:  # no street answers for this site: no one informed as "镇街"
            routing = routing.without_street(in_force.departments)
        c = Complaint(
            code_hash=code_hash(code),
            source=f.source,
            filed_at=now,
            updated_at=now,
            category_chosen=f.category,
            category=routing.category_used,
            description=description,
            nursery_id=nursery.id if nursery else None,
            site_name=None if nursery else site_name,
            site_address=address if not nursery else nursery.address,
            lat=lat,
            lon=lon,
            street_id=street_id,
            lead_department=routing.lead,
            urgent=routing.urgent,
            awaiting_category=routing.awaiting_category,
            status="submitted",
            accept_by=due.accept_by,
            conclude_by=due.conclude_by,
            deadline_regime=regime.code,
            routing_reasons=json.dumps(routing.texts, ensure_ascii=False),
            complainant_name=name,
            complainant_phone=phone,
            complainant_email=email,
        )
        roles = [(routing.lead, "lead")] + [(d, "co") for d in routing.co_handlers]
        roles += [(d, "informed") for d in routing.informed]
        c.departments.extend(ComplaintDepartment(department=d, role=r) for d, r in roles)
        c.photos.extend(
            ComplaintPhoto(content_type=p.content_type, width=p.width, height=p.height, data=p.data)
            for p in cleaned
        )
        lead = in_force.departments.get(routing.lead, routing.lead)
        urgent = "（紧急）" if c.urgent else ""
        c.add_event("filed", now, True, f"投诉举报已提交，由{lead}牵头办理{urgent}")
        db.session.add(c)
        db.session.flush()
        audit.record(None, "complaint_filed", "complaint", c.id, at=now)
    return c, code


def answer_info(raw_code, answer, now: datetime | None = None) -> Complaint:
    """The complainant answers a request for more information on the tracking page."""
    now = _now(now)
    answer = clean_text(answer, "answer", "补充说明")
    with use_case():
        c = by_code(raw_code)
        c.provide_info()
        c.add_event("info_provided", now, True, answer)
        audit.record(None, "complaint_info_provided", "complaint", c.id, at=now)
    return c


def rate(raw_code, rating, now: datetime | None = None) -> Complaint:
    """满意 / 基本满意 / 不满意 after resolution; 不满意 within 30 days reopens for review."""
    now = _now(now)
    check_rating(rating)
    with use_case():
        c = by_code(raw_code)
        reopened = c.rate(rating, now)
        c.add_event("rated", now, True, f"评价：{RATINGS[rating]}")
        if reopened:
            c.add_event(
                "reopened",
                now,
                True,
                f"投诉人对办理结果不满意，案件重新进入复查，复查期限至 {c.conclude_by:%Y-%m-%d}",
            )
        audit.record(None, "complaint_rated", "complaint", c.id, rating, at=now)
    return c
