"""Demo filing applications (机构"网上提交及时办"): work for the demo admin's review queue.

`operator1` has a new nursery's application waiting for review (the demo `admin` can approve
it, and the nursery appears on the map at once); `operator2` has one returned for correction,
with the commission's reasons, to correct and resubmit. Filed through the same use cases the
pages call, inside load_demo's transaction. The documents are placeholders (a one-page PDF
and a plain picture).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from accounts.models import User
from extensions import db
from filing import rules, services
from maps.models import Street
from maps.standards import ClassSpec

DEMO_PDF = b"%PDF-1.4\n% demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

APPLICATIONS = [
    # username, days ago, name, address, offset (lat, lon) from the district centre, returned?
    ("operator1", 3, "青藤托育园（演示申请）", "青藤路18号", (0.012, -0.015), None),
    (
        "operator2",
        6,
        "星星树托育中心（演示申请）",
        "星光大道66号2楼",
        (-0.018, 0.021),
        {
            "site": "户外活动场地面积与场所照片不符，请核实后重填并补充户外场地照片。",
            "staff": "保健员“陈保健”的证书编号缺失，请补充。",
        },
    ),
]


def _picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 180, 90)).save(out, "PNG")
    return out.getvalue()


def load_filings(now: datetime, centre: tuple[float, float]) -> int:
    """File the demo applications (the operator accounts exist already); their number."""
    street = db.session.scalar(select(Street).order_by(Street.id).limit(1))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    for username, days_ago, name, address, (dlat, dlon), reasons in APPLICATIONS:
        applicant = db.session.scalar(select(User).where(User.username == username))
        content = rules.Content(
            name=name,
            kind="private",
            registration="market",
            registration_no="91350100M000100Y43",  # a well-formed number: fictional use only
            phone="023-60000000",
            address=f"{street.name}{address}" if street else address,
            street_id=street.id if street else None,
            lat=round(centre[0] + dlat, 6),
            lon=round(centre[1] + dlon, 6),
            floor_area_m2=480.0,
            outdoor_area_m2=150.0,
            serves_meals=True,
            care_types=["full_day", "half_day", "temporary"],
            classes=[
                ClassSpec("infant", 9, 3, "乳儿班"),
                ClassSpec("toddler", 15, 3, "托小一班"),
                ClassSpec("older", 20, 3, "托大一班"),
            ],
            staff=[
                *(
                    rules.StaffSpec(f"演示保育员{i}", "caregiver", f"BY2026{i:04d}")
                    for i in range(8)
                ),
                rules.StaffSpec("演示育婴员", "infant_carer", "YY20260001"),
                rules.StaffSpec("陈保健", "health_worker", None),
            ],
        )
        uploads = [
            rules.Upload("fire_safety", "消防验收备案（演示）.pdf", DEMO_PDF),
            rules.Upload("health_evaluation", "卫生评价报告（演示）.pdf", DEMO_PDF),
            rules.Upload("food_licence", "食品经营许可证（演示）.pdf", DEMO_PDF),
            rules.Upload("photo", "活动室（演示）.png", _picture()),
        ]
        submitted = now - timedelta(days=days_ago)
        application = services.submit_new(applicant.id, content, uploads, now=submitted)
        if reasons:
            services.return_for_correction(
                admin.id, application.id, reasons, now=submitted + timedelta(days=2)
            )
    return len(APPLICATIONS)
