"""Public complaint pages: the form, the tracking code, and the tracking page (投诉举报马上查)."""

from flask import Blueprint

bp = Blueprint("complaints", __name__)
