"""Turning JSON or form input into booking requests, with errors people understand.

Role: input parsing shared by the API and the pages (like `web.params`), no database.
"""

from datetime import date

from errors import DomainError

from .rules import Request, RuleError, parse_hour


def parse_date(value, field: str, required: bool = True) -> date | None:
    if value is None or value == "":
        if required:
            raise DomainError("invalid_date", f"缺少日期 {field}", field=field)
        return None
    if not isinstance(value, str):
        raise DomainError("invalid_date", f"{field} 须为 YYYY-MM-DD 格式的日期", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(
            "invalid_date", f"{field} 须为 YYYY-MM-DD 格式的日期", field=field
        ) from None


MAX_ID = 2**31 - 1  # what an INTEGER column holds: larger ids cannot name a row


def parse_int_id(value, field: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise DomainError("invalid_id", f"{field} 须为正整数", field=field)
    return value


def parse_request(data: dict) -> Request:
    """A booking request from the fields of DESIGN §6."""
    care_type = data.get("care_type")
    if not isinstance(care_type, str):
        raise DomainError("invalid_care_type", "请选择托育类型", field="care_type")
    session = data.get("session")
    if session == "":
        session = None
    start_hour = end_hour = None
    try:
        if data.get("start_time") not in (None, "") or data.get("end_time") not in (None, ""):
            start_hour = parse_hour(data.get("start_time"), "start_time")
            end_hour = parse_hour(data.get("end_time"), "end_time")
    except RuleError as exc:
        raise DomainError(exc.code, exc.message, field=exc.field) from None
    if care_type != "hourly" and start_hour is not None:
        raise DomainError("invalid_time", "只有计时托需要填写时间", field="start_time")
    return Request(
        care_type=care_type,
        start_date=parse_date(data.get("start_date"), "start_date"),
        end_date=parse_date(data.get("end_date"), "end_date", required=False),
        session=session if session is None or isinstance(session, str) else "?",
        start_hour=start_hour,
        end_hour=end_hour,
    )
