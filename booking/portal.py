"""The nursery staff portal: bookings to confirm, waitlists, classes, offers, occupancy."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
