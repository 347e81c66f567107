"""The classifier in service, on SQLite and PostgreSQL: a case the model is unsure of waits as
待分类, a handler corrects its category (更正类别) and the case moves to the right lead, the
correction is trained in (`flask complaints train`), and a version can be rolled back."""

import copy

import pytest
from sqlalchemy import func, select

from complaints import classifier, modelbook, rulebook
from complaints.models import CategoryCorrection, ClassifierVersion, Complaint
from complaints.services import rules as rule_versions
from complaints.services import training
from extensions import db
from tests import test_complaints_handling as handling_tests
from tests.conftest import login
from tests.test_complaints_handling import case_row, file, post, queue_ids, text

world = handling_tests.world  # the same departments, nurseries and accounts

VAGUE = "上周的事情一直没人处理"


@pytest.fixture
def strict_triage(app):
    """Rules (admin data) whose model must be 95 % sure to classify a case without a pick: a
    vague text then waits for a person, whatever a retrained model makes of it."""
    with app.app_context():
        data = copy.deepcopy(rulebook.current()[2])
        data["classifier"]["confident"] = 0.95
        rule_versions.save(None, data, "测试：分诊更严格")


def corrections(app, cid):
    with app.app_context():
        return [
            (c.category, c.previous, c.source)
            for c in db.session.scalars(
                select(CategoryCorrection).where(CategoryCorrection.complaint_id == cid)
            )
        ]


def test_a_vague_complaint_waits_for_a_person_at_health(app, client, world, strict_triage):
    cid, _ = file(app, world["a"], "other", VAGUE)
    c = case_row(app, cid)
    assert (c.category, c.lead_department, c.awaiting_category) == ("other", "health", True)
    assert any("待分类" in r and "低于 95%" in r for r in c.routing_reason_texts())
    login(client, world["users"]["health"])
    html = text(client.get("/handle?awaiting=1"))
    assert queue_ids(html) == [cid]
    assert "flag-awaiting" in html
    named, _ = file(app, world["a"], "hygiene")  # a picked category never waits
    assert not case_row(app, named).awaiting_category
    assert queue_ids(text(client.get("/handle?awaiting=1"))) == [cid]
    assert client.get("/handle?awaiting=2").status_code == 400


def test_recategorise_moves_the_case_and_keeps_the_label(app, client, world, strict_triage):
    cid, _ = file(app, world["a"], "other", VAGUE)
    login(client, world["users"]["health"])
    assert 'id="action-recategorise"' in text(client.get(f"/handle/{cid}"))

    def recategorise(category, reason=""):
        data = {"recategorise-category": category, "recategorise-reason": reason}
        return post(client, cid, "recategorise", data)

    r = recategorise("fees")
    assert r.status_code == 400 and "请填写更正理由" in text(r)
    assert recategorise("castle", "电话核实").status_code == 400
    assert corrections(app, cid) == []
    assert recategorise("fees", "电话核实是退费问题").status_code == 303
    c = case_row(app, cid)
    assert (c.category, c.awaiting_category) == ("fees", False)
    assert (c.lead_department, c.pending_transfer_to) == ("health", "market")
    assert corrections(app, cid) == [("fees", "other", "recategorise")]
    client.post("/logout")

    login(client, world["users"]["market"])
    assert post(client, cid, "accept-transfer").status_code == 303
    assert case_row(app, cid).lead_department == "market"
    # the category already names market as its lead: no second correction
    assert corrections(app, cid) == [("fees", "other", "recategorise")]


def test_recategorise_to_an_urgent_category_makes_the_case_urgent(app, client, world):
    cid, _ = file(app, world["a"], "care_quality", "老师和家长沟通很少，每天也不发照片")
    before = case_row(app, cid)
    assert not before.urgent
    login(client, world["users"]["health"])
    data = {"recategorise-category": "abuse", "recategorise-reason": "监控显示老师推搡孩子"}
    assert post(client, cid, "recategorise", data).status_code == 303
    c = case_row(app, cid)
    assert c.urgent and c.category == "abuse" and c.pending_transfer_to == "police"
    assert c.accept_by < before.accept_by  # urgent acceptance: within hours, not days
    # the same category again is refused, and nothing more is recorded
    r = post(client, cid, "recategorise", {**data, "recategorise-category": "abuse"})
    assert r.status_code == 409 or r.status_code == 400
    assert len(corrections(app, cid)) == 1


def test_only_the_lead_may_recategorise(app, client, world):
    cid, _ = file(app, world["a"], "food_safety", "饭菜不新鲜")  # market leads, health co
    login(client, world["users"]["health"])
    data = {"recategorise-category": "hygiene", "recategorise-reason": "其实是卫生问题"}
    assert post(client, cid, "recategorise", data).status_code == 403
    assert case_row(app, cid).category == "food_safety"
    assert corrections(app, cid) == []


def test_a_transfer_accepted_by_another_lead_corrects_the_category(app, client, world):
    cid, _ = file(app, world["a"], "care_quality", "收费标准和公示的不一样，每月多收了三百元")
    login(client, world["users"]["health"])
    post(client, cid, "transfer", {"transfer-department": "market", "transfer-reason": "收费"})
    client.post("/logout")
    login(client, world["users"]["market"])
    assert post(client, cid, "accept-transfer").status_code == 303
    c = case_row(app, cid)
    assert c.lead_department == "market"
    market_leads = {"fees", "contract_dispute", "food_safety", "medicine_safety"}
    assert c.category in market_leads | {"false_advertising"}
    assert corrections(app, cid) == [(c.category, "care_quality", "transfer")]
    assert "更正类别" in text(client.get(f"/handle/{cid}"))  # on the timeline


def test_train_with_a_correction_then_roll_back(app, client, world):
    cid, _ = file(app, world["a"], "other", VAGUE)
    login(client, world["users"]["health"])
    data = {"recategorise-category": "staffing", "recategorise-reason": "核实为人手不足"}
    assert post(client, cid, "recategorise", data).status_code == 303
    with app.app_context():
        assert modelbook.current()[0] == 0  # the shipped file until a version is trained
        shipped = classifier.SHIPPED_MODEL_PATH.read_bytes()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["complaints", "train", "--note", "含一条更正"])
    assert result.exit_code == 0, result.output
    assert "处理人员更正 1 条" in result.output
    assert "staffing" in result.output and "紧急召回率" in result.output
    with app.app_context():
        version, model = modelbook.current()
        assert version == 1
        assert model.info["corrections"] == 1
        assert model.info["examples"] == len(classifier.training_corpus()) + 1
        row = db.session.get(ClassifierVersion, 1)
        assert row.note == "含一条更正" and row.data != shipped
        # the correction's text was read from the case, masked, not stored with the label
        (example,) = training.correction_examples(rulebook.current_rules().categories)
        assert (example.text, example.category, example.urgent) == (VAGUE, "staffing", False)
    listing = runner.invoke(args=["complaints", "model-versions"])
    assert listing.exit_code == 0 and "*    1" in listing.output

    result = runner.invoke(args=["complaints", "rollback-model", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        version, model = modelbook.current()
        assert version == 2
        assert db.session.get(ClassifierVersion, 2).data == shipped
        assert db.session.get(ClassifierVersion, 2).based_on == 0
        assert model.info["corpus_digest"] == classifier.shipped_model().info["corpus_digest"]
    assert runner.invoke(args=["complaints", "rollback-model", "1"]).exit_code == 0
    with app.app_context():
        assert modelbook.current()[1].info["corrections"] == 1
        assert db.session.scalar(select(func.count(ClassifierVersion.id))) == 3
    bad = runner.invoke(args=["complaints", "rollback-model", "99"])
    assert bad.exit_code != 0 and "没有版本 99" in bad.output


def test_a_correction_goes_with_its_case(app, world):
    cid, _ = file(app, world["a"], "other", VAGUE)
    with app.app_context():
        c = db.session.get(Complaint, cid)
        training.record_correction(c, "fees", "other", "recategorise", None, c.filed_at)
        db.session.commit()
        for event in list(c.events):
            db.session.delete(event)
        for photo in list(c.photos):
            db.session.delete(photo)
        for d in list(c.departments):
            db.session.delete(d)
        db.session.flush()
        db.session.execute(Complaint.__table__.delete().where(Complaint.id == cid))
        db.session.commit()
        left = db.session.scalar(select(func.count(CategoryCorrection.id)))
    assert left == 0


@pytest.mark.parametrize(
    "text, masked",
    [
        ("我的电话 138 1234 5678，请回电", "我的电话 号码，请回电"),
        ("邮箱 wang.li@example.com 联系", "邮箱 邮箱 联系"),
        ("孩子两岁半", "孩子两岁半"),
    ],
)
def test_training_text_masks_numbers_and_emails(text, masked):
    assert training.mask(text) == masked
