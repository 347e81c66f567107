"""The app's URL converter and JSON provider: bad input is a 4xx, never a 500."""

from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` limited to what an INTEGER column holds on SQLite and PostgreSQL alike."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too deeply nested input refused like any other bad JSON.

    The parser raises RecursionError (not ValueError) on e.g. 100,000 "[", which would escape
    `request.get_json(silent=True)` and become a 500 in every JSON endpoint.
    """

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
