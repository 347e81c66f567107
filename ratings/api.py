"""Ratings in the JSON API: a nursery's public ratings (the search results carry
`rating: {average, count}`, see maps/queries.py)."""

from flask import jsonify

from api import bp
from maps.queries import public_nursery

from . import queries


@bp.get("/nurseries/<int:nursery_id>/ratings")
def nursery_ratings(nursery_id: int):
    nursery = public_nursery(nursery_id)
    return jsonify(queries.public_section(nursery.id))
