"""Migrations (Flask-Migrate/Alembic): an empty database upgrades to head and back down, the
migrations build exactly the models' schema, and a database from before migrations keeps its data.
"""

from contextlib import ExitStack

import pytest
import sqlalchemy as sa
from conftest import new_postgres_database

import database
from app import create_app
from extensions import db


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_app(request, tmp_path):
    """The app on a brand-new database with no tables at all, on each backend."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = "sqlite:///" + str(tmp_path / "empty.sqlite3")
        else:
            url = stack.enter_context(new_postgres_database("tuoyu_mig"))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _tables() -> set[str]:
    # PostGIS's own table (migration 0016 creates the extension) is not the service's.
    return set(sa.inspect(db.engine).get_table_names()) - {"spatial_ref_sys"}


def test_an_empty_database_upgrades_to_head_and_back_down(empty_app):
    from flask_migrate import downgrade, upgrade

    with empty_app.app_context():
        database.import_models()
        assert _tables() == set()
        upgrade(directory=str(database.MIGRATIONS))
        assert _tables() == set(db.metadata.tables) | {"alembic_version"}
        assert database.schema_revision() == database.head_revision() != database.BASELINE
        downgrade(directory=str(database.MIGRATIONS), revision="base")
        db.engine.dispose()  # SQLite: see the dropped tables from a fresh connection
        assert _tables() == {"alembic_version"}
        assert database.schema_revision() is None


def test_the_migrations_build_exactly_the_models_schema(empty_app):
    with empty_app.app_context():
        database.upgrade_schema()
        assert database.schema_drift() == []


def test_drift_is_reported_when_a_model_gains_a_column_no_migration_adds(empty_app):
    """The check above can fail: a column in the models that no migration creates is drift."""
    with empty_app.app_context():
        database.upgrade_schema()
        table = db.metadata.tables["subsidies"]
        column = sa.Column("note_for_drift_test", sa.String(10))
        table.append_column(column)
        try:
            diff = database.schema_drift()
        finally:
            table._columns.remove(column)
        assert [d[0] for d in diff] == ["add_column"]
        assert diff[0][3].name == "note_for_drift_test"


def test_init_db_is_idempotent_and_creates_the_fixed_rows(empty_app):
    from maps.models import RegistryVersion

    runner = empty_app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "数据库已就绪" in result.output
    with empty_app.app_context():
        assert db.session.get(RegistryVersion, 1).version == 0
        assert database.schema_revision() == database.head_revision()


def test_a_database_from_before_migrations_is_stamped_and_keeps_its_data(empty_app):
    """Districts that ran an older release have tables made by create_all and no version."""
    from maps.models import RegistryVersion, Street

    with empty_app.app_context():
        database.create_schema(stamp=False)  # what the old init-db did
        with database.use_case():
            db.session.add(Street(code="S01", name="旧街道"))
            db.session.get(RegistryVersion, 1).version = 7
        assert "alembic_version" not in _tables()
        database.upgrade_schema()
        assert database.schema_revision() == database.head_revision()
        db.session.expire_all()
        assert db.session.scalar(sa.select(Street.name)) == "旧街道"
        assert db.session.get(RegistryVersion, 1).version == 7


def test_use_case_commits_the_body_and_rolls_back_on_any_exception(empty_app):
    from maps.models import Street

    with empty_app.app_context():
        database.create_schema()
        with database.use_case():
            db.session.add(Street(code="A", name="甲街道"))
        with pytest.raises(ZeroDivisionError), database.use_case():
            db.session.add(Street(code="B", name="乙街道"))
            db.session.flush()
            1 / 0  # noqa: B018 - any exception, not only a domain error
        db.session.remove()
        assert db.session.scalars(sa.select(Street.code)).all() == ["A"]


def test_a_nested_use_case_joins_the_outer_one(empty_app):
    """The inner block commits nothing: a failure after it undoes both."""
    from maps.models import Street

    with empty_app.app_context():
        database.create_schema()
        with pytest.raises(RuntimeError), database.use_case():
            with database.use_case():
                db.session.add(Street(code="C", name="丙街道"))
            raise RuntimeError("after the inner use case")
        db.session.remove()
        assert db.session.scalars(sa.select(Street.code)).all() == []


def test_a_use_case_refuses_to_begin_over_unsaved_changes(empty_app):
    from maps.models import Street

    with empty_app.app_context():
        database.create_schema()
        db.session.add(Street(code="D", name="丁街道"))
        with pytest.raises(RuntimeError, match="before any change"), database.use_case():
            pass
        db.session.rollback()


def _file_a_complaint() -> int:
    from complaints.services import filing

    f = filing.Filing(
        category="fees",
        description="乱收费，没有收据",
        site_address="测试路1号",
        lat=29.6,
        lon=106.52,
    )
    complaint_id = filing.file_complaint(f)[0].id  # reading it opens a transaction again
    db.session.remove()  # end it, or PostgreSQL's ALTER TABLE in a migration waits for it
    return complaint_id


def _count(table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _set_status(complaint_id: int, status: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE complaints SET status = :s WHERE id = :id"),
            {"s": status, "id": complaint_id},
        )


def test_0002_keeps_the_complaints_and_refuses_a_status_the_service_does_not_know(empty_app):
    """Migration 0002: complaints filed at 0001 survive the upgrade (SQLite copies the table),
    不予受理 is a status the database takes, an unknown one it refuses; downgrade lifts that."""
    from flask_migrate import downgrade, upgrade

    with empty_app.app_context():
        database.import_models()
        upgrade(directory=str(database.MIGRATIONS), revision=database.BASELINE)
        database.upgrade_schema()  # the fixed rows, and back to head
        complaint_id = _file_a_complaint()  # filed by today's service, then taken back to 0001
        events = _count("complaint_events")
        assert events >= 1
        downgrade(directory=str(database.MIGRATIONS), revision=database.BASELINE)
        db.engine.dispose()
        _set_status(complaint_id, "unknown")  # 0001 took any text
        _set_status(complaint_id, "submitted")
        upgrade(directory=str(database.MIGRATIONS), revision="0002")
        db.engine.dispose()
        assert database.schema_revision() == "0002"
        row = db.session.execute(sa.text("SELECT status, description FROM complaints")).one()
        assert tuple(row) == ("submitted", "乱收费，没有收据")
        # SQLite rebuilt the table twice: the rows that refer to it are all still there (with
        # foreign keys on, its DROP TABLE would have deleted them by ON DELETE CASCADE)
        assert _count("complaint_events") == events
        db.session.remove()  # as in _file_a_complaint
        _set_status(complaint_id, "not_accepted")
        with pytest.raises(sa.exc.IntegrityError):
            _set_status(complaint_id, "unknown")
        downgrade(directory=str(database.MIGRATIONS), revision=database.BASELINE)
        db.engine.dispose()
        _set_status(complaint_id, "unknown")


def test_0003_and_0004_keep_the_complaints_filed_before_them(empty_app):
    """Migrations 0003 (待分类, classifier versions, corrections) and 0004 (deadline regimes,
    imported holiday years): a complaint filed at 0002 survives both (SQLite copies the table),
    is not awaiting a category, and keeps the working-day rule it was counted by (no regime
    code: legacy); downgrading to 0002 drops what they added and keeps the complaint."""
    from flask_migrate import downgrade, upgrade

    from complaints.models import Complaint
    from complaints.regimes import LEGACY

    with empty_app.app_context():
        database.import_models()
        upgrade(directory=str(database.MIGRATIONS), revision=database.BASELINE)
        database.upgrade_schema()
        complaint_id = _file_a_complaint()
        downgrade(directory=str(database.MIGRATIONS), revision="0002")
        db.engine.dispose()
        inspector = sa.inspect(db.engine)
        columns = {c["name"] for c in inspector.get_columns("complaints")}
        assert not {"awaiting_category", "deadline_regime"} & columns
        assert not inspector.has_table("holiday_years")
        assert not inspector.has_table("complaint_classifier_versions")
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        row = db.session.execute(
            sa.text("SELECT description, awaiting_category, deadline_regime FROM complaints")
        ).one()
        assert (row[0], bool(row[1]), row[2]) == ("乱收费，没有收据", False, None)
        assert db.session.get(Complaint, complaint_id).regime is LEGACY
        db.session.remove()


def test_0006_reads_each_streets_kind_from_its_name_and_keeps_communities_urban(empty_app):
    """Migration 0006: 镇街 filed before it take their kind from the name (…镇 town, …乡
    township, else subdistrict), communities are 城镇; the check refuses another kind."""
    from flask_migrate import downgrade, upgrade

    with empty_app.app_context():
        database.import_models()
        upgrade(directory=str(database.MIGRATIONS), revision=database.BASELINE)
        database.upgrade_schema()
        downgrade(directory=str(database.MIGRATIONS), revision="0004")
        db.engine.dispose()
        with db.engine.begin() as conn:
            for code, name in (("A", "甲街道"), ("B", "乙镇"), ("C", "丙乡"), ("D", "丁")):
                conn.execute(
                    sa.text("INSERT INTO streets (code, name) VALUES (:c, :n)"),
                    {"c": code, "n": name},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO communities (name, street_id, lat, lon, source_coordsys,"
                    " population, children_under_3) SELECT '桂花苑', id, 29.6, 106.5, 'wgs84',"
                    " 100, 3 FROM streets WHERE code = 'B'"
                )
            )
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        with db.engine.begin() as conn:
            kinds = dict(conn.execute(sa.text("SELECT code, kind FROM streets")).all())
            urban = conn.execute(sa.text("SELECT urban FROM communities")).scalar_one()
        assert kinds == {"A": "subdistrict", "B": "town", "C": "township", "D": "subdistrict"}
        assert bool(urban) is True
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE streets SET kind = 'village' WHERE code = 'A'"))
        downgrade(directory=str(database.MIGRATIONS), revision="0004")
        db.engine.dispose()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("streets")}
        assert "kind" not in columns


def test_0005_adds_an_empty_price_rules_table_and_leaves_the_prices_on_file(empty_app):
    """Migration 0005 (price regimes): no amount is seeded for a real district, and no offer's
    price is rewritten; downgrading to 0004 drops the table and keeps the offers."""
    from flask_migrate import downgrade, upgrade

    with empty_app.app_context():
        database.import_models()
        upgrade(directory=str(database.MIGRATIONS), revision="0004")
        db.session.execute(
            sa.text(
                "INSERT INTO nurseries (name, address, kind, inclusive, demonstration, lat, lon,"
                " source_coordsys, opens_at, closes_at, capacity)"
                " VALUES ('旧园', '旧路1号', 'private', :t, :f, 29.6, 106.5, 'wgs84',"
                " '07:30:00', '17:30:00', 10)"
            ),
            {"t": True, "f": False},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO offers (nursery_id, care_type, class_type, price_yuan, price_unit,"
                " capacity) SELECT id, 'full_day', 'toddler', 9999, 'month', 5 FROM nurseries"
            )
        )
        db.session.commit()
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert db.session.scalar(sa.text("SELECT count(*) FROM price_rules")) == 0
        assert float(db.session.scalar(sa.text("SELECT price_yuan FROM offers"))) == 9999.0
        db.session.remove()
        downgrade(directory=str(database.MIGRATIONS), revision="0004")
        db.engine.dispose()
        assert not sa.inspect(db.engine).has_table("price_rules")
        assert float(db.session.scalar(sa.text("SELECT price_yuan FROM offers"))) == 9999.0


def test_0007_gives_existing_users_session_version_0_and_refuses_their_old_sessions(empty_app):
    """Migration 0007: accounts created before it keep their rows and start at session version
    0; downgrade drops the column again."""
    from flask_migrate import downgrade, upgrade

    from accounts.models import User
    from accounts.sessions import load_user

    with empty_app.app_context():
        database.import_models()
        database.upgrade_schema()
        downgrade(directory=str(database.MIGRATIONS), revision="0006")
        db.engine.dispose()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("users")}
        assert "session_version" not in columns
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, password_hash, name, role, active)"
                    " VALUES ('li_ma', 'x', '李妈妈', 'parent', :t)"
                ),
                {"t": True},
            )
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        user = db.session.scalar(sa.select(User).where(User.username == "li_ma"))
        assert user.session_version == 0 and user.get_id() == f"{user.id}:0"
        assert load_user(f"{user.id}:0") is user
        assert load_user(str(user.id)) is None  # a session cookie from before 0007
        db.session.remove()


def test_0008_keeps_bookings_and_children_and_lets_them_be_anonymised(empty_app):
    """Migration 0008: children, bookings (their slots too) and audit entries filed before it
    survive both ways; afterwards a booking may lose its parent (anonymised) while the status
    check still holds, and a downgrade over anonymised rows stops instead of losing them."""
    from datetime import date

    from flask_migrate import downgrade, upgrade

    from accounts.services import create_user
    from booking.rules import Request
    from booking.services import family
    from booking.waitlist import Settings
    from tests.booking_helpers import birth_for, make_bookable_nursery

    with empty_app.app_context():
        database.upgrade_schema()
        nursery = make_bookable_nursery()
        parent = create_user("parent", "mig-parent", "secret-pass-1").id
        settings = Settings.from_config(empty_app.config)
        child = family.register_child(parent, "小雨", birth_for(20), True, settings).id
        req = Request(care_type="full_day", start_date=date.today())
        booking = family.book(parent, child, nursery, req, True, settings)[0].id
        db.session.remove()  # PostgreSQL: no open transaction may hold a lock on the tables
        slots, entries = _count("booking_slots"), _count("audit_log")
        assert slots >= 1 and entries >= 2
        downgrade(directory=str(database.MIGRATIONS), revision="0006")
        db.engine.dispose()
        inspector = sa.inspect(db.engine)
        assert "ip" not in {c["name"] for c in inspector.get_columns("audit_log")}
        for table in ("children", "bookings"):
            parent_column = next(
                c for c in inspector.get_columns(table) if c["name"] == "parent_id"
            )
            assert parent_column["nullable"] is False
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == []
        assert (_count("booking_slots"), _count("audit_log")) == (slots, entries)
        downgrade(directory=str(database.MIGRATIONS), revision="0008")
        db.engine.dispose()
        with db.engine.begin() as conn:
            row = conn.execute(
                sa.text("SELECT parent_id, child_id, status FROM bookings WHERE id = :b"),
                {"b": booking},
            ).one()
            assert tuple(row) == (parent, child, "pending")
            conn.execute(
                sa.text("UPDATE bookings SET parent_id = NULL WHERE id = :b"), {"b": booking}
            )
            conn.execute(
                sa.text("UPDATE children SET parent_id = NULL WHERE id = :c"), {"c": child}
            )
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE bookings SET status = 'nonsense'"))
        with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits
            downgrade(directory=str(database.MIGRATIONS), revision="0006")
        db.engine.dispose()
        assert database.schema_revision() == "0008"
        assert _count("bookings") == 1


def test_0009_adds_an_empty_staff_list_and_keeps_the_nurseries(empty_app):
    """Migration 0009: nurseries filed before it keep their rows and get no staff list (their
    certificate rate is "not reported"); the downgrade drops only the new table."""
    from flask_migrate import downgrade, upgrade

    from tests.booking_helpers import make_bookable_nursery

    with empty_app.app_context():
        database.upgrade_schema()
        make_bookable_nursery()
        db.session.remove()
        nurseries = _count("nurseries")
        downgrade(directory=str(database.MIGRATIONS), revision="0008")
        db.engine.dispose()
        assert "nursery_staff" not in sa.inspect(db.engine).get_table_names()
        assert _count("nurseries") == nurseries
        upgrade(directory=str(database.MIGRATIONS), revision="0009")
        db.engine.dispose()
        assert _count("nursery_staff") == 0 and _count("nurseries") == nurseries
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO nursery_staff (nursery_id, name, role) "
                    "VALUES ((SELECT min(id) FROM nurseries), '王老师', 'cook')"
                )
            )


def test_0010_adds_the_filing_tables_and_keeps_the_registry(empty_app):
    """Migration 0010 (online filing): the registry and accounts are kept across a downgrade
    to the revision before it and the upgrade again; the new tables start empty and refuse an
    unknown status."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from accounts.services import create_user
    from tests.booking_helpers import make_bookable_nursery

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0010").down_revision
    tables = {"filing_applications", "filing_events", "filing_attachments"}
    with empty_app.app_context():
        database.upgrade_schema()
        make_bookable_nursery()
        create_user("operator", "mig-operator", "secret-pass-1")
        db.session.remove()
        nurseries, users = _count("nurseries"), _count("users")
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert not tables & set(sa.inspect(db.engine).get_table_names())
        assert (_count("nurseries"), _count("users")) == (nurseries, users)
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert tables <= set(sa.inspect(db.engine).get_table_names())
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == []
        assert _count("filing_applications") == 0
        assert (_count("nurseries"), _count("users")) == (nurseries, users)
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO filing_applications (kind, status, applicant_id, name, "
                    "kind_of_nursery, registration, registration_no, address, lat, lon, "
                    "source_coordsys, serves_meals, care_types, classes_json, staff_json, "
                    "submitted_at, created_at) VALUES ('new', 'lost', (SELECT min(id) FROM "
                    "users), 'x', 'private', 'market', 'x', 'x', 29.6, 106.5, 'wgs84', false, "
                    "'', '[]', '[]', '2026-12-03 10:00:00', '2026-12-03 10:00:00')"
                )
            )


def test_0011_adds_the_ratings_tables_empty_and_refuses_a_second_rating(empty_app):
    """Migration 0011 (family ratings): the registry and bookings filed before it stay; the
    three tables start empty; the database itself refuses a second rating of a child at a
    nursery in one term and stars outside 1–5; downgrade drops only the new tables."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.booking_helpers import make_bookable_nursery

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0011").down_revision
    new_tables = {"ratings", "rating_revisions", "rating_summaries"}
    with empty_app.app_context():
        database.upgrade_schema()
        make_bookable_nursery()
        db.session.remove()
        nurseries = _count("nurseries")
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert not new_tables & set(sa.inspect(db.engine).get_table_names())
        assert _count("nurseries") == nurseries
        upgrade(directory=str(database.MIGRATIONS), revision="0011")
        db.engine.dispose()
        assert all(_count(t) == 0 for t in new_tables) and _count("nurseries") == nurseries
        insert = sa.text(
            "INSERT INTO ratings (nursery_id, term, safety, care, food, communication, value, "
            "created_at, updated_at) VALUES ((SELECT min(id) FROM nurseries), '2026-autumn', "
            ":s, 4, 4, 4, 4, '2026-10-01 09:00:00', '2026-10-01 09:00:00')"
        )
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(insert, {"s": 6})
        with db.engine.begin() as conn:  # no child (anonymised): NULLs never clash
            conn.execute(insert, {"s": 5})
            conn.execute(insert, {"s": 5})
        assert _count("ratings") == 2
        upgrade(directory=str(database.MIGRATIONS))
        assert database.schema_drift() == []


def test_0012_adds_an_empty_policy_table_and_keeps_existing_data(empty_app):
    """Migration 0012 (policy look-up): a database at the revision before it keeps its nurseries
    and gains an empty `policies` table; the downgrade drops only that table; upgrading again
    leaves no drift, and the table refuses an unknown category and a repeated code."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.booking_helpers import make_bookable_nursery

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0012").down_revision
    with empty_app.app_context():
        database.upgrade_schema()
        make_bookable_nursery()
        db.session.remove()
        nurseries = _count("nurseries")
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert "policies" not in sa.inspect(db.engine).get_table_names()
        assert _count("nurseries") == nurseries
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == []
        assert _count("policies") == 0 and _count("nurseries") == nurseries
        insert = (
            "INSERT INTO policies (code, title, category, summary, body, region,"
            " inclusive_required, amount_rule, source_title, hidden, updated_at)"
            " VALUES ('p1', '标题', :category, '摘要', '正文', '全国', false,"
            " '{\"kind\": \"none\"}', '来源', false, CURRENT_TIMESTAMP)"
        )
        with db.engine.begin() as conn:
            conn.execute(sa.text(insert), {"category": "tax"})
        for category in ("lottery", "tax"):  # unknown category; then the code p1 again
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(sa.text(insert), {"category": category})
        assert _count("policies") == 1


def test_0013_adds_the_inspection_tables_and_keeps_the_nurseries(empty_app):
    """Migration 0013 (inspections): upgrading a database with nurseries on file keeps them and
    adds empty inspection, event and verdict tables whose CHECKs refuse an unknown kind; the
    downgrade drops only those tables; upgrading again leaves no drift."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.booking_helpers import make_bookable_nursery

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0013").down_revision
    new = {"inspections", "inspection_events", "complaint_verdicts"}
    with empty_app.app_context():
        database.import_models()
        upgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert not new & _tables()
        make_bookable_nursery()
        db.session.remove()
        nurseries = _count("nurseries")
        upgrade(directory=str(database.MIGRATIONS), revision="0013")
        db.engine.dispose()
        assert new <= _tables()
        assert _count("nurseries") == nurseries and _count("inspections") == 0
        insert = (
            "INSERT INTO inspections (nursery_id, department, kind, inspected_on, findings, "
            "result, status, recorded_at, updated_at) VALUES ((SELECT min(id) FROM nurseries), "
            "'fire', :kind, '2026-11-02', '通道畅通', 'pass', 'passed', "
            "'2026-11-02 10:00:00', '2026-11-02 10:00:00')"
        )
        with db.engine.begin() as conn:
            conn.execute(sa.text(insert), {"kind": "fire"})
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(insert), {"kind": "noise"})
        assert _count("inspections") == 1
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert not new & _tables()
        assert _count("nurseries") == nurseries
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert new <= _tables() and _count("inspections") == 0
        assert database.schema_drift() == []


def test_0014_adds_an_empty_idempotency_table_and_keeps_the_bookings(empty_app):
    """Migration 0014 (Idempotency-Key): a new, empty table; the downgrade drops only it (retries
    are then new requests); the key digest is unique."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.booking_helpers import make_bookable_nursery

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0014").down_revision
    with empty_app.app_context():
        database.upgrade_schema()
        make_bookable_nursery()
        db.session.remove()
        nurseries = _count("nurseries")
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert "idempotent_requests" not in _tables() and _count("nurseries") == nurseries
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == [] and _count("idempotent_requests") == 0
        row = (
            "INSERT INTO idempotent_requests (key_digest, fingerprint, status, answer, created_at)"
            " VALUES ('d', 'f', 201, :a, '2026-12-03 10:00:00')"
        )
        with db.engine.begin() as conn:
            conn.execute(sa.text(row), {"a": b"x"})
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(row), {"a": b"y"})


def test_0015_adds_the_reminders_table_and_keeps_the_complaints(empty_app):
    """Migration 0015 (deadline reminders): complaints filed before it stay; the new table is
    empty and refuses the same reminder twice; the downgrade drops only it."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0015").down_revision
    with empty_app.app_context():
        database.upgrade_schema()
        complaint = _file_a_complaint()
        complaints = _count("complaints")
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        assert "complaint_deadline_reminders" not in _tables()
        assert _count("complaints") == complaints
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == [] and _count("complaint_deadline_reminders") == 0
        row = (
            "INSERT INTO complaint_deadline_reminders (complaint_id, deadline, due, stage, "
            "sent_at) VALUES (:c, 'accept', '2026-12-04 17:00:00', 'soon', '2026-12-03 17:00:00')"
        )
        with db.engine.begin() as conn:
            conn.execute(sa.text(row), {"c": complaint})
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(row), {"c": complaint})


def test_0016_adds_geography_positions_where_postgis_is_there(empty_app):
    """Migration 0016 (PostGIS): on PostgreSQL with PostGIS, nurseries filed before it get a
    geography position equal to their lon/lat, kept right on later updates, with a GiST index;
    on SQLite nothing changes. No drift either way; the downgrade drops only the column."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from maps.models import Nursery
    from maps.postgis import geography_present

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision("0016").down_revision
    with empty_app.app_context():
        upgrade(directory=str(database.MIGRATIONS), revision=before)
        db.session.add(Nursery(name="旧园", address="旧址", lat=29.5, lon=106.5, filing_no="F-1"))
        db.session.commit()
        upgrade(directory=str(database.MIGRATIONS))
        db.engine.dispose()
        assert database.schema_revision() == database.head_revision()
        assert database.schema_drift() == []
        with db.engine.begin() as conn:
            postgis = (
                conn.dialect.name == "postgresql"
                and conn.execute(
                    sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
                ).first()
                is not None
            )
            assert geography_present(conn) is postgis
            if postgis:
                point = "SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM nurseries"
                assert conn.execute(sa.text(point)).one() == (29.5, 106.5)
                conn.execute(sa.text("UPDATE nurseries SET lat = 29.6"))
                assert conn.execute(sa.text(point)).one() == (29.6, 106.5)
                index = conn.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_nurseries_geog'")
                ).scalar_one()
                assert "USING gist (geog)" in index
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        with db.engine.connect() as conn:
            assert not geography_present(conn)
        assert _count("nurseries") == 1


def _upgrade_over_a_loaded_edge(revision: str) -> str:
    """Upgrade to just before `revision`, load one walking edge (10 m, costing 20 m) as that
    release would, then upgrade to head with no drift; returns the revision before."""
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    before = ScriptDirectory(str(database.MIGRATIONS)).get_revision(revision).down_revision
    upgrade(directory=str(database.MIGRATIONS), revision=before)
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO walk_edges (id, u, v, length_m, cost_m)"
                             " VALUES (0, 0, 1, 10.0, 20.0)"))  # fmt: skip
    upgrade(directory=str(database.MIGRATIONS))
    db.engine.dispose()
    assert database.schema_drift() == []
    return before


def test_0017_keeps_a_loaded_network_two_way_at_street_level(empty_app):
    """Migration 0017 (walking edges' direction and level): a network loaded before it reads as
    it did, every edge two-way at street level; the downgrade drops only the two columns."""
    from flask_migrate import downgrade

    with empty_app.app_context():
        before = _upgrade_over_a_loaded_edge("0017")
        with db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT oneway, ground, cost_m FROM walk_edges")).one()
        assert (bool(row[0]), bool(row[1]), row[2]) == (False, True, 20.0)
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("walk_edges")}
        assert "oneway" not in columns and "ground" not in columns
        assert _count("walk_edges") == 1


def test_0018_gives_a_loaded_network_the_same_cost_back_and_keeps_its_checks(empty_app):
    """Migration 0018 (cost each way, and the elevation model's name): a network loaded before
    it walks back at its cost_m; the edges' checks survive SQLite's table copy and the new one
    holds; the downgrade drops only the two columns."""
    from flask_migrate import downgrade

    with empty_app.app_context():
        before = _upgrade_over_a_loaded_edge("0018")
        with db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT cost_back_m, oneway, ground FROM walk_edges")).one()
            assert (row[0], bool(row[1]), bool(row[2])) == (20.0, False, True)
            assert conn.execute(sa.text("SELECT dem_source FROM walk_network")).all() == []
        bad_rows = [
            "(1, 0, 0, 10.0, 20.0, 20.0)",  # a loop
            "(1, 0, 1, 10.0, 5.0, 20.0)",  # cheaper than its length
            "(1, 0, 1, 10.0, 20.0, 5.0)",  # cheaper back than its length
        ]
        for values in bad_rows:
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO walk_edges (id, u, v, length_m, cost_m,"
                                     f" cost_back_m) VALUES {values}"))  # fmt: skip
        downgrade(directory=str(database.MIGRATIONS), revision=before)
        db.engine.dispose()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("walk_edges")}
        assert "cost_back_m" not in columns and "oneway" in columns
        assert "dem_source" not in {
            c["name"] for c in sa.inspect(db.engine).get_columns("walk_network")
        }
        assert _count("walk_edges") == 1
