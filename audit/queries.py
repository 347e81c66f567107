"""Reading the audit log: one page of entries, newest first, optionally of one action."""

from dataclasses import dataclass

from sqlalchemy import func, select

from accounts.models import User
from extensions import db

from .models import AuditEntry

PAGE_SIZE = 50

# 审计事项: the label of each action the service records (an action not listed shows its code).
ACTION_LABELS = {
    "account.login": "登录",
    "account.login_failed": "登录失败",
    "account.role_changed": "角色变更",
    "account.export": "导出本人数据",
    "account.deleted": "注销账号",
    "consent.registration": "同意儿童信息规则（登记孩子）",
    "consent.nursery": "同意向机构提供孩子信息",
    "child.deleted": "删除孩子信息",
    "child.health_notes_viewed": "机构查阅健康备注",
    "privacy.purge": "儿童信息到期匿名化",
    "booking.confirm": "确认预约",
    "booking.decline": "婉拒预约",
    "waitlist.move_to_front": "候补调整到首位",
    "complaint_contact_revealed": "查看投诉人联系方式",
    "complaint_transfer_requested": "申请转办",
    "complaint_transfer_accepted": "接收转办",
    "complaint_transfer_declined": "退回转办",
    "complaint_closed": "关闭案件",
    "complaint_reopened": "重新办理",
    "policy.create": "添加政策",
    "policy.update": "修改政策",
    "policy.hide": "隐藏政策",
    "policy.show": "恢复显示政策",
    "policies.import": "导入政策文件",
}


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int
    pages: int


def actions() -> list[str]:
    """The actions on file, for the filter (the labelled ones first)."""
    on_file = set(db.session.scalars(select(AuditEntry.action).distinct()))
    return [a for a in ACTION_LABELS if a in on_file] + sorted(on_file - set(ACTION_LABELS))


def entries(action: str | None, page: int) -> Page:
    """One page of entries (newest first), with the acting account's username."""
    where = [AuditEntry.action == action] if action else []
    total = db.session.scalar(select(func.count(AuditEntry.id)).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    rows = db.session.execute(
        select(AuditEntry, User.username)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return Page(
        [
            {
                "id": e.id,
                "at": e.at,
                "actor": username or ("系统（命令行）" if e.actor_id is None else f"#{e.actor_id}"),
                "action": e.action,
                "label": ACTION_LABELS.get(e.action, e.action),
                "subject": f"{e.subject_type} #{e.subject_id}",
                "reason": e.reason,
                "ip": e.ip,
            }
            for e, username in rows
        ],
        total,
        page,
        pages,
    )
