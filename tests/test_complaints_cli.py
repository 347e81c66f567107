"""Complaint commands and demo data: street handlers, rules import/export, the demo cases."""

import json

import pytest
from sqlalchemy import func, select

from extensions import db


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def street(app):
    from maps.models import Street

    with app.app_context():
        db.session.add_all([Street(code=f"S0{i}", name=f"{i}号街道") for i in (1, 2)])
        db.session.commit()


def test_a_street_handler_is_bound_to_the_street_named(app, runner, street):
    from accounts.models import HandlerStreet, User

    ok = runner.invoke(
        args=["users", "create", "--role", "handler", "--username", "jd1", "--password",
              "secret-pass-1", "--department", "street", "--street", "S02"]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "jd1"))
        binding = db.session.get(HandlerStreet, user.id)
        assert binding is not None and binding.street.code == "S02"


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "须绑定一个已知镇街"),
        (["--street", "NOPE"], "须绑定一个已知镇街"),
    ],
)
def test_a_street_handler_needs_a_known_street(app, runner, street, extra, message):
    from accounts.models import User

    bad = runner.invoke(
        args=["users", "create", "--role", "handler", "--username", "jd2", "--password",
              "secret-pass-1", "--department", "street", *extra]
    )  # fmt: skip
    assert bad.exit_code != 0 and message in bad.output
    with app.app_context():
        assert _count(User) == 0


def test_only_street_handlers_take_a_street(app, runner, street):
    bad = runner.invoke(
        args=["users", "create", "--role", "handler", "--username", "hx1", "--password",
              "secret-pass-1", "--department", "health", "--street", "S01"]
    )  # fmt: skip
    assert bad.exit_code != 0 and "只有镇街承办人账号可以绑定镇街" in bad.output


def test_rules_import_applies_to_new_complaints_and_export_prints_them(app, runner, tmp_path):
    from complaints import rulebook
    from complaints.models import RulesVersion

    rules = json.loads(runner.invoke(args=["complaints", "export-rules"]).output)
    for category in rules["categories"]:
        if category["code"] == "fees":
            category["lead"] = "development"
    market = rules["departments"]["market"]  # departments are part of the data, with sources
    assert market["name"] == "市场监管局" and "大竹" in market["source"]
    rules["departments"]["approval"] = "行政审批局"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")

    result = runner.invoke(args=["complaints", "import-rules", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(RulesVersion) == 1
        current = rulebook.current_rules()
        assert current.categories["fees"].lead == "development"
        assert current.departments["approval"] == "行政审批局"
    exported = json.loads(runner.invoke(args=["complaints", "export-rules"]).output)
    assert exported["departments"]["approval"] == "行政审批局"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "不是有效的 JSON"),
        (b"\xff\xfe\x00", "UTF-8"),
        (json.dumps({"categories": [{"code": "x", "lead": "nobody"}]}).encode(), "规则有误"),
    ],
)
def test_a_bad_rules_file_changes_nothing(app, runner, tmp_path, content, message):
    from complaints.models import RulesVersion

    path = tmp_path / "rules.json"
    path.write_bytes(content)
    result = runner.invoke(args=["complaints", "import-rules", str(path)])
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert _count(RulesVersion) == 0


def test_demo_data_holds_cases_in_every_queue_state_and_the_published_code_tracks(app, runner):
    from accounts.models import HandlerStreet, User
    from complaints import codes, queries
    from complaints.models import Complaint
    from demo.complaints import CASES, DEMO_CODE

    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "DEMO-YXQ2-TRAC-K267" in result.output
    with app.app_context():
        assert _count(Complaint) == len(CASES)
        statuses = set(db.session.scalars(select(Complaint.status)))
        assert {"submitted", "accepted", "awaiting_info", "resolved"} <= statuses
        case = queries.by_code(codes.format_code(DEMO_CODE))
        assert case.lead_department == "market" and case.urgent  # 集体腹泻 → urgent
        street_handler = db.session.scalar(select(User).where(User.username == "handler-street"))
        assert db.session.get(HandlerStreet, street_handler.id) is not None
        rows = queries.queue(street_handler, queries.QueueFilter(status="all"))
        assert rows and all(c.street_id == rows[0][0].street_id for c, _, _ in rows)
        market = db.session.scalar(select(User).where(User.username == "handler-market"))
        assert case.id in {c.id for c, _, _ in queries.queue(market, queries.QueueFilter())}
