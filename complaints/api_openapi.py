"""The OpenAPI 3.1 description of Open311 GeoReport v2 (``api.py``), served at
/open311/v2/openapi.json.

It describes the JSON variants exactly as implemented, so that schemathesis can fuzz them
(tests/test_open311_schema.py); each ``.json`` path has an ``.xml`` twin with the same fields,
mentioned in the descriptions only. Response schemas are closed (``additionalProperties: false``)
on purpose: a field that appears without being documented here — a complainant's contact, the
description, photos — fails the schema check.

``build_spec`` takes the current category codes (routing rules are data an admin edits), so that
the ``service_code`` a client posts is an enum of the codes ``services.json`` lists right now.
The status enum, the tracking-code alphabet and the length limits come from the domain's
constants (``api.GEOREPORT_STATUSES``, ``codes``, ``validation``), never from a copy.
"""

from __future__ import annotations

import copy

from .api import GEOREPORT_STATUSES
from .codes import CODE_ALPHABET, CODE_LENGTH
from .validation import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    MAX_EMAIL,
    MAX_NAME,
    MAX_SITE_NAME,
    PHONE_RE,
)

XML_NOTE = "The same path ending in `.xml` answers the same data as GeoReport XML."
CASE_ID = "^case-[1-9][0-9]{0,9}$"


def _code_class(lower: bool = False) -> str:
    """codes.CODE_ALPHABET as a character class: A-Z2-7 (A-Za-z2-7 with lower case)."""
    letters = "".join(c for c in CODE_ALPHABET if c.isalpha())
    digits = "".join(c for c in CODE_ALPHABET if c.isdigit())
    if letters != "ABCDEFGHIJKLMNOPQRSTUVWXYZ" or digits != "234567":
        raise ValueError("the tracking-code alphabet changed: update the OpenAPI patterns")
    return "A-Z" + ("a-z" if lower else "") + "2-7"


def _code_pattern(lower: bool, dash: str) -> str:
    """A tracking code as groups of four joined by `dash` (codes.format_code)."""
    return dash.join([f"[{_code_class(lower)}]{{4}}"] * (CODE_LENGTH // 4))


TRACKING_CODE = "^" + _code_pattern(False, "-") + "$"
# What a look-up takes: a tracking code with or without dashes, in any case, or case-<id>.
REQUEST_ID = "^(case-[1-9][0-9]{0,9}|" + _code_pattern(True, "-?") + ")$"
STATUS_LIST = "^({0})(,({0}))*$".format("|".join(GEOREPORT_STATUSES))
# Posted text never carries C0 control characters other than tab and newlines (refused, 400).
NO_CONTROLS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
# Stored China local times, rendered by open311._iso: ISO 8601 with the +08:00 offset.
CHINA_TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?\+08:00$",
}


def _errors(status: int, description: str) -> dict:
    """A GeoReport error answer: one [{"code", "description"}], code equal to the HTTP status."""
    return {
        "description": description + " (GeoReport error array; XML: `<errors><error>…`)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["code", "description"],
                        "additionalProperties": False,
                        "properties": {
                            "code": {"type": "integer", "const": status},
                            "description": {
                                "type": "string",
                                "minLength": 1,
                                "description": "Why, in Chinese",
                            },
                        },
                    },
                }
            }
        },
    }


UNAUTHORIZED = {
    **_errors(401, "Missing, invalid or expired bearer token"),
    "headers": {
        "WWW-Authenticate": {
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer "},
        }
    },
}
TOO_MANY = {
    **_errors(429, "Too many look-ups or filings from this address"),
    "headers": {"Retry-After": {"schema": {"type": "string"}}},
}


def _q(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _array_of(ref: str, description: str, min_items=None, max_items=None, extra=None) -> dict:
    items = {"$ref": f"#/components/schemas/{ref}"}
    if extra:
        items = {"allOf": [items, extra]}
    schema = {"type": "array", "items": items}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return {"description": description, "content": {"application/json": {"schema": schema}}}


EMAIL_PART = r"[^@\s\u0000-\u001f]"  # validation.EMAIL_RE, without control characters

COMMON_FIELDS = {
    "description": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_DESCRIPTION,
        "pattern": NO_CONTROLS,
        "description": f"What happened (required; at most {MAX_DESCRIPTION} characters). Never "
        "shown again in any Open311 answer.",
    },
    "address_string": {
        "type": "string",
        "maxLength": MAX_ADDRESS,
        "pattern": NO_CONTROLS,
        "description": "Address of a site that is not in the registry (with lat/long, or alone: "
        "the street it names is informed)",
    },
    "first_name": {
        "type": "string",
        "maxLength": MAX_NAME,
        "pattern": NO_CONTROLS,
        "description": f"Given name (optional; with last_name at most {MAX_NAME} characters)",
    },
    "last_name": {
        "type": "string",
        "maxLength": MAX_NAME,
        "pattern": NO_CONTROLS,
        "description": "Family name (optional)",
    },
    "phone": {
        "type": "string",
        "pattern": PHONE_RE.pattern,
        "description": "Optional contact phone",
    },
    "email": {
        "type": "string",
        "maxLength": MAX_EMAIL,
        "pattern": f"^{EMAIL_PART}{{1,64}}@{EMAIL_PART}{{1,63}}\\.{EMAIL_PART}{{1,30}}$",
        "description": "Optional contact e-mail",
    },
    "api_key": {
        "type": "string",
        "pattern": NO_CONTROLS,
        "description": "Accepted and ignored: filing is open",
    },
    "jurisdiction_id": {
        "type": "string",
        "pattern": NO_CONTROLS,
        "description": "Accepted and ignored: one district",
    },
}
LAT = {"type": "number", "minimum": -90, "maximum": 90, "description": "WGS-84 latitude"}
LON = {"type": "number", "minimum": -180, "maximum": 180, "description": "WGS-84 longitude"}
NURSERY_ID = {
    "type": "integer",
    "minimum": 1,
    "description": "A filed nursery's id (GET /api/v1/nurseries); its position is used",
}
SITE_NAME = {
    "type": "string",
    "maxLength": MAX_SITE_NAME,
    "pattern": NO_CONTROLS,
    "description": "Name of a site that is not in the registry",
}


def _filing(site_attributes: dict) -> dict:
    """A POST requests.json body: the GeoReport fields plus how the site's attributes come."""
    return {
        "schema": {
            "type": "object",
            "required": ["service_code", "description"],
            "additionalProperties": False,
            "properties": {
                "service_code": {"type": "string", "minLength": 1},
                "lat": LAT,
                "long": LON,
                **COMMON_FIELDS,
                **site_attributes,
            },
        }
    }


SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "托育服务 Open311 GeoReport v2",
        "version": "2.0.0",
        "description": "Complaints (投诉举报) in the GeoReport v2 format. Every path has a "
        "`.json` and an `.xml` variant; only the JSON ones are described here. Errors are "
        '`[{"code": <HTTP status>, "description": "…"}]`. No answer carries the '
        "complainant's name, phone, e-mail, photos or description. Times are ISO 8601 with "
        "the +08:00 offset.",
    },
    "servers": [{"url": "/open311/v2"}],
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A complaint handler's token from POST /api/v1/auth/token",
            }
        },
        "schemas": {
            "Service": {
                "type": "object",
                "required": [
                    "service_code",
                    "service_name",
                    "description",
                    "metadata",
                    "type",
                    "keywords",
                    "group",
                ],
                "additionalProperties": False,
                "properties": {
                    "service_code": {"type": "string", "minLength": 1},
                    "service_name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "metadata": {
                        "type": "boolean",
                        "description": "Always true: every service takes attributes",
                    },
                    "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                    "keywords": {"type": "string", "description": "Comma-separated"},
                    "group": {"type": "string", "description": "The baseline lead department"},
                },
            },
            "Attribute": {
                "type": "object",
                "required": [
                    "variable",
                    "code",
                    "datatype",
                    "required",
                    "datatype_description",
                    "order",
                    "description",
                ],
                "additionalProperties": False,
                "properties": {
                    "variable": {"type": "boolean"},
                    "code": {"type": "string", "minLength": 1},
                    "datatype": {
                        "type": "string",
                        "enum": [
                            "string",
                            "number",
                            "datetime",
                            "text",
                            "singlevaluelist",
                            "multivaluelist",
                        ],
                    },
                    "required": {"type": "boolean"},
                    "datatype_description": {"type": "string"},
                    "order": {"type": "integer", "minimum": 1},
                    "description": {"type": "string"},
                    "values": {"type": "array"},
                },
            },
            "ServiceDefinition": {
                "type": "object",
                "required": ["service_code", "attributes"],
                "additionalProperties": False,
                "properties": {
                    "service_code": {"type": "string", "minLength": 1},
                    "attributes": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Attribute"},
                    },
                },
            },
            "Created": {
                "type": "object",
                "required": ["service_request_id", "service_notice", "account_id"],
                "additionalProperties": False,
                "properties": {
                    "service_request_id": {
                        "type": "string",
                        "pattern": TRACKING_CODE,
                        "description": "The tracking code, shown once: keep it",
                    },
                    "service_notice": {"type": "string", "minLength": 1},
                    "account_id": {"type": "null", "description": "Filing needs no account"},
                },
            },
            "ServiceRequest": {
                "type": "object",
                "required": [
                    "service_request_id",
                    "status",
                    "status_notes",
                    "service_name",
                    "service_code",
                    "agency_responsible",
                    "agency_code",
                    "service_notice",
                    "requested_datetime",
                    "updated_datetime",
                    "expected_datetime",
                    "address",
                    "lat",
                    "long",
                    "media_url",
                ],
                "additionalProperties": False,
                "properties": {
                    "service_request_id": {
                        "type": "string",
                        "anyOf": [{"pattern": TRACKING_CODE}, {"pattern": CASE_ID}],
                        "description": "The tracking code (looked up by code) or case-<id> "
                        "(a handler's listing)",
                    },
                    "status": {"type": "string", "enum": list(GEOREPORT_STATUSES)},
                    "status_notes": {
                        "type": ["string", "null"],
                        "description": "The newest public note of the handling departments",
                    },
                    "service_name": {"type": "string"},
                    "service_code": {
                        "type": "string",
                        "description": "The category the case is handled under",
                    },
                    "agency_responsible": {"type": "string"},
                    "agency_code": {
                        "type": "string",
                        "description": "The lead department's code (DESIGN §3.6)",
                    },
                    "service_notice": {"type": "string", "minLength": 1},
                    "requested_datetime": CHINA_TIME,
                    "updated_datetime": CHINA_TIME,
                    "expected_datetime": {
                        "anyOf": [CHINA_TIME, {"type": "null"}],
                        "description": "The conclusion deadline while open; null once closed",
                    },
                    "address": {"type": ["string", "null"]},
                    "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
                    "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
                    "media_url": {
                        "type": "null",
                        "description": "Always null: photos are never published",
                    },
                    "deadline_regime": {
                        "type": "object",
                        "description": "An addition to GeoReport v2 (optional): the deadline "
                        "regime the case was filed under, and whether its deadlines are "
                        "provisional (counted over a year whose holidays are not loaded)",
                        "required": ["code", "label", "source", "unit", "provisional"],
                        "additionalProperties": False,
                        "properties": {
                            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,31}$"},
                            "label": {"type": "string", "minLength": 1},
                            "source": {"type": "string", "minLength": 1},
                            "unit": {"type": "string", "enum": ["calendar_days", "working_days"]},
                            "provisional": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    "paths": {
        "/services.json": {
            "get": {
                "operationId": "listServices",
                "summary": "One service per complaint category (`other` among them)",
                "description": XML_NOTE,
                "responses": {"200": _array_of("Service", "The services", min_items=1)},
            }
        },
        "/services/{service_code}.json": {
            "get": {
                "operationId": "getServiceDefinition",
                "summary": "A service's attributes (nursery_id, site_name)",
                "description": XML_NOTE,
                "parameters": [
                    {
                        "name": "service_code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The definition",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ServiceDefinition"}
                            }
                        },
                    },
                    "404": _errors(404, "Unknown service_code"),
                },
            }
        },
        "/requests.json": {
            "post": {
                "operationId": "createRequest",
                "summary": "File a complaint (anonymous allowed)",
                "description": "Form-encoded (GeoReport) or a JSON object. Name the site by "
                "`attribute[nursery_id]` (a filed nursery) or, for a site that is not in the "
                "registry, by `lat` and `long` (in China), by `address_string`, or both. Contact "
                "fields and the description belong in the body: in the query string they are "
                "refused (400). " + XML_NOTE,
                "requestBody": {
                    "required": True,
                    "content": {
                        # The same fields; the attributes flat in a form, nested in JSON.
                        "application/x-www-form-urlencoded": _filing(
                            {
                                "attribute[nursery_id]": NURSERY_ID,
                                "attribute[site_name]": SITE_NAME,
                            }
                        ),
                        "application/json": _filing(
                            {
                                "attribute": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "nursery_id": NURSERY_ID,
                                        "site_name": SITE_NAME,
                                    },
                                }
                            }
                        ),
                    },
                },
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A new random key (a UUID) per complaint: a retry with "
                        "the same key and body gets the first answer, the same tracking code, "
                        "for 24 hours; the same key with another body is refused (422).",
                        "schema": {"type": "string", "pattern": "^[!-~]{8,255}$"},
                    }
                ],
                "responses": {
                    "201": _array_of(
                        "Created", "Filed; routed to a lead department", min_items=1, max_items=1
                    ),
                    "400": _errors(400, "A missing or invalid field"),
                    "422": _errors(422, "The Idempotency-Key was used for another request"),
                    "413": _errors(413, "Body too large"),
                    "429": TOO_MANY,
                },
            },
            "get": {
                "operationId": "listRequests",
                "summary": "Cases: all departments' for the public, or the handler's",
                "description": "At most 1000 cases filed within a window of at most 90 days "
                "(default: the last 90 days), newest first. Cases are identified as "
                "`case-<id>`: a tracking code cannot be recovered from its hash. "
                "`service_request_id` overrides the other filters. Without a bearer token the "
                "listing is public: every department's cases, with `status_notes` and "
                "`address` null and `lat`/`long` rounded to 0.01°. With a handler's token: the "
                "cases the department can see, in full. " + XML_NOTE,
                "security": [{"bearer": []}, {}],
                "parameters": [
                    _q(
                        "service_request_id",
                        {"type": "string"},
                        "Comma-separated case-<id> values or tracking codes (at most 100)",
                    ),
                    _q(
                        "service_code",
                        {"type": "string"},
                        "Comma-separated service codes (each must be listed by services.json)",
                    ),
                    _q(
                        "status",
                        {"type": "string", "pattern": STATUS_LIST},
                        f"{', '.join(GEOREPORT_STATUSES)} or both, comma-separated",
                    ),
                    _q(
                        "start_date",
                        {"anyOf": [{"format": "date-time"}, {"format": "date"}], "type": "string"},
                        "Earliest filing time (ISO 8601; without an offset: China time)",
                    ),
                    _q(
                        "end_date",
                        {"anyOf": [{"format": "date-time"}, {"format": "date"}], "type": "string"},
                        "Latest filing time (a date alone: the whole of that day)",
                    ),
                ],
                "responses": {
                    "200": _array_of(
                        "ServiceRequest",
                        "The matching cases",
                        max_items=1000,
                        extra={"properties": {"service_request_id": {"pattern": CASE_ID}}},
                    ),
                    "400": _errors(400, "An invalid filter"),
                    "401": UNAUTHORIZED,
                    "403": _errors(403, "The account is not a complaint handler's"),
                },
            },
        },
        "/requests/{service_request_id}.json": {
            "get": {
                "operationId": "getRequest",
                "summary": "A complaint's status by its tracking code",
                "description": "The code is taken with or without dashes, in any case. A "
                "handler may also read `case-<id>` with a bearer token. Rate-limited together "
                "with the tracking page. " + XML_NOTE,
                "security": [{}, {"bearer": []}],
                "parameters": [
                    {
                        "name": "service_request_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": REQUEST_ID},
                        "description": "A tracking code such as ABCD-EFGH-JKLM-NPQR (dashes "
                        "optional, any case), or case-<id>; anything else is a 400",
                    }
                ],
                "responses": {
                    "200": _array_of("ServiceRequest", "The case", min_items=1, max_items=1),
                    "400": _errors(400, "Not a well-formed tracking code"),
                    "401": UNAUTHORIZED,
                    "403": _errors(
                        403,
                        "case-<id> with the token of an account that is not a complaint handler's",
                    ),
                    "404": _errors(404, "No such code, or a case the handler cannot see"),
                    "429": TOO_MANY,
                },
            }
        },
    },
}


def build_spec(service_codes: list[str] | None = None) -> dict:
    """The document; with the current category codes, the posted service_code is their enum."""
    spec = copy.deepcopy(SPEC)
    if service_codes:
        body = spec["paths"]["/requests.json"]["post"]["requestBody"]["content"]
        for media in body.values():
            media["schema"]["properties"]["service_code"] = {
                "type": "string",
                "enum": list(service_codes),
                "description": "A service_code listed by services.json",
            }
    return spec
