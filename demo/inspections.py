"""Demo inspections (issue 12): the departments' inspections of demo nurseries over the past
year — every kind and result, one rectification still open (and one overdue), one closed, one
nursery suspended — the verdicts on the concluded demo complaints, and staff lists for the filed
nurseries (most staff certified, a few nurseries without a list) so 持证率 shows a real figure.

Written through the public use cases (inspections.services), which join load_demo's
transaction. Try it as handler-fire / handler-market / handler-health / handler-street
(password demo.district.HANDLER_PASSWORD), and as nursery1 in the portal's 监督检查.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from accounts.models import User
from complaints.models import Complaint
from extensions import db
from inspections import services
from maps.models import Nursery, NurseryStaff

STAFF_ROLES = ("caregiver", "infant_carer", "health_worker")
UNREPORTED_EVERY = 9  # every 9th filed nursery has sent no staff list yet
CERTIFIED_SHARE = 0.86

# (nursery index among the staff nurseries then the others, department, kind, days ago,
#  result, rectify in days (None), findings, follow-ups [(days ago, note)], closed days ago)
PLAN = [
    (0, "fire", "fire", 300, "pass", None, "疏散通道畅通，灭火器在有效期内。", [], None),
    (0, "health", "health", 120, "pass", None, "晨午检、消毒记录完整。", [], None),
    (
        0,
        "market",
        "food",
        45,
        "rectify",
        14,
        "食品留样记录缺 3 天，冷藏柜温度记录不全。",
        [(38, "机构已提交整改报告，补充了留样登记表。")],
        28,
    ),
    (0, "street", "safety", 200, "pass", None, "门卫值守、监控运行正常。", [], None),
    (
        1,
        "fire",
        "fire",
        12,
        "rectify",
        30,
        "二楼安全出口指示灯损坏，一处疏散门上锁。",
        [(5, "已电话督促，机构称指示灯已订购。")],
        None,
    ),
    (1, "housing", "building", 260, "pass", None, "房屋结构安全，无违规改建。", [], None),
    (
        2,
        "emergency",
        "safety",
        70,
        "rectify",
        30,
        "活动室插座未加保护盖，户外滑梯护栏松动。",
        [(35, "复查时滑梯已修复，插座保护盖仍未安装，继续督促。")],
        None,
    ),
    (2, "market", "food", 150, "pass", None, "食品经营许可证在有效期内。", [], None),
    (
        3,
        "health",
        "health",
        6,
        "suspend",
        30,
        "发生诺如病毒聚集性疫情，消毒隔离措施未落实。",
        [(3, "已督导终末消毒，待疾控评估。")],
        None,
    ),
    (4, "fire", "fire", 90, "pass", None, "消防设施完好。", [], None),
]
VERDICTS = [("substantiated", "rectified"), ("partly", "warned"), ("unsubstantiated", None)]


def _handler(department: str) -> User:
    return db.session.scalar(select(User).where(User.username == f"handler-{department}"))


def _staff_lists(nurseries: list[Nursery], rng: random.Random) -> int:
    rows = []
    for k, n in enumerate(nurseries):
        if k % UNREPORTED_EVERY == UNREPORTED_EVERY - 1:
            continue  # not reported: counted in neither part of 持证率
        carers = sum(c.carers for c in n.classes) or 2
        for j in range(carers + 1):
            role = "health_worker" if j == carers else STAFF_ROLES[j % 2]
            certified = rng.random() < CERTIFIED_SHARE
            rows.append(
                NurseryStaff(
                    nursery_id=n.id,
                    name=f"演示员工{n.id:03d}-{j + 1}",
                    role=role,
                    certificate_no=f"DEMO{n.id:04d}{j + 1:02d}" if certified else None,
                )
            )
    db.session.add_all(rows)
    return len(rows)


def load_inspections(now: datetime, staff_nursery_ids: list[int]) -> dict:
    """Inspections, follow-ups, closings and verdicts; staff lists. Returns the counts."""
    filed = db.session.scalars(
        select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.id)
    ).all()
    staff_list = _staff_lists(filed, random.Random(2026))
    by_id = {n.id: n for n in filed}
    # the staff nurseries first (their portals show the records), then others from the end
    order = [by_id[i] for i in staff_nursery_ids] + [
        n for n in reversed(filed) if n.id not in staff_nursery_ids
    ]
    count = 0
    for index, dept, kind, ago, result, rectify, findings, follow, closed in PLAN:
        nursery = order[index]
        user = _handler(dept)
        day = now.date() - timedelta(days=ago)
        at = now - timedelta(days=ago)
        i = services.record(
            user,
            nursery.id,
            kind,
            day,
            findings,
            result,
            day + timedelta(days=rectify) if rectify else None,
            now=at.replace(hour=10, minute=0, second=0),
        )
        for f_ago, note in follow:
            services.follow_up(user, i.id, note, now=now - timedelta(days=f_ago))
        if closed is not None:
            services.close(
                user,
                i.id,
                now.date() - timedelta(days=closed),
                "复查：留样和温度记录已补齐，整改到位。",
                now=now - timedelta(days=closed),
            )
        count += 1
    verdicts = 0
    concluded = db.session.scalars(
        select(Complaint)
        .where(Complaint.status.in_(("resolved", "closed")), Complaint.nursery_id.is_not(None))
        .order_by(Complaint.id)
    ).all()
    for c in concluded:
        if verdicts == len(VERDICTS) or c.lead_department == "street":
            continue
        verdict, outcome = VERDICTS[verdicts]
        services.record_verdict(_handler(c.lead_department), c.id, verdict, outcome, now=now)
        verdicts += 1
    return {"inspections": count, "staff": staff_list, "verdicts": verdicts}
