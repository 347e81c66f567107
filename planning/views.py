"""Planning dashboard for the district admin (区卫生健康委)."""

from flask import Blueprint

bp = Blueprint("planning", __name__, url_prefix="/planning")
