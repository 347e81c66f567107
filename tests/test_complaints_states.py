"""The complaint's state machine on the model: which actions each role may take in each state
(`Complaint.allowed_actions`), and that the transitions refuse exactly what it does not allow.
Plain objects, no database: the case pages and the use cases both ask these methods."""

from datetime import datetime, timedelta

import pytest

from complaints.models import ACTIONS, LEAD_ACTIONS, ROLE_ACTIONS, STATUSES, Complaint
from errors import DomainError

NOW = datetime(2026, 3, 2, 10, 0)
ROLES = ("lead", "co", "informed", "transfer", "complainant", None)
ALWAYS_LEAD = {"note", "public_note", "reveal_contact"}  # the lead's, in any state

# status → what the lead may do (no transfer pending, never extended, not rated)
LEAD = {
    "submitted": {"accept", "refuse", "recategorise", "transfer", "duplicate", "close"},
    "accepted": {"recategorise", "transfer", "request_info", "extend", "resolve", "duplicate"}
    | {"close"},
    "awaiting_info": {"recategorise", "transfer", "extend", "resolve", "duplicate", "close"},
    "reopened": {"recategorise", "transfer", "request_info", "extend", "resolve", "duplicate"}
    | {"close"},
    "resolved": {"close", "reopen"},
    "closed": {"reopen"},
    "duplicate": {"reopen"},
    "not_accepted": {"reopen"},
}
# status → what the complainant (holding the code) may do
COMPLAINANT = {
    "submitted": set(),
    "accepted": set(),
    "awaiting_info": {"answer"},
    "reopened": set(),
    "resolved": {"rate"},
    "closed": {"rate"},  # closed after its resolution, not rated yet
    "duplicate": set(),
    "not_accepted": set(),
}


def case(status: str, **kw) -> Complaint:
    """A complaint in `status` as the use cases leave it (resolved ones carry resolved_at)."""
    finished = status in ("resolved", "closed")
    fields = {
        "status": status,
        "lead_department": "health",
        "filed_at": NOW - timedelta(days=10),
        "accept_by": NOW + timedelta(days=5),
        "conclude_by": NOW + timedelta(days=50),
        "resolved_at": NOW - timedelta(days=1) if finished else None,
        "urgent": False,
        "street_id": 1,
    }
    fields.update(kw)
    return Complaint(**fields)


def test_the_tables_cover_every_status():
    assert set(LEAD) == set(COMPLAINANT) == set(STATUSES)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("role", ROLES)
def test_allowed_actions_for_each_status_and_role(status, role):
    c = case(status)
    expected = {
        "lead": LEAD[status] | ALWAYS_LEAD,
        "co": {"note", "reveal_contact"},
        "informed": {"note"},
        "transfer": set(),  # nothing offered to it: no transfer is pending
        "complainant": COMPLAINANT[status],
        None: set(),
    }[role]
    assert c.allowed_actions(role) == expected


@pytest.mark.parametrize("status", STATUSES)
def test_a_department_not_routed_to_the_case_may_do_nothing(status):
    """A handler of another department (or another street) has no role: no action at all."""
    assert case(status).allowed_actions(None) == set()
    assert case(status).allowed_actions("nursery_staff") == set()


@pytest.mark.parametrize("status", ["submitted", "accepted", "awaiting_info", "reopened"])
def test_a_pending_transfer_is_answered_by_its_department_and_blocks_accept_and_transfer(status):
    c = case(status, pending_transfer_to="market", transfer_reason="属市场监管")
    assert c.allowed_actions("transfer") == {"accept_transfer", "decline_transfer"}
    lead = c.allowed_actions("lead")
    # Nor may the lead refuse it (不予受理) while another department may still take it.
    assert not lead & {"accept", "refuse", "transfer", "recategorise"}
    assert lead == (LEAD[status] - {"accept", "refuse", "transfer", "recategorise"}) | ALWAYS_LEAD
    assert c.allowed_actions("co") == {"note", "reveal_contact"}


def test_the_deadline_is_extended_once():
    assert "extend" in case("accepted").allowed_actions("lead")
    assert "extend" not in case("accepted", extended_days=5).allowed_actions("lead")
    with pytest.raises(DomainError) as info:
        case("accepted", extended_days=5).extend(3, "再延")
    assert (info.value.code, info.value.message) == ("invalid_extension", "办理期限只能延长一次")


def test_a_resolution_is_rated_once():
    rated = case("resolved", rating="satisfied", rated_at=NOW)
    assert "rate" not in rated.allowed_actions("complainant")
    rerated = case("resolved", rating="satisfied", rated_at=NOW - timedelta(days=3))
    assert "rate" in rerated.allowed_actions("complainant")  # re-resolved after a review
    assert case("closed", resolved_at=None).allowed_actions("complainant") == set()


def test_only_the_lead_takes_the_lead_actions():
    assert LEAD_ACTIONS == ROLE_ACTIONS["lead"] - {"note", "reveal_contact"}
    for role in ("co", "informed", "transfer", None):
        for action in LEAD_ACTIONS:
            with pytest.raises(DomainError) as info:
                Complaint.authorize(role, action)
            assert (info.value.code, info.value.status) == ("not_lead", 403)
            assert info.value.message == f"只有牵头部门可以{ACTIONS[action]}"
    with pytest.raises(DomainError) as info:
        Complaint.authorize("informed", "reveal_contact")
    assert info.value.code == "not_handling"
    Complaint.authorize("co", "reveal_contact")
    Complaint.authorize("lead", "accept")


PENDING = [None, "market"]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("pending", PENDING)
def test_the_state_refuses_exactly_what_allowed_actions_leaves_out(status, pending):
    """One encoding: a transition's state check passes iff the action is allowed (for a role
    that may take it), so the page never offers what the use case refuses, nor the reverse."""
    for role, actions in ROLE_ACTIONS.items():
        c = case(status, pending_transfer_to=pending)
        allowed = c.allowed_actions(role)
        for action in actions:
            try:
                c.check(action, "market" if role == "transfer" else None)
            except DomainError:
                assert action not in allowed, (role, action)
            else:
                assert action in allowed, (role, action)


def test_transitions_move_the_case_through_its_states():
    c = case("submitted", urgent=False)
    c.accept(NOW)
    assert (c.status, c.accepted_at) == ("accepted", NOW)
    assert c.conclude_by > NOW
    c.request_info()
    assert c.status == "awaiting_info"
    c.provide_info()
    assert c.status == "accepted"
    c.resolve("已整改", NOW + timedelta(days=1))
    assert (c.status, c.result) == ("resolved", "已整改")
    reopened = c.rate("dissatisfied", NOW + timedelta(days=2))
    assert reopened and c.status == "reopened" and c.rating == "dissatisfied"
    c.close("不予受理", NOW + timedelta(days=3))
    assert c.status == "closed" and not c.is_open
    c.reopen(NOW + timedelta(days=4))
    assert c.status == "reopened" and c.closed_at is None


def test_a_refused_transition_changes_nothing():
    c = case("submitted")
    with pytest.raises(DomainError) as info:
        c.resolve("办结", NOW)
    assert (info.value.code, info.value.status) == ("not_in_progress", 409)
    assert (c.status, c.result, c.resolved_at) == ("submitted", None, None)
    with pytest.raises(DomainError) as info:
        c.close(None, NOW)  # not resolved: a reason is required
    assert info.value.code == "missing_reason" and c.status == "submitted"


def test_the_deadline_kind_follows_the_state():
    assert case("submitted").deadline_kind() == "accept"
    assert case("accepted").next_deadline() == case("accepted").conclude_by
    assert {case(s).deadline_kind() for s in ("accepted", "awaiting_info", "reopened")} == {
        "conclude"
    }
    assert {case(s).deadline_kind() for s in ("resolved", "closed", "duplicate")} == {None}


PLAIN_RULES = ["codes", "masking", "validation", "routing", "deadlines"]


@pytest.mark.parametrize("module", PLAIN_RULES)
def test_the_plain_complaint_rules_import_neither_flask_nor_the_database(module):
    import ast
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "complaints" / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = {"flask", "flask_sqlalchemy", "flask_login", "sqlalchemy", "extensions", "database"}
    assert imported & forbidden == set()
