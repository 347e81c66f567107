"""Handler pages: the department's queue, case pages and actions, statistics."""

from flask import Blueprint

bp = Blueprint("handling", __name__, url_prefix="/handle")
