"""Booking endpoints of the JSON API (DESIGN §6): children, bookings, the nursery's side.

Each endpoint parses its input, calls a use case of `booking.services` or reads
`booking.queries`, and answers JSON; lists of bookings run the expiry use case first.
"""

from datetime import date

from flask import current_app, g, jsonify, request

import idempotency
from accounts.access import token_required
from api import bp, json_body
from errors import DomainError, NotFound
from idempotency import services as idempotent
from maps.domain import CLASS_TYPES
from maps.queries import nursery_breaches, price_regime
from notifications.queries import inbox

from . import queries, waitlist
from .parsing import parse_date, parse_int_id, parse_request
from .rules import STATUSES, months_old
from .services import family, staff
from .waitlist import Settings


def _settings() -> Settings:
    return Settings.from_config(current_app.config)


@bp.post("/children")
@token_required("parent")
def add_child():
    data = json_body()
    child = family.register_child(
        g.api_user.id,
        data.get("name"),
        parse_date(data.get("birth_date"), "birth_date"),
        data.get("guardian_consent"),
        _settings(),
        health_notes=data.get("health_notes"),
    )
    return jsonify({"id": child.id, "age_months": months_old(child.birth_date, date.today())}), 201


@bp.get("/children")
@token_required("parent")
def list_children():
    today = date.today()
    return jsonify(
        {
            "results": [
                {
                    "id": c.id,
                    "name": c.name,
                    "birth_date": c.birth_date.isoformat(),
                    "age_months": months_old(c.birth_date, today),
                    "health_notes": c.health_notes,
                }
                for c in queries.children_of(g.api_user.id)
            ]
        }
    )


@bp.delete("/children/<int:child_id>")
@token_required("parent")
def delete_child(child_id: int):
    family.delete_child(g.api_user.id, child_id, _settings())
    return "", 204


@bp.post("/bookings")
@token_required("parent")
def create_booking():
    data = json_body()
    child_id = parse_int_id(data.get("child_id"), "child_id")
    nursery_id = parse_int_id(data.get("nursery_id"), "nursery_id")
    care = parse_request(data)

    def book():
        booking, position = family.book(
            g.api_user.id, child_id, nursery_id, care, data.get("share_consent"), _settings()
        )
        return 201, queries.booking_dict(booking, position)

    key = idempotency.key_from_request()
    if key is None:
        status, body = book()
        return jsonify(body), status
    status, body, replayed = idempotent.once(
        f"user:{g.api_user.id}", key, idempotency.fingerprint(), book, nurseries=[nursery_id]
    )
    return jsonify(body), status, {"Idempotent-Replayed": "true" if replayed else "false"}


@bp.get("/bookings")
@token_required("parent")
def list_bookings():
    family.refresh(_settings())
    rows, positions = queries.parent_bookings(g.api_user.id)
    return jsonify(
        {
            "count": len(rows),
            "results": [queries.booking_dict(b, positions.get(b.id)) for b in rows],
        }
    )


@bp.get("/bookings/<int:booking_id>")
@token_required("parent")
def get_booking(booking_id: int):
    booking = queries.own_booking(g.api_user.id, booking_id)
    return jsonify(queries.booking_dict(booking, waitlist.positions([booking]).get(booking.id)))


@bp.post("/bookings/<int:booking_id>/cancel")
@token_required("parent")
def cancel_booking(booking_id: int):
    booking = family.cancel(g.api_user.id, booking_id, _settings())
    return jsonify(queries.booking_dict(booking, None))


@bp.post("/bookings/<int:booking_id>/accept")
@token_required("parent")
def accept_offer(booking_id: int):
    booking = family.accept(g.api_user.id, booking_id, _settings())
    return jsonify(queries.booking_dict(booking, None))


@bp.get("/inbox")
@token_required()
def my_inbox():
    return jsonify(
        {
            "results": [
                {
                    "id": n.id,
                    "text": n.text,
                    "created_at": n.created_at.isoformat(),
                    "subject_type": n.subject_type,
                    "subject_id": n.subject_id,
                }
                for n in inbox(g.api_user.id)
            ]
        }
    )


# --- nursery staff -------------------------------------------------------------------------


@bp.put("/nursery/offers/<care_type>")
@token_required("nursery_staff")
def put_offer(care_type: str):
    data = json_body()
    offer = staff.set_offer(
        g.api_user.id,
        g.api_user.nursery_id,
        care_type,
        data.get("capacity"),
        data.get("price_yuan"),
        _settings(),
        class_type=data.get("class_type"),
        price_unit=data.get("price_unit"),
        sessions=data.get("sessions"),
    )
    return jsonify(
        {
            "id": offer.id,
            "care_type": offer.care_type,
            "class_type": offer.class_type,
            "capacity": offer.capacity,
            "price_yuan": float(offer.price_yuan),
            "price_unit": offer.price_unit,
            "sessions": offer.sessions,
            **price_regime(offer.nursery.kind, offer.nursery.inclusive),
        }
    )


@bp.get("/nursery/bookings")
@token_required("nursery_staff")
def nursery_bookings():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise DomainError("invalid_parameter", "status 不是有效的预约状态", field="status")
    family.refresh(_settings())
    rows, positions = queries.nursery_bookings(g.api_user.nursery_id, [status] if status else None)
    today = date.today()
    results = [queries.staff_booking_dict(b, positions.get(b.id), today) for b in rows]
    staff.record_health_notes_viewed(
        g.api_user.id,
        g.api_user.nursery_id,
        [r["child_id"] for r in results if r["child"]["health_notes"]],
        "api.nursery_bookings",
    )
    return jsonify({"count": len(rows), "results": results})


@bp.post("/nursery/bookings/<int:booking_id>/confirm")
@token_required("nursery_staff")
def confirm_booking(booking_id: int):
    booking = staff.confirm(g.api_user.id, g.api_user.nursery_id, booking_id, _settings())
    return jsonify(queries.booking_dict(booking, None))


@bp.post("/nursery/bookings/<int:booking_id>/decline")
@token_required("nursery_staff")
def decline_booking(booking_id: int):
    data = request.get_json(silent=True) or {}
    booking = staff.decline(
        g.api_user.id,
        g.api_user.nursery_id,
        booking_id,
        data.get("reason") if isinstance(data, dict) else None,
        _settings(),
    )
    return jsonify(queries.booking_dict(booking, None))


@bp.post("/nursery/bookings/<int:booking_id>/move-to-front")
@token_required("nursery_staff")
def move_booking_to_front(booking_id: int):
    data = json_body()
    booking = staff.move_to_front(
        g.api_user.id, g.api_user.nursery_id, booking_id, data.get("reason"), _settings()
    )
    return jsonify(queries.booking_dict(booking, None))


@bp.get("/nursery/occupancy")
@token_required("nursery_staff")
def nursery_occupancy():
    return jsonify(queries.occupancy(g.api_user.nursery_id, date.today()))


# --- the nursery's classes (班级): the places every offer belongs to ----------------------


def _class_fields(data: dict, current=None) -> tuple:
    """class_type, name, carers, capacity from a body; on PUT, omitted fields keep their value."""
    class_type = data.get("class_type", current.class_type if current else None)
    name = data.get("name", current.name if current else None)
    if name is None and isinstance(class_type, str) and class_type in CLASS_TYPES:
        name = CLASS_TYPES[class_type].label
    carers = data.get("carers", current.carers if current else None)
    capacity_value = data.get("capacity", current.capacity if current else None)
    return class_type, name, carers, capacity_value


@bp.get("/nursery/classes")
@token_required("nursery_staff")
def list_classes():
    nursery = queries.staff_nursery(g.api_user.nursery_id)
    return jsonify(
        {
            "count": len(nursery.classes),
            "results": [queries.class_dict(c, nursery.kind) for c in nursery.classes],
            "breaches": [{"code": b.code, "message": b.message} for b in nursery_breaches(nursery)],
        }
    )


@bp.post("/nursery/classes")
@token_required("nursery_staff")
def create_class():
    cls = staff.save_class(g.api_user.id, g.api_user.nursery_id, *_class_fields(json_body()))
    return jsonify(queries.class_dict(cls, cls.nursery.kind)), 201


@bp.route("/nursery/classes/<int:class_id>", methods=["PUT", "DELETE"])
@token_required("nursery_staff")
def change_class(class_id: int):
    # One rule for both verbs: with two, an id beyond the converter's range answered DELETE
    # with 405 instead of 404 (werkzeug's matcher then reports the other rule's method).
    if request.method == "DELETE":
        staff.delete_class(g.api_user.id, g.api_user.nursery_id, class_id)
        return "", 204
    nursery = queries.staff_nursery(g.api_user.nursery_id)
    current = next((c for c in nursery.classes if c.id == class_id), None)
    if current is None:
        raise NotFound("class_not_found", "未找到该班级")
    fields = _class_fields(json_body(), current)
    cls = staff.save_class(g.api_user.id, nursery.id, *fields, class_id=class_id)
    return jsonify(queries.class_dict(cls, nursery.kind))
