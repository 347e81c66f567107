"""Admin pages: departments, categories, keywords and routing rules; routing preview."""

from flask import Blueprint

bp = Blueprint("complaint_admin", __name__, url_prefix="/admin/complaint-rules")
