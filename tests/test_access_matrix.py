"""The access matrix (DESIGN §7: every role sees only its own data): role × route × method.

The routes come from `app.url_map`, so a new one cannot escape: `POLICY` names, for every
endpoint and method, who may use it and how its URL parameters are filled with ids of objects
someone owns (`tests/access_world.py`), and `test_every_route_has_a_policy` fails for a rule
without an entry (or an entry without a rule). Then every role calls every case:

- allowed: the access check lets it through (any answer but 401/403/404 or the login page;
  an empty form may well be refused as a 400 after that);
- denied: anonymous visitors get the login page (pages) or 401 (the API), other accounts 403
  or 404 — and a peer (another parent, nursery, department) always 404: someone else's object
  does not exist for them;
- either way the body never carries a marker of data the role may not see (children's names
  and health notes, complainants' names, phones, e-mails and descriptions).

State-changing methods are called with an empty body and CSRF off, so the access check is
what refuses them. The world is built once per database and each role keeps one client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from accounts.models import User
from booking.models import Booking, Child
from complaints.models import Complaint, ComplaintEvent
from extensions import db
from filing.models import FilingApplication, FilingEvent
from inspections.models import ComplaintVerdict, Inspection, InspectionEvent
from maps.models import NurseryClass
from ratings.models import Rating
from tests.access_world import ROLES, build
from tests.conftest import _app_on, login

EVERYONE = frozenset(ROLES)
ACCOUNTS = EVERYONE - {"anonymous"}
PARENTS = frozenset({"parent_a", "parent_b"})
STAFF = frozenset({"staff_x", "staff_y"})
HANDLERS = frozenset({"handler_d1", "handler_d2", "street_s1"})
ADMIN = frozenset({"admin"})
OPERATORS = frozenset({"operator_a", "operator_b"})
FILING_A = {"application_id": "{filing_a}"}
ON_X = frozenset({"handler_d1", "street_s1"})  # routed to the complaint about X
ON_Y = frozenset({"handler_d2"})  # routed to the complaint about Y


@dataclass(frozen=True)
class Case:
    """One way of calling a route: URL parameters (format strings over the world's ids and
    `code_<complaint>` tracking codes), who may, and what the others get."""

    allow: frozenset
    params: dict = field(default_factory=dict)
    public: bool = False  # anyone; only the markers are checked
    status: int | None = None  # the one status every denied role gets (a hidden object: 404)
    forbidden: frozenset = frozenset()  # peers refused by role in the case (403), not hidden
    peers: frozenset = frozenset()  # roles for whom the object must not exist (404)
    fresh: bool = False  # call with a client of its own (logging out)


def public(**params) -> list[Case]:
    return [Case(EVERYONE, params, public=True)]


def only(roles, **params) -> list[Case]:
    return [Case(frozenset(roles), params)]


def owned(*pairs, **common) -> list[Case]:
    """(roles, {param: value}) pairs: the same route on objects of different owners."""
    return [Case(frozenset(roles), {**common, **params}) for roles, params in pairs]


BOOKINGS = (
    ({"parent_a"}, {"booking_id": "{booking_a_x}"}),
    ({"parent_b"}, {"booking_id": "{booking_b_y}"}),
)
AT_NURSERY = (
    ({"staff_x"}, {"booking_id": "{booking_a_x}"}),
    ({"staff_y"}, {"booking_id": "{booking_b_y}"}),
)
CASES = ((ON_X, {"complaint_id": "{complaint_x}"}), (ON_Y, {"complaint_id": "{complaint_y}"}))
# not filed, so not public: it does not exist for anyone
HIDDEN_NURSERY = Case(frozenset(), {"nursery_id": "{z}"}, status=404)
HIDDEN_FROM_PARENTS = Case(frozenset(), {"nursery_id": "{z}"}, peers=PARENTS)

POLICY: dict[tuple[str, str], list[Case]] = {
    # --- public pages and documents --------------------------------------------------------
    ("health.healthz", "GET"): public(),
    ("health.readyz", "GET"): public(),
    ("static", "GET"): public(filename="css/site.css"),
    ("maps.leaflet", "GET"): public(filename="leaflet.js"),
    ("maps.index", "GET"): public(),
    ("maps.check_home", "GET"): public(),
    ("maps.nursery", "GET"): [*public(nursery_id="{x}"), HIDDEN_NURSERY],
    ("openapi.openapi", "GET"): public(),
    ("accounts.login", "GET"): public(),
    ("accounts.login", "POST"): public(),
    ("accounts.register", "GET"): public(),
    ("accounts.register", "POST"): public(),
    ("accounts.logout", "POST"): [Case(EVERYONE, public=True, fresh=True)],
    # any account changes its own password (an empty form is refused, nothing changes)
    ("accounts.change_password", "GET"): only(ACCOUNTS),
    ("accounts.change_password", "POST"): only(ACCOUNTS),
    # --- the public JSON API ---------------------------------------------------------------
    ("api.list_nurseries", "GET"): public(),
    ("api.get_nursery", "GET"): [*public(nursery_id="{x}"), HIDDEN_NURSERY],
    ("api.circles", "GET"): public(),
    ("api.places", "GET"): public(),
    ("api.create_token", "POST"): public(),
    # a token holder revokes the token it presents (a token of its own: the shared one stays)
    ("api.revoke_token", "DELETE"): [Case(ACCOUNTS, fresh=True)],
    ("api.register", "POST"): public(),
    # --- complaints: the public side (whoever holds the code) -------------------------------
    ("complaints.new", "GET"): public(),
    ("complaints.file", "POST"): public(),
    ("complaints.filed", "GET"): public(),
    ("complaints.filed_done", "POST"): public(),
    ("complaints.track_form", "GET"): public(),
    ("complaints.track", "GET"): public(code="{code_complaint_x}"),
    ("complaints.answer", "POST"): public(code="{code_complaint_x}"),
    ("complaints.rate", "POST"): public(code="{code_complaint_y}"),
    ("open311.openapi_document", "GET"): public(),
    ("open311.list_services", "GET"): public(fmt="json"),
    ("open311.service_definition", "GET"): public(service_code="hygiene", fmt="xml"),
    ("open311.create_request", "POST"): public(fmt="json"),
    ("open311.get_request", "GET"): [
        *public(service_request_id="{code_complaint_x}", fmt="json"),
        Case(ON_X, {"service_request_id": "case-{complaint_x}", "fmt": "json"}),
        Case(ON_Y, {"service_request_id": "case-{complaint_y}", "fmt": "xml"}),
    ],
    # without a token the public listing; with a token, a handler's own department only
    ("open311.list_requests", "GET"): only(HANDLERS | {"anonymous"}, fmt="json"),
    # --- families --------------------------------------------------------------------------
    ("booking.children", "GET"): only(PARENTS),
    ("booking.new_child", "GET"): only(PARENTS),
    ("booking.new_child", "POST"): only(PARENTS),
    ("booking.delete_child", "GET"): owned(
        ({"parent_a"}, {"child_id": "{child_a_x}"}), ({"parent_b"}, {"child_id": "{child_b_y}"})
    ),
    ("booking.delete_child", "POST"): owned(({"parent_a"}, {"child_id": "{child_a_spare}"})),
    ("booking.book", "GET"): [*only(PARENTS, nursery_id="{x}"), HIDDEN_FROM_PARENTS],
    ("booking.book", "POST"): [*only(PARENTS, nursery_id="{y}"), HIDDEN_FROM_PARENTS],
    ("booking.bookings", "GET"): only(PARENTS),
    ("booking.cancel", "POST"): owned(*BOOKINGS),
    ("booking.accept", "POST"): owned(*BOOKINGS),
    ("booking.inbox", "GET"): only(ACCOUNTS),
    # family ratings (ratings/): a parent's own; rating a hidden nursery is 404 for parents
    ("ratings.mine", "GET"): only(PARENTS),
    ("ratings.new", "GET"): [*only(PARENTS, nursery_id="{x}"), HIDDEN_FROM_PARENTS],
    ("ratings.new", "POST"): [*only(PARENTS, nursery_id="{x}"), HIDDEN_FROM_PARENTS],
    ("ratings.edit", "GET"): owned(({"parent_a"}, {"rating_id": "{rating_a_x}"})),
    ("ratings.edit", "POST"): owned(({"parent_a"}, {"rating_id": "{rating_a_x}"})),
    ("rating_portal.ratings", "GET"): only(STAFF),
    ("rating_portal.reply", "POST"): owned(({"staff_x"}, {"rating_id": "{rating_a_x}"})),
    ("rating_admin.queue", "GET"): only(ADMIN),
    ("rating_admin.moderate", "POST"): only(ADMIN, rating_id="{rating_a_x}"),
    ("api.nursery_ratings", "GET"): [*public(nursery_id="{x}"), HIDDEN_NURSERY],
    ("api.add_child", "POST"): only(PARENTS),
    ("api.list_children", "GET"): only(PARENTS),
    ("api.delete_child", "DELETE"): owned(({"parent_a"}, {"child_id": "{child_a_spare_api}"})),
    ("api.create_booking", "POST"): only(PARENTS),
    ("api.list_bookings", "GET"): only(PARENTS),
    ("api.get_booking", "GET"): owned(*BOOKINGS),
    ("api.cancel_booking", "POST"): owned(*BOOKINGS),
    ("api.accept_offer", "POST"): owned(*BOOKINGS),
    ("api.my_inbox", "GET"): only(ACCOUNTS),
    # --- nursery staff ---------------------------------------------------------------------
    ("portal.dashboard", "GET"): only(STAFF),
    ("portal.bookings", "GET"): only(STAFF),
    ("portal.waitlist", "GET"): only(STAFF),
    ("portal.classes", "GET"): only(STAFF),
    ("portal.classes", "POST"): only(STAFF),
    ("portal.offers", "GET"): only(STAFF),
    ("portal.offers", "POST"): only(STAFF),
    ("portal.confirm", "POST"): owned(*AT_NURSERY),
    ("portal.decline", "POST"): owned(*AT_NURSERY),
    ("portal.move_to_front", "POST"): owned(*AT_NURSERY),
    ("portal.delete_class", "POST"): owned(
        ({"staff_x"}, {"class_id": "{x_spare_class_page}"}),
        ({"staff_y"}, {"class_id": "{y_spare_class_page}"}),
    ),
    ("api.nursery_bookings", "GET"): only(STAFF),
    ("api.nursery_occupancy", "GET"): only(STAFF),
    ("api.list_classes", "GET"): only(STAFF),
    ("api.create_class", "POST"): only(STAFF),
    ("api.put_offer", "PUT"): only(STAFF, care_type="full_day"),
    ("api.confirm_booking", "POST"): owned(*AT_NURSERY),
    ("api.decline_booking", "POST"): owned(*AT_NURSERY),
    ("api.move_booking_to_front", "POST"): owned(*AT_NURSERY),
    ("api.change_class", "PUT"): owned(
        ({"staff_x"}, {"class_id": "{x_class}"}), ({"staff_y"}, {"class_id": "{y_class}"})
    ),
    ("api.change_class", "DELETE"): owned(
        ({"staff_x"}, {"class_id": "{x_spare_class_api}"}),
        ({"staff_y"}, {"class_id": "{y_spare_class_api}"}),
    ),
    # --- online filing: applicants their own applications, staff their nursery's ------------
    ("filing.register", "GET"): public(),
    ("filing.register", "POST"): public(),
    ("filing.mine", "GET"): only(OPERATORS | STAFF),
    ("filing.new", "GET"): only(OPERATORS),
    ("filing.new", "POST"): only(OPERATORS),
    ("filing.detail", "GET"): owned(
        ({"operator_a"}, FILING_A), ({"staff_x"}, {"application_id": "{filing_x}"})
    ),
    ("filing.correct", "GET"): owned(({"operator_a"}, FILING_A)),
    ("filing.correct", "POST"): owned(({"operator_a"}, FILING_A)),
    ("filing.attachment", "GET"): owned(
        ({"operator_a"}, {**FILING_A, "attachment_id": "{filing_a_file}"})
    ),
    ("filing.change", "GET"): only(STAFF),
    ("filing.change", "POST"): only(STAFF),
    ("filing.closure", "GET"): only(STAFF),
    ("filing.closure", "POST"): only(STAFF),
    ("filing_admin.queue", "GET"): only(ADMIN),
    ("filing_admin.review", "GET"): only(ADMIN, **FILING_A),
    ("filing_admin.review_attachment", "GET"): only(
        ADMIN, **FILING_A, attachment_id="{filing_a_file}"
    ),
    # an empty decision is refused (reasons, the confirmation): nothing changes
    ("filing_admin.return_application", "POST"): only(ADMIN, application_id="{filing_x}"),
    ("filing_admin.approve", "POST"): only(ADMIN, application_id="{filing_x}"),
    ("filing_admin.refuse", "POST"): only(ADMIN, application_id="{filing_x}"),
    # --- complaint handlers: routed cases only ---------------------------------------------
    ("handling.queue", "GET"): only(HANDLERS),
    ("handling.stats", "GET"): only(HANDLERS),
    ("handling.case", "GET"): owned(*CASES),
    ("handling.photo", "GET"): [
        *owned(
            (ON_X, {"complaint_id": "{complaint_x}", "photo_id": "{complaint_x_photo}"}),
            (ON_Y, {"complaint_id": "{complaint_y}", "photo_id": "{complaint_y_photo}"}),
        ),
        # a photo of another case through a case the handler may see
        Case(frozenset(), {"complaint_id": "{complaint_x}", "photo_id": "{complaint_y_photo}"}),
    ],
    ("handling.contact", "POST"): owned(*CASES),
    ("handling.act", "POST"): [
        *owned(*CASES, action="note"),
        # the lead's action: the street co-handles, so it is refused by role (403), not hidden
        Case(
            frozenset({"handler_d1"}),
            {"complaint_id": "{complaint_x}", "action": "accept"},
            forbidden=frozenset({"street_s1"}),
        ),
        *owned((ON_Y, {"complaint_id": "{complaint_y}"}), action="transfer"),
    ],
    # --- inspections: departments write, every handler reads, the nursery its own ---------
    ("inspections.index", "GET"): only(HANDLERS),
    ("inspections.new", "GET"): only(HANDLERS),
    ("inspections.new", "POST"): only(HANDLERS),
    ("inspections.show", "GET"): only(HANDLERS, inspection_id="{inspection_x}"),
    # d1 recorded it: the other departments read it but are refused (403) its follow-up
    ("inspections.follow_up", "POST"): [
        Case(
            frozenset({"handler_d1"}),
            {"inspection_id": "{inspection_x}"},
            forbidden=ON_Y | {"street_s1"},
        )
    ],
    ("inspections.close", "POST"): [
        Case(
            frozenset({"handler_d1"}),
            {"inspection_id": "{inspection_x}"},
            forbidden=ON_Y | {"street_s1"},
        )
    ],
    ("inspections.nursery", "GET"): [
        *only(HANDLERS, nursery_id="{x}"),
        Case(frozenset(), {"nursery_id": "{z}"}, peers=HANDLERS),  # not filed
    ],
    # a verdict on a complaint routed to the handler (the form is empty: refused as a 400)
    ("inspections.verdict", "POST"): owned(
        (ON_X, {"nursery_id": "{x}", "complaint_id": "{complaint_x}"}),
        (ON_Y, {"nursery_id": "{y}", "complaint_id": "{complaint_y}"}),
    ),
    ("inspections_portal.portal_list", "GET"): only(STAFF),
    ("inspections_portal.portal_show", "GET"): owned(
        ({"staff_x"}, {"inspection_id": "{inspection_x}"})
    ),
    # --- the district admin ----------------------------------------------------------------
    ("audit.log", "GET"): only(ADMIN),
    # a parent's own data: the page, the JSON download, deletion (an empty form deletes nothing)
    ("booking.account", "GET"): only(PARENTS),
    ("booking.export_account", "GET"): only(PARENTS),
    ("booking.delete_account", "POST"): only(PARENTS),
    # --- policy look-up (托育政策查询): public search and helper, the admin's pages ----------
    ("policies.index", "GET"): public(),
    ("policies.for_me", "GET"): public(),
    ("api.list_policies", "GET"): public(),
    ("api.policies_for_me", "GET"): public(),
    ("policy_admin.admin_list", "GET"): only(ADMIN),
    ("policy_admin.admin_new", "GET"): only(ADMIN),
    ("policy_admin.admin_new", "POST"): only(ADMIN),
    ("policy_admin.admin_edit", "GET"): only(ADMIN, policy_id="{policy}"),
    ("policy_admin.admin_edit", "POST"): only(ADMIN, policy_id="{policy}"),
    ("policy_admin.admin_hide", "POST"): only(ADMIN, policy_id="{policy}"),
    ("policy_admin.admin_show", "POST"): only(ADMIN, policy_id="{policy}"),
    ("policy_admin.admin_import", "POST"): only(ADMIN),
    ("policy_admin.admin_export", "GET"): only(ADMIN),
    ("price_admin.prices", "GET"): only(ADMIN),
    ("price_admin.export_prices", "GET"): only(ADMIN),
    ("price_admin.import_prices", "POST"): only(ADMIN),
    ("complaint_admin.index", "GET"): only(ADMIN),
    ("complaint_admin.category", "GET"): only(ADMIN, code="hygiene"),
    ("complaint_admin.category", "POST"): only(ADMIN, code="hygiene"),
    ("complaint_admin.departments", "GET"): only(ADMIN),
    ("complaint_admin.departments", "POST"): only(ADMIN),
    ("complaint_admin.export_rules", "GET"): only(ADMIN),
    ("complaint_admin.import_rules", "POST"): only(ADMIN),
    ("complaint_admin.edit_json", "GET"): only(ADMIN),
    ("complaint_admin.edit_json", "POST"): only(ADMIN),
    ("complaint_admin.preview", "GET"): only(ADMIN),
    ("complaint_admin.preview", "POST"): only(ADMIN),
    ("complaint_admin.holidays", "GET"): only(ADMIN),
    ("complaint_admin.import_holidays", "POST"): only(ADMIN),
    ("complaint_admin.export_holidays", "GET"): only(ADMIN, year="2025"),
    ("planning.dashboard", "GET"): only(ADMIN),
    ("planning.dashboard_slash", "GET"): only(ADMIN),
    ("planning.printable_report", "GET"): only(ADMIN),
    ("planning.map_data", "GET"): only(ADMIN),
    ("planning.isochrones", "GET"): only(ADMIN),
    ("planning.export_indicators_csv", "GET"): only(ADMIN),
    ("planning.export_gaps_csv", "GET"): only(ADMIN),
    ("planning.export_indicators_geojson", "GET"): only(ADMIN),
    ("planning.export_gaps_geojson", "GET"): only(ADMIN),
}

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _routes(app) -> dict[tuple[str, str], list]:
    """(endpoint, method) → the rules serving it, from the URL map."""
    routes: dict[tuple[str, str], list] = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & set(METHODS)):
            routes.setdefault((rule.endpoint, method), []).append(rule)
    return routes


# --- the world: one per database, one client per role ----------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def matrix(request, tmp_path_factory):
    """(app, world, clients): the world built once per database; every role logged in."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("matrix") / "matrix.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
    setup = _app_on(url, empty_first=request.param == "postgresql")
    app = next(setup)
    app.config["WTF_CSRF_ENABLED"] = False  # a refusal is the access check, never CSRF
    world = build(app)
    clients = {role: app.test_client() for role in ROLES}
    for role, client in clients.items():
        if role != "anonymous":
            login(client, world.users[role])
    yield app, world, clients
    next(setup, None)


def _url(rule, case: Case, world) -> str:
    values = {**world.ids, **{f"code_{k}": v for k, v in world.codes.items()}}
    params = {name: value.format(**values) for name, value in case.params.items()}
    missing = set(rule.arguments) - set(params)
    assert not missing, f"{rule.rule}: the policy fills no {sorted(missing)}"
    return PARAM.sub(lambda m: params[m.group(1)], rule.rule)


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/open311/"))


def _new_token(app, world, role: str) -> str:
    from accounts.services import issue_token

    with app.app_context():
        user = db.session.get(User, world.ids[role])
        return issue_token(user, 1)


def call(app, world, clients, role: str, method: str, path: str, fresh: bool = False):
    """One call as `role`; `fresh`: with a session and a token of its own (logging out or
    revoking the token must not end the role's shared ones)."""
    client, token = clients[role], world.tokens.get(role)
    if fresh:
        client = app.test_client()
        if role != "anonymous":
            login(client, world.users[role])
            token = _new_token(app, world, role)
    headers = {}
    if _is_api(path) and role != "anonymous":
        headers["Authorization"] = f"Bearer {token}"
    kwargs = {"json": {}} if _is_api(path) and method != "GET" else {}
    r = client.open(path, method=method, headers=headers, **kwargs)
    if fresh and role != "anonymous":
        # logging out ends every session of the account (accounts/sessions.py): the role's
        # shared client logs in again
        login(clients[role], world.users[role])
    return r


def _to_login(r) -> bool:
    return r.status_code == 302 and "/login" in r.headers.get("Location", "")


def check(role: str, case: Case, path: str, r) -> None:
    where = f"{role} {r.request.method} {path} → {r.status_code}"
    assert r.status_code < 500, where
    if case.public:
        return
    if role in case.allow:
        assert r.status_code not in (401, 403, 404) and not _to_login(r), "refused: " + where
        return
    if case.status is not None:
        assert r.status_code == case.status, where
    elif role == "anonymous":
        assert (r.status_code == 401) if _is_api(path) else _to_login(r), where
    elif role in case.forbidden:
        assert r.status_code == 403, where
    elif role in case.peers or ROLES[role] in {ROLES[a] for a in case.allow}:
        assert r.status_code == 404, "a peer's object must not exist for them: " + where
    else:
        assert r.status_code in (403, 404), where


def no_markers(world, role: str, path: str, r) -> None:
    """No data the role may not see; and what it may see is never kept by a cache."""
    body = r.get_data().lower()  # markers are lower case: an e-mail address is stored so
    for marker in world.hidden_from(role):
        assert marker.encode() not in body, f"{role} {r.request.method} {path} shows {marker}"
    if any(marker.encode() in body for marker in world.markers):
        assert "no-store" in r.headers.get("Cache-Control", ""), f"cacheable: {role} {path}"


def snapshot() -> tuple:
    """What a refused call must never change."""
    return (
        sorted(db.session.execute(select(Booking.id, Booking.status)).all()),
        sorted(db.session.execute(select(Child.id, Child.deleted_at)).all()),
        sorted(db.session.execute(select(Complaint.id, Complaint.status)).all()),
        db.session.scalar(select(func.count()).select_from(ComplaintEvent)),
        sorted(db.session.scalars(select(NurseryClass.id))),
        sorted(db.session.execute(select(FilingApplication.id, FilingApplication.status)).all()),
        db.session.scalar(select(func.count()).select_from(FilingEvent)),
        sorted(
            db.session.execute(
                select(
                    Rating.id, Rating.safety, Rating.comment, Rating.comment_status, Rating.reply
                )
            ).all()
        ),
        sorted(db.session.execute(select(Inspection.id, Inspection.status)).all()),
        db.session.scalar(select(func.count()).select_from(InspectionEvent)),
        db.session.scalar(select(func.count()).select_from(ComplaintVerdict)),
    )


# --- the tests -------------------------------------------------------------------------------


def test_every_route_has_a_policy(matrix):
    app, _, _ = matrix
    routes = _routes(app)
    missing = sorted(set(routes) - set(POLICY))
    assert not missing, f"routes without an entry in the access policy: {missing}"
    stale = sorted(set(POLICY) - set(routes))
    assert not stale, f"policy entries for routes that no longer exist: {stale}"


@pytest.mark.parametrize("key", sorted(POLICY, key=lambda k: (k[1] == "DELETE", k)))
def test_access_matrix(matrix, key):
    app, world, clients = matrix
    endpoint, method = key
    rules = _routes(app).get(key)
    if not rules:
        pytest.fail(f"{endpoint} {method} is in the policy but not in the URL map")
    for rule in rules:
        for case in POLICY[key]:
            path = _url(rule, case, world)
            # Refused roles first: nothing they do may change the world the owner then sees.
            for role in sorted(EVERYONE - case.allow) + sorted(case.allow):
                with app.app_context():
                    before = snapshot() if role not in case.allow and not case.public else None
                r = call(app, world, clients, role, method, path, case.fresh)
                check(role, case, path, r)
                no_markers(world, role, path, r)
                if before is not None:
                    with app.app_context():
                        assert snapshot() == before, f"refused {role} {method} {path} changed data"


def test_the_world_is_what_the_policy_assumes(matrix):
    """Positive controls: the markers are where the owners can see them, so their absence
    elsewhere means something."""
    app, world, clients = matrix
    seen = {
        ("parent_a", "/children"): "name-child_a_x",
        ("staff_x", "/portal/bookings"): "notes-child_a_x",
        ("staff_y", "/api/v1/nursery/bookings"): "notes-child_b_y",
        ("parent_a", "/ratings"): "comment-rating_a_x",
        ("admin", "/admin/ratings"): "comment-rating_a_x",
        ("handler_d1", f"/handle/{world.ids['complaint_x']}"): "desc-complaint_x",
        ("handler_d2", f"/handle/{world.ids['complaint_y']}"): "desc-complaint_y",
        ("handler_d2", f"/handle/inspections/{world.ids['inspection_x']}"): "findings-inspection_x",
        ("staff_x", f"/portal/inspections/{world.ids['inspection_x']}"): "findings-inspection_x",
    }
    for (role, path), label in seen.items():
        body = call(app, world, clients, role, "GET", path).get_data(as_text=True)
        assert world.named[label] in body.lower(), (role, path, label)
    path = f"/handle/{world.ids['complaint_x']}/contact"
    r = call(app, world, clients, "handler_d1", "POST", path)
    assert r.status_code == 200
    for label in ("who-complaint_x", "phone-complaint_x", "mail-complaint_x"):
        assert world.named[label] in r.get_data(as_text=True).lower(), label


# --- objects named in a query string or a body, not the path -----------------------------------


def test_objects_named_in_forms_and_queries_are_checked_too(matrix):
    app, world, clients = matrix
    ids = world.ids
    r = call(app, world, clients, "staff_x", "GET", f"/portal/classes?edit={ids['y_class']}")
    assert r.status_code == 404
    r = call(app, world, clients, "staff_x", "GET", f"/portal/offers?offer={ids['y_offer']}")
    assert r.status_code == 404
    r = clients["staff_x"].post("/portal/classes", data={"class_id": str(ids["y_class"])})
    assert r.status_code == 404
    # Booking someone else's child: the API says it does not exist, the page refuses the choice.
    with app.app_context():
        before = snapshot()
    r = clients["parent_b"].post(
        "/api/v1/bookings",
        headers={"Authorization": f"Bearer {world.tokens['parent_b']}"},
        json={
            "child_id": ids["child_a_x"],
            "nursery_id": ids["y"],
            "care_type": "full_day",
            "start_date": "2099-01-01",
            "share_consent": True,
        },
    )
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "child_not_found"
    r = clients["parent_b"].post(
        f"/nurseries/{ids['y']}/book",
        data={"child_id": str(ids["child_a_x"]), "care_type": "full_day", "share_consent": "y"},
    )
    assert r.status_code == 400
    with app.app_context():
        assert snapshot() == before
    no_markers(world, "parent_b", "/nurseries/y/book", r)
    # Merging into a case the handler cannot see.
    r = clients["handler_d1"].post(
        f"/handle/{ids['complaint_x']}/duplicate",
        data={"duplicate-original_id": str(ids["complaint_y"])},
    )
    assert r.status_code in (400, 403, 404)
    no_markers(world, "handler_d1", "duplicate", r)
    with app.app_context():
        assert db.session.get(Complaint, ids["complaint_x"]).status != "duplicate"


def test_a_session_cookie_opens_no_api_endpoint(matrix):
    """The API is CSRF-exempt because it reads bearer tokens only: a logged-in browser
    session must not authenticate it (or any site could post to it in the user's name)."""
    app, world, clients = matrix
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for method in sorted(rule.methods & set(METHODS)):
            for case in POLICY[(rule.endpoint, method)]:
                if case.public:
                    continue
                path = _url(rule, case, world)
                for role in sorted(case.allow - {"anonymous"}):
                    kwargs = {"json": {}} if method != "GET" else {}
                    r = clients[role].open(path, method=method, **kwargs)  # cookie, no token
                    assert r.status_code == 401, (role, method, path, r.status_code)
