"""The demo district's family ratings (issue 12): ratings with approved comments and the
nurseries' replies at the staff nurseries, one comment waiting in the admin's queue, and the
demo parent `parent4`, whose child has a started confirmed enrolment at nursery1's nursery and
has not rated yet (so a visitor can try rating, then approve it as `admin`).

Everything goes through the public use cases (they join load_demo's transaction).
"""

import random
from datetime import datetime

from sqlalchemy import select

from accounts.models import User
from booking.models import Booking, Child
from extensions import db
from ratings import services

RATING_PARENT = "parent4"  # in demo.district.DEMO_ACCOUNTS
COMMENTS = [  # (comment, the nursery's reply or None)
    (
        "老师很有耐心，孩子每天都愿意来，午睡和换尿布都照顾得很细。",
        "感谢您的认可，我们会继续用心照护每个孩子。",
    ),
    (
        "饭菜每周公示，荤素搭配，孩子回家说好吃。希望户外活动再多一点。",
        "谢谢建议！下学期起每天上下午各安排一次户外活动。",
    ),
    ("每天在群里发照片和当天的吃饭睡觉情况，家长很放心。", "感谢信任，家园沟通是我们的日常功课。"),
    ("入园时门禁登记很严格，接送必须刷卡，安全方面做得好。", "安全是第一位的，感谢您的配合。"),
    ("价格在周边算合理，普惠托位很难得。", None),
    (
        "整体不错，就是早上开门时间能再早一点就好了。",
        "已收到，我们正在评估 7:30 开园的可行性。",
    ),
]
PENDING_COMMENT = "孩子入托三个月，语言进步很大，老师会定期和我们沟通成长情况。"


def _staff(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _started(nursery_id: int, today, limit: int) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.nursery_id == nursery_id,
                Booking.status == "confirmed",
                Booking.start_date <= today,
            )
            .order_by(Booking.id)
            .limit(limit)
        )
    )


def load_ratings(now: datetime, seed: int = 2026) -> int:
    """Add the demo ratings inside load_demo's transaction; returns how many were added."""
    rng = random.Random(f"ratings-{seed}")
    today = now.date()
    admin = _staff("admin")
    added = 0
    hand_over = None
    for staff_name, n_ratings in (("nursery1", 6), ("nursery2", 4), ("nursery3", 3)):
        staff = _staff(staff_name)
        bookings = _started(staff.nursery_id, today, n_ratings + 1)
        if staff_name == "nursery1" and bookings:
            hand_over = bookings.pop()  # kept for parent4: started, confirmed, not rated
        for k, b in enumerate(bookings[:n_ratings]):
            comment, reply = COMMENTS[(k + added) % len(COMMENTS)]
            base = rng.choice((4, 4, 5, 5, 3))
            stars = {
                a: max(1, min(5, base + rng.choice((-1, 0, 0, 1))))
                for a in ("safety", "care", "food", "communication", "value")
            }
            last = staff_name == "nursery1" and k == len(bookings[:n_ratings]) - 1
            rating = services.rate(
                b.parent_id, b.nursery_id, b.child_id, stars,
                PENDING_COMMENT if last else (comment if k % 3 != 2 else None),
                today=today, now=now,
            )  # fmt: skip
            added += 1
            if last or rating.comment is None:
                continue  # the last stays pending: the admin's queue has one to review
            services.moderate(admin.id, rating.id, "approve", now=now)
            if reply:
                services.reply(staff.id, rating.id, reply, now=now)
    if hand_over is not None:
        # parent4 takes over one fictional family's child and enrolment (the demo families
        # cannot log in), so the counts of families, children and bookings stay as they are.
        parent = _staff(RATING_PARENT)
        child = db.session.get(Child, hand_over.child_id)
        child.parent_id = parent.id
        hand_over.parent_id = parent.id
    return added
