"""The shape of the code (docs/architecture.md): one transaction helper, the same file roles in
every feature package, plain rules free of Flask and the database. Read from the source with
`ast`, so a new module that breaks a rule fails here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FEATURES = [
    "accounts",
    "maps",
    "booking",
    "complaints",
    "planning",
    "notifications",
    "filing",
    "policies",
    "ratings",
    "inspections",
]
# Every feature package has these roles, as a module or a package of modules.
ROLES = ["models", "services", "queries", "views", "api", "forms", "cli"]
# Roles a feature does without, and why (kept short: each is a decision).
ABSENT = {
    ("notifications", "views"): "the inbox is shown by the booking pages",
    ("notifications", "api"): "GET /api/v1/inbox belongs to the booking API",
    ("notifications", "forms"): "nothing to fill in",
    ("notifications", "cli"): "the outbox is drained by every use case and `bookings expire`",
    ("planning", "api"): "planners read pages and CSV/GeoJSON exports",
    ("planning", "forms"): "the dashboard takes query parameters only",
    ("filing", "api"): "applications carry uploaded documents: pages only (issue 12)",
    ("inspections", "api"): "its public summary is in GET /api/v1/nurseries/<id> (maps/api.py)",
}
# Plain rules: no Flask, no SQLAlchemy, no database access, testable by the hundred.
PLAIN_RULES = [
    "maps/domain.py",
    "maps/coords.py",
    "maps/geo.py",
    "maps/standards.py",
    "maps/pricing.py",
    "booking/rules.py",
    "booking/slots.py",
    "complaints/routing.py",
    "complaints/deadlines.py",
    "complaints/codes.py",
    "complaints/masking.py",
    "complaints/validation.py",
    "workdays/calendar.py",
    "filing/rules.py",
    "policies/document.py",
    "policies/eligibility.py",
    "ratings/rules.py",
    "inspections/rules.py",
    "planning/osm.py",
    "planning/elevation.py",
]
# gunicorn.conf.py: the server's settings, read by gunicorn from the working directory.
ROOT_MODULES = {
    "app.py",
    "config.py",
    "database.py",
    "errors.py",
    "extensions.py",
    "gunicorn.conf.py",
}


def _source_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "bench", "migrations", "instance"}:
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))


def _calls(tree: ast.AST, attribute: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == attribute:
                yield node.lineno


def test_nothing_commits_or_rolls_back_outside_the_transaction_helper():
    found = [
        f"{rel}:{line} {verb}()"
        for rel, tree in _source_files()
        if rel != Path("database.py")
        for verb in ("commit", "rollback", "begin_write")
        for line in _calls(tree, verb)
    ]
    assert found == []


def _is_service_module(rel: Path) -> bool:
    return rel.stem == "services" or "services" in rel.parts[:-1] or rel.parts[0] == "demo"


def test_only_services_open_a_use_case():
    """Views, queries, models and CLI commands call a service; they never open a transaction."""
    found = [
        f"{rel}:{line}"
        for rel, tree in _source_files()
        if rel != Path("database.py") and not _is_service_module(rel)
        for line in _calls(tree, "use_case")
    ]
    assert found == []


@pytest.mark.parametrize("package", FEATURES)
def test_every_feature_package_has_the_same_file_roles(package):
    missing = [
        role
        for role in ROLES
        if (package, role) not in ABSENT
        and not (ROOT / package / f"{role}.py").is_file()
        and not (ROOT / package / role / "__init__.py").is_file()
    ]
    assert missing == []


def test_the_absent_roles_are_really_absent():
    """A role listed as absent that exists now should be taken off the list."""
    present = [
        (package, role)
        for package, role in ABSENT
        if (ROOT / package / f"{role}.py").exists() or (ROOT / package / role).exists()
    ]
    assert present == []


def _imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", PLAIN_RULES)
def test_plain_rules_import_neither_flask_nor_the_database(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    forbidden = {"flask", "flask_sqlalchemy", "flask_login", "sqlalchemy", "extensions"}
    assert _imported_modules(tree) & forbidden == set()


def test_the_root_holds_only_what_is_app_wide():
    assert {p.name for p in ROOT.glob("*.py")} == ROOT_MODULES


def test_production_code_never_imports_the_demo():
    found = [
        str(rel)
        for rel, tree in _source_files()
        if rel.parts[0] != "demo" and "demo" in _imported_modules(tree)
    ]
    # app.py registers the `demo-data` command only; the command imports the demo when run.
    assert found == ["app.py"]
