"""Domain errors: a code for programs and a Chinese message for people."""

import json


class DomainError(Exception):
    """A request the service refuses; views turn it into a 4xx."""

    status = 400

    def __init__(
        self, code: str, message: str, status: int | None = None, field: str | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


def json_document(
    raw: bytes | str, code: str, what: str, max_bytes: int, too_large: str | None = None
):
    """An uploaded or pasted JSON document (routing rules, a holiday arrangement) parsed, its
    size, encoding and syntax checked; DomainError(code) in Chinese naming `what` otherwise
    (`too_large`, if given, is the code for a document over `max_bytes`)."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "replace"))
    if size > max_bytes:  # pasted text is held to the same limit as an uploaded file
        raise DomainError(too_large or code, f"{what}文件过大（不超过 {max_bytes // 1024} KB）")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(code, f"{what}文件须为 UTF-8 编码的 JSON") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DomainError(
            code, f"{what}不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列"
        ) from None
    except RecursionError:
        raise DomainError(code, f"{what} JSON 嵌套层数过多") from None
