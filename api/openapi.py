"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)

CARE_TYPE = {"type": "string", "enum": ["full_day", "half_day", "hourly", "temporary"]}
KIND = {
    "type": "string",
    "enum": [
        "public",
        "public_private",
        "private",
        "employer",
        "kindergarten_class",
        "community",
        "family",
    ],
}
ERROR = {
    "description": "Refused input or missing resource",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
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
        {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84"},
        "Coordinate system of lat/lon",
    ),
]

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
                },
            }
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
                "responses": {"201": {"description": "Created"}, "400": ERROR, "409": ERROR},
            }
        },
    },
}


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(SPEC)
