"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from flask import Blueprint, jsonify

from booking.rules import STATUSES
from booking.slots import OFFER_SESSIONS, SESSIONS
from maps.coords import COORDSYS
from maps.domain import CARE_TYPES, CLASS_TYPES, NURSERY_KINDS, PRICE_UNITS
from maps.pricing import REGIMES

bp = Blueprint("openapi", __name__)

# Enums come from the domain constants, so the description cannot drift from the code.
CARE_TYPE = {"type": "string", "enum": list(CARE_TYPES)}
BOOKING_STATUS = {"type": "string", "enum": list(STATUSES)}
KIND = {"type": "string", "enum": list(NURSERY_KINDS)}
PRICE_REGIME = {
    "type": "string",
    "enum": list(REGIMES),
    "description": "How the nursery's prices are set (荣昌/大足 item 9): guided = 政府指导价 "
    "(公办, 公建民营), capped = 普惠限价 (other inclusive), market = 市场调节价",
}
ERROR = {
    "description": "Refused input or missing resource",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
# Sent again with the same key, a request gets the first answer (issue 14, idempotency/).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A new random key (a UUID) per booking; a retry with the same key and body "
    "gets the first answer (Idempotent-Replayed: true) for 24 hours; the same key with another "
    "body is refused with 422.",
    "schema": {"type": "string", "pattern": "^[!-~]{8,255}$"},
}


def _q(name, schema, description, required=False):
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


POINT_PARAMS = [
    _q("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Latitude", True),
    _q("lon", {"type": "number", "minimum": -180, "maximum": 180}, "Longitude", True),
    _q(
        "coordsys",
        {"type": "string", "enum": list(COORDSYS), "default": "wgs84"},
        "Coordinate system of lat/lon",
    ),
]


def _path_id(name: str) -> dict:
    """A required integer id in the path (e.g. booking_id)."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "托育服务 API",
        "version": "1.0.0",
        "description": "Nursery registry, search and 5-/15-minute service circles. Coordinates "
        "in responses are WGS-84; distances are geodesic metres.",
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                        },
                    }
                },
            },
            "NurseryHit": {
                "type": "object",
                "required": [
                    "id",
                    "name",
                    "address",
                    "lat",
                    "lon",
                    "distance_m",
                    "walk_minutes",
                    "within_5min",
                    "within_15min",
                    "kind",
                    "inclusive",
                    "care_types",
                    "free_places",
                    "rating",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "address": {"type": "string"},
                    "lat": {"type": "number"},
                    "lon": {"type": "number"},
                    "distance_m": {"type": "number", "minimum": 0},
                    "walk_minutes": {"type": "integer", "minimum": 0},
                    "within_5min": {"type": "boolean"},
                    "within_15min": {"type": "boolean"},
                    "kind": KIND,
                    "inclusive": {"type": "boolean"},
                    "care_types": {"type": "array", "items": CARE_TYPE},
                    "free_places": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "price_regime": PRICE_REGIME,
                    "price_regime_label": {"type": "string"},
                    "rating": {
                        "type": "object",
                        "description": "Family ratings (家庭评价): overall average 1–5 (null "
                        "when unrated) and how many",
                        "required": ["average", "count"],
                        "properties": {
                            "average": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
                            "count": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
            "CircleMember": {
                "type": "object",
                "required": ["id", "name", "distance_m"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "distance_m": {"type": "number"},
                    "walk_minutes": {"type": "integer"},
                },
            },
        },
    },
    "paths": {
        "/nurseries": {
            "get": {
                "summary": "Filed nurseries near a point, nearest first",
                "parameters": POINT_PARAMS
                + [
                    _q(
                        "within",
                        {"type": "string"},
                        "5 or 15 (minutes' walk: the service circles) or a radius in metres "
                        "(0 < r ≤ 50000)",
                    ),
                    _q("care_type", CARE_TYPE, "Only nurseries offering this care type"),
                    _q(
                        "age_months",
                        {"type": "integer", "minimum": 0, "maximum": 36},
                        "Only nurseries with a class admitting this age",
                    ),
                    _q("inclusive", {"type": "integer", "enum": [0, 1]}, "Only inclusive (普惠)"),
                    _q("free", {"type": "integer", "enum": [0, 1]}, "Only with free places"),
                    _q(
                        "min_rating",
                        {"type": "number", "minimum": 1, "maximum": 5},
                        "Only nurseries whose overall family rating is at least this",
                    ),
                    _q(
                        "sort",
                        {"type": "string", "enum": ["distance", "rating"], "default": "distance"},
                        "distance (nearest first) or rating (best rated first, then more "
                        "ratings, then nearest)",
                    ),
                    _q(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
                        "Page size",
                    ),
                    _q(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0},
                        "Page start",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "A page of nurseries sorted by distance",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["count", "results", "limit", "offset"],
                                    "properties": {
                                        "count": {"type": "integer"},
                                        "limit": {"type": "integer"},
                                        "offset": {"type": "integer"},
                                        "results": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/NurseryHit"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "400": ERROR,
                },
            }
        },
        "/nurseries/{nursery_id}/ratings": {
            "get": {
                "summary": "A filed nursery's family ratings: averages and approved comments",
                "parameters": [
                    {
                        "name": "nursery_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Averages per aspect, overall, count, approved comments "
                        "with the nursery's reply (no parent or child is named)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["count", "overall", "aspects", "comments"],
                                    "properties": {
                                        "count": {"type": "integer", "minimum": 0},
                                        "overall": {"type": ["number", "null"]},
                                        "aspects": {"type": "array"},
                                        "comments": {"type": "array"},
                                    },
                                }
                            }
                        },
                    },
                    "404": ERROR,
                },
            }
        },
        "/nurseries/{nursery_id}": {
            "get": {
                "summary": "A filed nursery's details, classes and offers (price, places)",
                "parameters": [
                    {
                        "name": "nursery_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Details",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id", "name", "offers", "classes"],
                                    "properties": {
                                        "price_regime": PRICE_REGIME,
                                        "price_regime_label": {"type": "string"},
                                        "offers": {
                                            "type": "array",
                                            "description": "Each offer also carries "
                                            "`price_regime` and `price_rule` (the guided price "
                                            "or cap that binds it: amount, low, high, "
                                            "price_unit, source, text; null if none)",
                                        },
                                        "inspections": {
                                            "type": "object",
                                            "description": "Added by issue 12: `latest` (per "
                                            "inspection kind the latest result: kind, "
                                            "inspected_on, department, result, rectify_by, "
                                            "status, closed_on, overdue), `suspended` and "
                                            "`substantiated_complaints` (count, outcomes). "
                                            "Never findings, complaint texts or identities.",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "404": ERROR,
                },
            }
        },
        "/circles": {
            "get": {
                "summary": "Whether a home lies in any nursery's 5- and 15-minute circles",
                "parameters": POINT_PARAMS,
                "responses": {
                    "200": {
                        "description": "Coverage of the point",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": [
                                        "radius_m",
                                        "covered_5min",
                                        "covered_15min",
                                        "within_5min",
                                        "within_15min",
                                    ],
                                    "properties": {
                                        "radius_m": {"type": "object"},
                                        "covered_5min": {"type": "boolean"},
                                        "covered_15min": {"type": "boolean"},
                                        "within_5min": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/CircleMember"},
                                        },
                                        "within_15min": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/CircleMember"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "400": ERROR,
                },
            }
        },
        "/places": {
            "get": {
                "summary": "Look up a community, street or nursery by name, fragment or pinyin",
                "parameters": [
                    _q("q", {"type": "string", "minLength": 1, "maxLength": 100}, "Text", True),
                    _q(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 8},
                        "Most results",
                    ),
                ],
                "responses": {"200": {"description": "Matches, best first"}, "400": ERROR},
            }
        },
        "/auth/token": {
            "post": {
                "summary": "Exchange username and password for a bearer token",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Token",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["token", "role"],
                                    "properties": {
                                        "token": {"type": "string"},
                                        "role": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "400": ERROR,
                    "401": ERROR,
                    "429": ERROR,
                },
            },
            "delete": {
                "summary": "Revoke the bearer token this request carries",
                "security": [{"bearer": []}],
                "responses": {"204": {"description": "Revoked"}, "401": ERROR},
            },
        },
        "/auth/register": {
            "post": {
                "summary": "Create a parent account",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string", "minLength": 8},
                                    "name": {"type": "string", "maxLength": 64},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "Created"},
                    "400": ERROR,
                    "409": ERROR,
                    "429": ERROR,
                },
            }
        },
    },
}


def _json_body(required: list[str], properties: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


def _ok(description: str, schema: dict | None = None) -> dict:
    response = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


AUTH_ERRORS = {"401": ERROR, "403": ERROR}
CLASS_FIELDS = {
    "class_type": {"type": "string", "enum": list(CLASS_TYPES)},
    "capacity": {"type": "integer", "minimum": 0, "maximum": 100},
    "carers": {"type": "integer", "minimum": 0, "maximum": 100},
    "name": {"type": "string", "minLength": 1, "maxLength": 64},
}
BOOKING_REF = {"$ref": "#/components/schemas/Booking"}
BOOKING_PATHS = {
    "/children": {
        "get": {
            "summary": "The parent's children",
            "security": [{"bearer": []}],
            "responses": {"200": _ok("Children"), **AUTH_ERRORS},
        },
        "post": {
            "summary": "Register a child (needs the guardian's consent to the stated rules)",
            "security": [{"bearer": []}],
            "requestBody": _json_body(
                ["name", "birth_date", "guardian_consent"],
                {
                    "name": {"type": "string", "maxLength": 64},
                    "birth_date": {"type": "string", "format": "date"},
                    "guardian_consent": {"type": "boolean", "const": True},
                    "health_notes": {"type": "string", "maxLength": 500},
                },
            ),
            "responses": {
                "201": _ok(
                    "Created",
                    {
                        "type": "object",
                        "required": ["id", "age_months"],
                        "properties": {
                            "id": {"type": "integer"},
                            "age_months": {"type": "integer"},
                        },
                    },
                ),
                "400": ERROR,
                **AUTH_ERRORS,
            },
        },
    },
    "/children/{child_id}": {
        "delete": {
            "summary": "Delete a child: names and notes removed, bookings cancelled",
            "security": [{"bearer": []}],
            "parameters": [_path_id("child_id")],
            "responses": {"204": _ok("Deleted"), "404": ERROR, **AUTH_ERRORS},
        }
    },
    "/bookings": {
        "get": {
            "summary": "The parent's bookings, with status and waitlist position",
            "security": [{"bearer": []}],
            "responses": {
                "200": _ok(
                    "Bookings",
                    {
                        "type": "object",
                        "required": ["results"],
                        "properties": {
                            "count": {"type": "integer"},
                            "results": {"type": "array", "items": BOOKING_REF},
                        },
                    },
                ),
                **AUTH_ERRORS,
            },
        },
        "post": {
            "summary": "Book a place (入托网上约): held at once when free, else waitlisted",
            "security": [{"bearer": []}],
            "requestBody": _json_body(
                ["child_id", "nursery_id", "care_type", "start_date", "share_consent"],
                {
                    "child_id": {"type": "integer"},
                    "nursery_id": {"type": "integer"},
                    "care_type": CARE_TYPE,
                    "start_date": {"type": "string", "format": "date"},
                    "end_date": {"type": "string", "format": "date"},
                    "session": {"type": "string", "enum": list(SESSIONS)},
                    "start_time": {"type": "string", "pattern": "^[0-2][0-9]:00$"},
                    "end_time": {"type": "string", "pattern": "^[0-2][0-9]:00$"},
                    "share_consent": {"type": "boolean", "const": True},
                },
            ),
            "parameters": [IDEMPOTENCY_KEY],
            "responses": {
                "201": _ok("Booked or waitlisted", BOOKING_REF),
                "400": ERROR,
                "404": ERROR,
                "409": ERROR,
                "422": ERROR,
                **AUTH_ERRORS,
            },
        },
    },
    "/bookings/{booking_id}": {
        "get": {
            "summary": "One of the parent's bookings",
            "security": [{"bearer": []}],
            "parameters": [_path_id("booking_id")],
            "responses": {"200": _ok("Booking", BOOKING_REF), "404": ERROR, **AUTH_ERRORS},
        }
    },
    "/bookings/{booking_id}/cancel": {
        "post": {
            "summary": "Cancel; a held place goes to the next waiting family",
            "security": [{"bearer": []}],
            "parameters": [_path_id("booking_id")],
            "responses": {
                "200": _ok("Cancelled", BOOKING_REF),
                "404": ERROR,
                "409": ERROR,
                **AUTH_ERRORS,
            },
        }
    },
    "/bookings/{booking_id}/accept": {
        "post": {
            "summary": "Accept an offered place before it expires",
            "security": [{"bearer": []}],
            "parameters": [_path_id("booking_id")],
            "responses": {
                "200": _ok("Accepted", BOOKING_REF),
                "404": ERROR,
                "409": ERROR,
                **AUTH_ERRORS,
            },
        }
    },
    "/inbox": {
        "get": {
            "summary": "The user's notifications, newest first",
            "security": [{"bearer": []}],
            "responses": {"200": _ok("Notifications"), **AUTH_ERRORS},
        }
    },
    "/nursery/offers/{care_type}": {
        "put": {
            "summary": "Nursery staff: set a care type's places, price, unit and sessions",
            "description": "A price outside the nursery's regime is refused with 400: "
            "`price_above_cap` (普惠限价), `price_above_guided` / `price_below_guided` "
            "(政府指导价 and its float range), `price_unit_mismatch`; the message names the "
            "figures and their source",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "care_type", "in": "path", "required": True, "schema": CARE_TYPE}
            ],
            "requestBody": _json_body(
                ["capacity", "price_yuan"],
                {
                    "capacity": {"type": "integer", "minimum": 0, "maximum": 1000},
                    "price_yuan": {"type": "number", "minimum": 0},
                    "class_type": {"type": "string", "enum": list(CLASS_TYPES)},
                    "price_unit": {"type": "string", "enum": list(PRICE_UNITS)},
                    "sessions": {"type": "string", "enum": list(OFFER_SESSIONS)},
                },
            ),
            "responses": {"200": _ok("Saved"), "400": ERROR, "409": ERROR, **AUTH_ERRORS},
        }
    },
    "/nursery/classes": {
        "get": {
            "summary": "Nursery staff: the nursery's classes (班级) and its breaches of the limits",
            "security": [{"bearer": []}],
            "responses": {"200": _ok("Classes"), **AUTH_ERRORS},
        },
        "post": {
            "summary": "Nursery staff: add a class, within its maximum and carers × ratio",
            "security": [{"bearer": []}],
            "requestBody": _json_body(["class_type", "capacity", "carers"], CLASS_FIELDS),
            "responses": {"201": _ok("Created"), "400": ERROR, "409": ERROR, **AUTH_ERRORS},
        },
    },
    "/nursery/classes/{class_id}": {
        "put": {
            "summary": "Nursery staff: change a class (omitted fields keep their value)",
            "security": [{"bearer": []}],
            "parameters": [_path_id("class_id")],
            "requestBody": _json_body([], CLASS_FIELDS),
            "responses": {
                "200": _ok("Saved"),
                "400": ERROR,
                "404": ERROR,
                "409": ERROR,
                **AUTH_ERRORS,
            },
        },
        "delete": {
            "summary": "Nursery staff: remove a class no offer's places still need",
            "security": [{"bearer": []}],
            "parameters": [_path_id("class_id")],
            "responses": {
                "204": {"description": "Removed"},
                "404": ERROR,
                "409": ERROR,
                **AUTH_ERRORS,
            },
        },
    },
    "/nursery/bookings": {
        "get": {
            "summary": "Nursery staff: the nursery's bookings, with the children's shared data",
            "security": [{"bearer": []}],
            "parameters": [_q("status", BOOKING_STATUS, "Only this status")],
            "responses": {"200": _ok("Bookings"), "400": ERROR, **AUTH_ERRORS},
        }
    },
    "/nursery/occupancy": {
        "get": {
            "summary": "Nursery staff: occupancy (托位使用率) today and for the coming weeks",
            "description": "`rate` is 托位使用率 as the district counts it: `in_care` (children "
            "with a confirmed full- or half-day enrolment that has begun) ÷ `places` (the filed "
            "托位数). `held_rate` and `rows` are places held (pending, confirmed, offered) ÷ "
            "places offered, per care type and class.",
            "security": [{"bearer": []}],
            "responses": {"200": _ok("Occupancy"), **AUTH_ERRORS},
        }
    },
}
for _action, _summary, _body in (
    ("confirm", "Nursery staff: confirm a pending request", None),
    (
        "decline",
        "Nursery staff: decline with a reason shown to the family",
        {"reason": {"type": "string", "maxLength": 200}},
    ),
    (
        "move-to-front",
        "Nursery staff: move a waiting family to the front, with a reason",
        {"reason": {"type": "string", "maxLength": 200}},
    ),
):
    BOOKING_PATHS[f"/nursery/bookings/{{booking_id}}/{_action}"] = {
        "post": {
            "summary": _summary,
            "security": [{"bearer": []}],
            "parameters": [_path_id("booking_id")],
            **({"requestBody": _json_body(["reason"], _body)} if _body else {}),
            "responses": {
                "200": _ok("Done", BOOKING_REF),
                "400": ERROR,
                "404": ERROR,
                "409": ERROR,
                **AUTH_ERRORS,
            },
        }
    }
SPEC["paths"].update(BOOKING_PATHS)
SPEC["components"]["schemas"]["Booking"] = {
    "type": "object",
    "required": ["id", "status", "waitlist_position", "nursery_id", "care_type", "start_date"],
    "properties": {
        "id": {"type": "integer"},
        "status": BOOKING_STATUS,
        "waitlist_position": {"type": ["integer", "null"], "minimum": 1},
        "nursery_id": {"type": "integer"},
        "care_type": CARE_TYPE,
        "start_date": {"type": "string"},
        "end_date": {"type": ["string", "null"]},
        "offer_expires_at": {"type": ["string", "null"]},
        "respond_by": {"type": ["string", "null"]},
        "respond_by_provisional": {
            "type": "boolean",
            "description": "The answer deadline was counted over a year whose holiday "
            "arrangement is not loaded yet (暂定); it is counted again when it is",
        },
        "price_yuan": {
            "type": ["number", "null"],
            "description": "What the family pays, in `price_unit`",
        },
        "price_regime": PRICE_REGIME,
        "price_regime_label": {"type": "string"},
        "subsidy_yuan_per_year": {
            "type": ["integer", "null"],
            "description": "The operating subsidy (运营补贴) the NURSERY receives for this child "
            "per year (荣昌 item 11); not paid to the family, not taken off the price. Kept for "
            "compatibility: the same as `operating_subsidy_yuan_per_year`",
        },
        "operating_subsidy_yuan_per_year": {
            "type": ["integer", "null"],
            "description": "The operating subsidy (运营补贴) the nursery receives per child per "
            "year; null where the district pays none",
        },
    },
}


# --- policy look-up (托育政策查询, policies/; docs/policies.md) ----------------------------------
_NULLABLE_STR = {"type": ["string", "null"]}
_AMOUNT = {
    "type": "object",
    "required": ["label", "text", "yuan", "unit"],
    "properties": {
        "label": {"type": "string"},
        "text": {"type": "string"},
        "yuan": {"type": ["number", "null"]},
        "unit": _NULLABLE_STR,
    },
}
SPEC["paths"]["/policies"] = {
    "get": {
        "summary": "The policies families look up (subsidies, prices, tax, housing fund, leave), "
        "each with its source document and date",
        "parameters": [
            _q("q", {"type": "string", "maxLength": 50}, "Words all found in the policy's text"),
            _q(
                "category",
                {
                    "type": "string",
                    "enum": ["subsidy", "price", "tax", "housing_fund", "leave", "other"],
                },
                "Only this category",
            ),
        ],
        "responses": {
            "200": _ok(
                "Matching policies",
                {
                    "type": "object",
                    "required": ["count", "results"],
                    "properties": {
                        "count": {"type": "integer"},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": [
                                    "id",
                                    "code",
                                    "title",
                                    "category",
                                    "summary",
                                    "body",
                                    "region",
                                    "amount_rule",
                                    "source_title",
                                    "source_date",
                                ],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "code": {"type": "string"},
                                    "title": {"type": "string"},
                                    "category": {"type": "string"},
                                    "category_label": {"type": "string"},
                                    "summary": {"type": "string"},
                                    "body": {"type": "string"},
                                    "region": {"type": "string"},
                                    "region_label": {"type": "string"},
                                    "min_age_months": {"type": ["integer", "null"]},
                                    "max_age_months": {"type": ["integer", "null"]},
                                    "min_children": {"type": ["integer", "null"]},
                                    "inclusive_required": {"type": "boolean"},
                                    "amount_rule": {"type": "object"},
                                    "source_title": {"type": "string"},
                                    "source_date": _NULLABLE_STR,
                                    "effective_from": _NULLABLE_STR,
                                    "effective_to": _NULLABLE_STR,
                                    "updated_at": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            ),
            "400": ERROR,
        },
    }
}
SPEC["paths"]["/policies/for-me"] = {
    "get": {
        "summary": "What applies to me: the benefits for a child (birth date or age in months, "
        "under 3), a district, the nursery chosen and the number of children, with amounts",
        "parameters": [
            _q("birth_date", {"type": "string", "format": "date"}, "The child's birth date"),
            _q(
                "age_months",
                {"type": "integer", "minimum": 0, "maximum": 35},
                "The child's age in months, when no birth date is given",
            ),
            _q(
                "district",
                {"type": "string", "maxLength": 100},
                "Region path, e.g. 重庆市/荣昌区; default: the district this service runs for",
            ),
            _q("nursery_id", {"type": "integer", "minimum": 1}, "A public nursery"),
            _q(
                "children",
                {"type": "integer", "minimum": 1, "maximum": 10},
                "Children in the family",
            ),
        ],
        "responses": {
            "200": _ok(
                "The benefits that apply and the related ones that do not",
                {
                    "type": "object",
                    "required": ["age_months", "class_types", "results", "not_applicable"],
                    "properties": {
                        "age_months": {"type": "integer", "minimum": 0, "maximum": 35},
                        "class_types": {"type": "array", "items": {"type": "string"}},
                        "class_note": {"type": "string"},
                        "price_regime": {"type": ["string", "null"]},
                        "price_regime_label": _NULLABLE_STR,
                        "offers": {"type": "array", "items": {"type": "object"}},
                        "notes": {"type": "array", "items": {"type": "string"}},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": [
                                    "code",
                                    "title",
                                    "category",
                                    "amounts",
                                    "source_title",
                                ],
                                "properties": {
                                    "code": {"type": "string"},
                                    "title": {"type": "string"},
                                    "category": {"type": "string"},
                                    "region": {"type": "string"},
                                    "source_title": {"type": "string"},
                                    "source_date": _NULLABLE_STR,
                                    "amounts": {"type": "array", "items": _AMOUNT},
                                    "notes": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                        "not_applicable": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "title", "reason"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "title": {"type": "string"},
                                    "reason": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            ),
            "400": ERROR,
        },
    }
}


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(SPEC)
