"""Parents' booking pages: children, booking a place, my bookings, inbox."""

from flask import Blueprint

bp = Blueprint("booking", __name__)
