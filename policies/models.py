"""The policy table: one row per policy a family may look up (docs/policies.md)."""

import json
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

from .document import CATEGORIES, PolicyData


class Policy(db.Model):
    """A policy as data: who it concerns, its amount rule (JSON, policies/document.py) and its
    source. Hidden policies stay for the record but are not shown to the public."""

    __tablename__ = "policies"
    __table_args__ = (
        CheckConstraint(
            "category IN (" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")",
            name="ck_policy_category",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(100))
    min_age_months: Mapped[int | None] = mapped_column(Integer)
    max_age_months: Mapped[int | None] = mapped_column(Integer)
    min_children: Mapped[int | None] = mapped_column(Integer)
    inclusive_required: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_rule: Mapped[str] = mapped_column(Text)  # JSON
    source_title: Mapped[str] = mapped_column(String(200))
    source_date: Mapped[date | None] = mapped_column(Date)
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def data(self) -> PolicyData:
        """The row as the plain rules read it."""
        return PolicyData(
            code=self.code,
            title=self.title,
            category=self.category,
            summary=self.summary,
            body=self.body,
            region=self.region,
            min_age_months=self.min_age_months,
            max_age_months=self.max_age_months,
            min_children=self.min_children,
            inclusive_required=self.inclusive_required,
            amount_rule=json.loads(self.amount_rule),
            source_title=self.source_title,
            source_date=self.source_date,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            hidden=self.hidden,
        )

    def assign(self, d: PolicyData) -> None:
        """Copy a checked policy's fields onto the row (the caller sets updated_at/by)."""
        for name in PolicyData.__dataclass_fields__:
            value = getattr(d, name)
            if name == "amount_rule":
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            setattr(self, name, value)
