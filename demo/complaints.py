"""Demo complaints for the fictional district: cases in every state, filed through the same
use cases the public and handlers use, so the demo handlers find work in their queues.

One case has a fixed, published tracking code (DEMO_CODE, README) so a visitor can try the
tracking page; every other code is random and known to nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from accounts.models import User
from complaints.codes import code_hash
from complaints.services import filing, handling
from database import use_case
from extensions import db
from maps.models import Nursery

DEMO_CODE = "DEMOYXQ2TRACK267"  # shown as DEMO-YXQ2-TRAC-K267

# (days ago, category, description, actions by the lead's demo handler)
CASES = [
    (2, "food_safety", "孩子在园里吃了午饭后回家上吐下泻，同班好几个孩子拉肚子。", []),
    (1, "care_quality", "老师态度很差，孩子哭了也不理，还把孩子关在小黑屋。", []),
    (20, "fees", "保育费一学期涨了800元，没有提前告知家长。", []),
    (12, "security", "接送时门卫不核对身份，陌生人也能随便进出。", ["accept"]),
    (9, "building_safety", "活动室天花板墙皮脱落，差点砸到孩子。", ["accept", "ask"]),
    (30, "hygiene", "班里有孩子得了手足口病，园里没通知家长，也没消毒。", ["accept", "resolve"]),
    (40, "fire_safety", "楼道里堆满杂物，安全出口被锁住了。", ["accept", "extend"]),
    (15, "staffing", "一个老师带十几个一岁的孩子，配比明显不够。", ["accept", "resolve", "rate"]),
]


def _handler(department: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == f"handler-{department}"))


def load_cases(now: datetime) -> int:
    """File the demo cases against filed nurseries (the staff nurseries first)."""
    nurseries = db.session.scalars(
        select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.id).limit(8)
    ).all()
    for i, (days_ago, category, text, actions) in enumerate(CASES):
        filed = now - timedelta(days=days_ago, hours=3)
        nursery = nurseries[i % len(nurseries)]
        complaint, _code = filing.file_complaint(
            filing.Filing(
                category=category,
                description=text,
                nursery_id=nursery.id,
                name="演示投诉人" if i % 2 else None,
                phone="13800000000" if i % 2 else None,
            ),
            now=filed,
        )
        if i == 0:  # the published demo code
            with use_case():  # joins the demo load's use case
                complaint.code_hash = code_hash(DEMO_CODE)
        lead = _handler(complaint.lead_department)
        step = filed
        for action in actions:
            step += timedelta(days=1)
            if action == "accept":
                handling.accept(lead, complaint.id, now=step)
            elif action == "ask":
                handling.request_info(lead, complaint.id, "请补充事发的具体日期和班级。", now=step)
            elif action == "extend":
                handling.extend(lead, complaint.id, 10, "需会同应急管理部门现场复查。", now=step)
            elif action == "resolve":
                handling.resolve(
                    lead, complaint.id, "经现场核查，已责令机构限期整改并复查合格。", now=step
                )
            elif action == "rate":
                filing.rate(_code, "satisfied", now=step)
    return len(CASES)
