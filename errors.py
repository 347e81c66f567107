"""Domain errors: a code for programs and a Chinese message for people."""


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
