"""Which text classifier applies (a read): the newest trained version in the database, else the
model file shipped in the repository (`complaints/model/classifier.npz`).

Like the routing rules (`rulebook.py`), every trained version is kept, so a version can be rolled
back and a case's routing traced to the model of its day. The decoded model is cached per
database and version: decoding takes a few milliseconds, asking for the newest id far less.
"""

from __future__ import annotations

import logging

from flask import g, has_request_context
from sqlalchemy import func, select

from extensions import db

from .classifier import Model, shipped_model
from .models import ClassifierVersion

log = logging.getLogger(__name__)

_cache: dict[str, tuple[int, Model]] = {}  # database URL → (version id, model)


def current() -> tuple[int, Model]:
    """(version id — 0 for the shipped file —, the model)."""
    if has_request_context() and "complaint_model" in g:
        return g.complaint_model
    newest = db.session.scalar(select(func.max(ClassifierVersion.id))) or 0
    key = str(db.engine.url)
    cached = _cache.get(key)
    if not (cached and cached[0] == newest):
        cached = (newest, _load(newest))
        _cache[key] = cached
    if has_request_context():
        g.complaint_model = cached
    return cached


def current_model() -> Model:
    return current()[1]


def _load(version: int) -> Model:
    if not version:
        return shipped_model()
    return Model.from_bytes(db.session.get(ClassifierVersion, version).data)


def forget_request_copy() -> None:
    if has_request_context():
        g.pop("complaint_model", None)


def reset() -> None:
    _cache.clear()
