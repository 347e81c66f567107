"""Admin pages of the routing rules, on SQLite and PostgreSQL: the overview, editing a
category, departments and the whole JSON document, import and export, the routing preview,
and who may enter. A refused change stores no new rules version."""

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from audit import AuditEntry
from complaints import rulebook
from complaints.models import Complaint, RulesVersion
from complaints.routing import load_rules
from complaints.services import filing
from extensions import db
from tests.conftest import login


@pytest.fixture
def world(street_nursery, make_user):
    return {
        "nursery": street_nursery,
        "admin": make_user("admin"),
        "handler": make_user("handler", department_code="health"),
        "parent": make_user("parent"),
    }


def text(r) -> str:
    return r.get_data(as_text=True)


def versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(RulesVersion.id)))


def current(app) -> tuple[int, dict]:
    with app.app_context():
        version, _, raw = rulebook.current()
        return version, raw


def category_form(app, code: str, **changes) -> dict:
    """The category form as the page fills it from the current rules, with changes."""
    version, raw = current(app)
    entry = next(c for c in raw["categories"] if c["code"] == code)
    data = {
        "base_version": str(version),
        "label": entry["label"],
        "description": entry["description"],
        "lead": entry["lead"],
        "co": list(entry.get("co", [])),
        "keywords": "、".join(entry.get("keywords", [])),
        "urgent_keywords": "\n".join(entry.get("urgent_keywords", [])),
        "source": entry.get("source", ""),
    }
    if entry.get("urgent"):
        data["urgent"] = "y"
    data.update(changes)
    return data


def file(app, nursery, category, description="描述"):
    with app.app_context():
        c, _ = filing.file_complaint(
            filing.Filing(category=category, description=description, nursery_id=nursery)
        )
        return c.lead_department, [(d.department, d.role) for d in c.departments]


PAGES = ["", "/categories/hygiene", "/departments", "/json", "/export", "/preview"]


@pytest.mark.parametrize("who", ["handler", "parent"])
def test_only_admins_may_enter(app, client, world, who):
    for path in PAGES:
        r = client.get("/admin/complaint-rules" + path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    login(client, world[who])
    for path in PAGES:
        r = client.get("/admin/complaint-rules" + path)
        assert r.status_code == 403 and "只有管理员" in text(r), path
    posts = {
        "/categories/hygiene": category_form(app, "hygiene", lead="market"),
        "/departments": {"base_version": "0", "new_code": "x_office", "new_name": "某办"},
        "/json": {"base_version": "0", "document": "{}"},
        "/import": {"file": (io.BytesIO(b"{}"), "r.json")},
        "/preview": {"text": "打孩子", "category": "other"},
    }
    for path, data in posts.items():
        assert client.post("/admin/complaint-rules" + path, data=data).status_code == 403, path
    assert versions(app) == 0


def test_overview_shows_departments_categories_and_adjustments(app, client, world):
    login(client, world["admin"])
    r = client.get("/admin/complaint-rules")
    html = text(r)
    assert r.status_code == 200
    assert 'data-version="0"' in html and "系统默认规则" in html
    assert '<code>market</code></dt><dd data-code="market">市场监管局<br>' in html
    abuse = re.search(r'<li class="card rule-card" id="cat-abuse".*?</li>', html, re.S).group(0)
    assert "虐待体罚" in abuse and "紧急" in abuse and "公安局" in abuse and "卫生健康委" in abuse
    assert "打孩子" in abuse
    assert "机构类型为 幼儿园托班" in html and "教委协办" in html
    assert "类别为 收费与退费，且公办机构" in html and "发展改革委、卫生健康委协办" in html
    assert "文本含 甲醛、" in html and "改由卫生健康委牵头" in html


def test_overview_shows_the_source_of_every_department_category_and_adjustment(app, client, world):
    login(client, world["admin"])
    page = text(client.get("/admin/complaint-rules"))
    with app.app_context():
        rules = rulebook.current_rules()
    for code, source in rules.department_sources.items():
        dd = re.search(rf'<dd data-code="{code}">.*?</dd>', page, re.S).group(0)
        assert f"依据：{html.escape(source, quote=False)}" in dd, code
    assert set(rules.department_sources) == set(rules.departments)
    for code, cat in rules.categories.items():
        card = re.search(rf'<li class="card rule-card" id="cat-{code}".*?</li>', page, re.S)
        assert f'<dd class="source">{html.escape(cat.source, quote=False)}</dd>' in card.group(0)
    for adj in rules.adjustments:
        item = re.search(rf'<li data-id="{adj.id}">.*?</li>', page, re.S).group(0)
        assert f"依据：{html.escape(adj.source, quote=False)}" in item, adj.id
    assert "荣昌 行动计划 第9项" in page and "北碚 任务分工 第11项" in page
    assert "未注明" not in page


def test_a_category_source_is_edited_and_a_bad_one_refused(app, client, world):
    login(client, world["admin"])
    page = text(client.get("/admin/complaint-rules/categories/fees"))
    assert "荣昌 行动计划 第9项" in page and 'name="source"' in page
    r = client.post(
        "/admin/complaint-rules/categories/fees",
        data=category_form(app, "fees", source="第" * 201),
    )
    assert r.status_code == 400 and "依据不能超过 200 字" in text(r)
    assert versions(app) == 0
    data = category_form(app, "fees", source="本区收费投诉处理办法 第3条")
    assert client.post("/admin/complaint-rules/categories/fees", data=data).status_code == 303
    with app.app_context():
        assert rulebook.current_rules().categories["fees"].source == "本区收费投诉处理办法 第3条"
    assert "本区收费投诉处理办法 第3条" in text(client.get("/admin/complaint-rules"))


def test_editing_a_categorys_lead_changes_routing_of_new_complaints(app, client, world):
    assert file(app, world["nursery"], "hygiene")[0] == "health"
    login(client, world["admin"])
    html = text(client.get("/admin/complaint-rules/categories/hygiene"))
    assert 'name="base_version" type="hidden" value="0"' in html
    assert "卫生与传染病" in html
    data = category_form(app, "hygiene", lead="market", co=["health", "emergency"])
    data["keywords"] += "\n墙皮霉斑，蟑螂窝；鼠患"
    r = client.post("/admin/complaint-rules/categories/hygiene", data=data)
    assert r.status_code == 303, text(r)
    assert versions(app) == 1
    lead, departments = file(app, world["nursery"], "hygiene")
    assert lead == "market"
    assert ("health", "co") in departments and ("emergency", "co") in departments
    _, raw = current(app)
    entry = next(c for c in raw["categories"] if c["code"] == "hygiene")
    assert entry["keywords"][-3:] == ["墙皮霉斑", "蟑螂窝", "鼠患"]
    assert not any(re.search(r"[、,，;；\s]", w) for w in entry["keywords"])
    html = text(client.get("/admin/complaint-rules"))
    assert 'data-version="1"' in html and "已保存类别“卫生与传染病”" in html
    assert re.search(r'id="cat-hygiene" data-code="hygiene" data-lead="market"', html)
    with app.app_context():
        audit = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "complaint_rules")
        ).all()
    assert audit == ["complaint_rules_saved"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lead": "nope"}, "请从列表中选择"),
        ({"lead": ""}, "请选择牵头部门"),
        ({"co": ["health"]}, "牵头部门不能同时是协办部门"),  # hygiene is led by health
        ({"co": ["ghosts"]}, "请从列表中选择"),
        ({"label": "  "}, "请填写类别名称"),
        ({"keywords": "好" * 21}, "过长"),
        ({"base_version": "7"}, "已被他人修改"),
    ],
)
def test_a_bad_category_edit_is_refused_and_nothing_saved(app, client, world, changes, message):
    login(client, world["admin"])
    r = client.post(
        "/admin/complaint-rules/categories/hygiene", data=category_form(app, "hygiene", **changes)
    )
    assert r.status_code in (400, 409)
    assert message in text(r)
    assert versions(app) == 0
    assert file(app, world["nursery"], "hygiene")[0] == "health"


def test_an_unknown_category_is_404(app, client, world):
    login(client, world["admin"])
    assert client.get("/admin/complaint-rules/categories/nope").status_code == 404


def test_departments_are_renamed_and_added(app, client, world):
    shipped = load_rules()
    login(client, world["admin"])
    html = text(client.get("/admin/complaint-rules/departments"))
    assert 'name="name_health"' in html and 'value="卫生健康委"' in html
    version, raw = current(app)
    with app.app_context():
        names = dict(rulebook.current_rules().departments)
    form = {"base_version": str(version), **{f"name_{c}": n for c, n in names.items()}}
    bad = [
        ({"new_code": "Bad Code", "new_name": "某办"}, "部门代码须为"),
        ({"new_code": "health", "new_name": "某办"}, "已存在"),
        ({"new_code": "approval", "new_name": ""}, "请填写新部门的名称"),
        ({"name_market": ""}, "请填写部门名称"),
        ({"name_market": "卫生健康委"}, "重复"),
    ]
    for changes, message in bad:
        r = client.post("/admin/complaint-rules/departments", data={**form, **changes})
        assert r.status_code == 400 and message in text(r), changes
    assert versions(app) == 0

    r = client.post(
        "/admin/complaint-rules/departments",
        data={
            **form,
            "name_health": "区卫生健康委员会",
            "new_code": "approval",
            "new_name": "行政审批局",
            "new_source": "大竹 实施意见 附件（行政审批局：营利性机构注册登记）",
        },
    )
    assert r.status_code == 303
    with app.app_context():
        rules = rulebook.current_rules()
        assert rules.departments["health"] == "区卫生健康委员会"
        assert rules.departments["approval"] == "行政审批局"
        assert rulebook.department_name("approval") == "行政审批局"
        assert rules.department_sources["approval"].startswith("大竹 实施意见 附件")
        # renaming keeps the shipped departments' sources
        assert rules.department_sources["health"] == shipped.department_sources["health"]
    assert "依据：大竹 实施意见 附件（行政审批局" in text(client.get("/admin/complaint-rules"))
    # the new department can now lead a category, or co-handle one
    data = category_form(app, "unlicensed", lead="approval")
    assert client.post("/admin/complaint-rules/categories/unlicensed", data=data).status_code == 303
    assert file(app, world["nursery"], "unlicensed")[0] == "approval"
    data = category_form(app, "staffing", co=["hr", "approval"])
    assert client.post("/admin/complaint-rules/categories/staffing", data=data).status_code == 303
    lead, departments = file(app, world["nursery"], "staffing")
    assert lead == "health" and ("approval", "co") in departments


def test_the_json_editor_validates_the_whole_document(app, client, world):
    login(client, world["admin"])
    page = html.unescape(text(client.get("/admin/complaint-rules/json")))
    assert '"adjustments": [' in page and '"code": "abuse"' in page
    version, raw = current(app)
    bad_lead = json.loads(json.dumps(raw))
    bad_lead["categories"][0]["lead"] = "ghosts"
    bad_adjustment = json.loads(json.dumps(raw))
    bad_adjustment["adjustments"][0]["add_co"] = ["nobody"]
    no_street = json.loads(json.dumps(raw))
    no_street["departments"] = {"health": "卫健委"}
    cases = [
        ("{not json", "不是有效的 JSON"),
        ("[]", "规则有误"),
        (json.dumps(bad_lead, ensure_ascii=False), "unknown department code 'ghosts'"),
        (json.dumps(bad_adjustment), "unknown department code 'nobody'"),
        (json.dumps(no_street), "cannot be removed"),
        ("[" * 100_000, "嵌套层数过多"),
        ("x" * (512 * 1024 + 1), "过大"),
        ("", "请填写规则 JSON"),
    ]
    for document, message in cases:
        r = client.post(
            "/admin/complaint-rules/json", data={"base_version": str(version), "document": document}
        )
        assert r.status_code == 400, document[:40]
        assert message in html.unescape(text(r)), document[:40]
    assert versions(app) == 0

    raw["adjustments"] = [a for a in raw["adjustments"] if a["id"] != "employer_union"]
    r = client.post(
        "/admin/complaint-rules/json",
        data={"base_version": str(version), "document": json.dumps(raw, ensure_ascii=False)},
    )
    assert r.status_code == 303
    assert versions(app) == 1
    # saved over a stale version: refused
    r = client.post(
        "/admin/complaint-rules/json",
        data={"base_version": str(version), "document": json.dumps(raw, ensure_ascii=False)},
    )
    assert r.status_code == 409 and versions(app) == 1


def test_import_export_round_trip(app, client, world):
    login(client, world["admin"])
    r = client.get("/admin/complaint-rules/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert 'attachment; filename="complaint-rules-v0.json"' == r.headers["Content-Disposition"]
    exported = json.loads(r.data)
    assert exported == current(app)[1]

    exported["categories"][0]["label"] = "虐待与体罚"
    body = json.dumps(exported, ensure_ascii=False).encode("utf-8")
    r = client.post(
        "/admin/complaint-rules/import",
        data={"file": (io.BytesIO(body), "rules.json")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, text(r)
    assert versions(app) == 1
    again = client.get("/admin/complaint-rules/export")
    assert 'filename="complaint-rules-v1.json"' in again.headers["Content-Disposition"]
    assert json.loads(again.data) == exported
    assert "虐待与体罚" in text(client.get("/admin/complaint-rules"))

    bad = [
        (b"\xff\xfe{}", "UTF-8"),
        (b"{oops", "不是有效的 JSON"),
        (b" " * (512 * 1024 + 1), "过大"),
        (json.dumps({"categories": []}).encode(), "规则有误"),
    ]
    for payload, message in bad:
        r = client.post(
            "/admin/complaint-rules/import",
            data={"file": (io.BytesIO(payload), "rules.json")},
            content_type="multipart/form-data",
        )
        assert r.status_code == 400 and message in text(r), message
    r = client.post("/admin/complaint-rules/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请选择规则文件" in text(r)
    assert versions(app) == 1


def test_preview_shows_the_routing_and_its_reasons_and_stores_nothing(app, client, world):
    login(client, world["admin"])

    def snapshot():
        with app.app_context():
            return tuple(
                db.session.scalar(select(func.count(m.id)))
                for m in (Complaint, RulesVersion, AuditEntry)
            )

    before = snapshot()
    html = text(client.get("/admin/complaint-rules/preview"))
    assert "预览不保存任何内容" in html
    r = client.post(
        "/admin/complaint-rules/preview",
        data={
            "text": "老师态度很差，还打了孩子<b>巴掌</b>",
            "category": "care_quality",
            "kind": "kindergarten_class",
        },
    )
    html = text(r)
    assert r.status_code == 200
    lead = re.search(r'id="pv-lead"><strong>(.*?)</strong>', html).group(1)
    assert lead == "公安局（police）"
    co = re.search(r'id="pv-co">(.*?)</dd>', html).group(1)
    assert "卫生健康委" in co and "教委" in co
    assert "镇街" in re.search(r'id="pv-informed">(.*?)</dd>', html).group(1)
    assert "虐待体罚" in re.search(r'id="pv-category">(.*?)</dd>', html, re.S).group(1)
    assert "紧急" in re.search(r'id="pv-urgent">(.*?)</dd>', html).group(1)
    reasons = re.search(r'id="pv-reasons">(.*?)</ol>', html, re.S).group(1)
    assert "升级" in reasons and "幼儿园托班 → 教委 协办" in reasons
    assert "&lt;b&gt;巴掌" in html and "<b>巴掌" not in html

    r = client.post(
        "/admin/complaint-rules/preview",
        data={"text": "收费太贵", "category": "fees", "kind": "public", "inclusive": "y"},
    )
    html = text(r)
    co = re.search(r'id="pv-co">(.*?)</dd>', html).group(1)
    assert "发展改革委" in co and "卫生健康委" in co and "普惠性机构收费" in html
    lead = re.search(r'id="pv-lead"><strong>(.*?)</strong>', html).group(1)
    assert lead == "市场监管局（market）"
    sources = re.search(r'id="pv-sources">(.*?)</ul>', html, re.S).group(1)
    assert "类别 收费与退费：荣昌 行动计划 第9项" in sources
    assert "调整规则 public_fees_joint：荣昌 行动计划 第9项" in sources
    assert "调整规则 inclusive_fees_health：" in sources

    # 公建民营 counts as 公办 in the preview as in filing
    r = client.post(
        "/admin/complaint-rules/preview",
        data={"text": "收费太贵", "category": "fees", "kind": "public_private"},
    )
    assert "public_fees_joint" in text(r)

    r = client.post("/admin/complaint-rules/preview", data={"text": "x", "category": "nope"})
    assert r.status_code == 400 and "请从列表中选择" in text(r)
    r = client.post(
        "/admin/complaint-rules/preview", data={"text": "x" * 4001, "category": "other"}
    )
    assert r.status_code == 400 and "不能超过" in text(r)
    assert snapshot() == before


def test_a_stored_version_without_sources_still_serves_and_says_so(app, client, world):
    from complaints.routing import DEFAULT_RULES_PATH
    from complaints.services import rules as rule_versions

    data = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["departments"] = {code: d["name"] for code, d in data["departments"].items()}
    for entry in data["categories"] + data["adjustments"]:
        entry.pop("source")
    with app.app_context():
        rule_versions.save(None, data)
    login(client, world["admin"])
    page = text(client.get("/admin/complaint-rules"))
    assert 'data-version="1"' in page
    assert page.count("未注明") == len(data["departments"]) + 16 + len(data["adjustments"])
    r = client.post(
        "/admin/complaint-rules/preview",
        data={"text": "收费太贵", "category": "fees", "kind": "public"},
    )
    assert r.status_code == 200 and "类别 收费与退费：未注明" in text(r)
    assert file(app, world["nursery"], "fees")[0] == "market"
