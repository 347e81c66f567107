"""Reading a user's inbox."""

from sqlalchemy import select

from extensions import db

from .models import Notification


def inbox(user_id: int, limit: int = 50) -> list[Notification]:
    """The user's newest messages first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
