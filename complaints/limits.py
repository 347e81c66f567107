"""Rate limits shared by every way of looking a complaint up by its code, and by filing.

One shared counter for the tracking page, its answer/rate forms and Open311 look-ups, so that
guessing codes through several doors costs the same as through one.
"""

from flask import current_app, request

from extensions import limiter


def _lookup_limit() -> str:
    return current_app.config["COMPLAINT_LOOKUP_LIMIT"]


def _file_limit() -> str:
    return current_app.config["COMPLAINT_FILE_LIMIT"]


def _with_token() -> bool:
    return "Authorization" in request.headers


lookup_limit = limiter.shared_limit(_lookup_limit, scope="complaint-lookup")
# The public Open311 listing counts with the look-ups; a handler's listing (bearer token) does not.
public_listing_limit = limiter.shared_limit(
    _lookup_limit, scope="complaint-lookup", exempt_when=_with_token
)
file_limit = limiter.shared_limit(_file_limit, scope="complaint-file")
