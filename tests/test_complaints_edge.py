"""Edges between layers: control characters, Open311 errors for paths no view matches, and the
process running on the district's local time."""

import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from extensions import db


@pytest.mark.parametrize("text", ["有\x00空字符", "响铃\x07", "换\x0c页"])
def test_control_characters_are_refused_before_anything_is_stored(app, make_nursery, text):
    from complaints.models import Complaint
    from complaints.services import filing
    from errors import DomainError

    nursery = make_nursery()
    with app.app_context():
        with pytest.raises(DomainError) as exc:
            filing.file_complaint(
                filing.Filing(category="hygiene", description=text, nursery_id=nursery)
            )
        db.session.rollback()
        assert exc.value.status == 400 and "控制字符" in exc.value.message
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_tabs_and_newlines_are_kept(app, make_nursery):
    from complaints.services import filing

    nursery = make_nursery()
    with app.app_context():
        c, _ = filing.file_complaint(
            filing.Filing(category="hygiene", description="第一行\n\t第二行", nursery_id=nursery)
        )
        assert c.description == "第一行\n\t第二行"


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/open311/v2/nothing.json", 404),
        ("delete", "/open311/v2/services.json", 405),
    ],
)
def test_open311_paths_no_view_matches_answer_in_georeport_errors(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    body = response.get_json()
    assert isinstance(body, list) and body[0]["code"] == status and body[0]["description"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_the_process_runs_on_china_standard_time(app):
    assert app.config["TIMEZONE"] == "Asia/Shanghai" and os.environ["TZ"] == "Asia/Shanghai"
    beijing = datetime.now(timezone(timedelta(hours=8))).replace(tzinfo=None)
    assert abs(datetime.now() - beijing) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/token", "/api/v1/auth/register", "/open311/v2/requests.json"]
)
def test_deeply_nested_json_is_a_400_not_a_crash(client, path):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
