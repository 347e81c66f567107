"""The admins' use case on the routing rules: save a new version (every version is kept)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select

import audit
from database import use_case
from errors import Conflict, DomainError
from extensions import db

from .. import rulebook
from ..models import Complaint, RulesVersion
from ..regimes import check_kept


def save(
    admin_id: int | None,
    data: dict,
    reason: str = "",
    now: datetime | None = None,
    based_on: int | None = None,
) -> int:
    """Validate and save a new version of the rules; returns its id.

    `based_on`: the version the admin edited; when another admin saved since, the save is
    refused (409) rather than silently overwriting their change. Checked under the write lock,
    as is that no deadline regime cases were filed under is removed or recounted (400).
    """
    new_rules = rulebook.validate(data)
    with use_case():
        newest = db.session.scalar(select(func.max(RulesVersion.id))) or 0
        if based_on is not None and newest != based_on:
            raise Conflict(
                "rules_changed",
                "分办规则已被他人修改（版本已更新），请刷新页面后在最新规则上修改",
            )
        used = db.session.scalars(select(Complaint.deadline_regime).distinct())
        try:
            check_kept(rulebook.find_regime, rulebook.regimes_of(data, new_rules), set(used))
        except ValueError as exc:
            raise DomainError("rules_invalid", f"规则有误，未保存：{exc}") from None
        version = RulesVersion(
            saved_at=(now or datetime.now()).replace(microsecond=0),
            saved_by=admin_id,
            data=json.dumps(data, ensure_ascii=False, indent=2),
        )
        db.session.add(version)
        db.session.flush()
        rulebook.forget_request_copy()  # the request now sees its own save
        audit.record(
            admin_id,
            "complaint_rules_saved",
            "complaint_rules",
            version.id,
            reason or None,
            at=version.saved_at,
        )
    return version.id
