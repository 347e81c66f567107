"""The district admin's booking data: the operating subsidies (运营补贴) paid to inclusive
nurseries, replaced whole from a file."""

from sqlalchemy import delete

import audit
from database import use_case
from extensions import db

from ..models import Subsidy


def replace_subsidies(rows: list[tuple[str, int, str]], actor_id: int | None, reason: str) -> int:
    """Put a district's operating subsidies (class type, yuan per child per year, source) in
    force in place of the current ones, audited. Bookings keep the amount recorded when made."""
    with use_case():
        db.session.execute(delete(Subsidy))
        db.session.add_all(
            Subsidy(class_type=c, yuan_per_year=yuan, source=source) for c, yuan, source in rows
        )
        audit.record(actor_id, "subsidies.replace", "subsidies", 0, reason[:200] or None)
    return len(rows)
