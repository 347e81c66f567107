"""Parents' forms (Flask-WTF, CSRF-protected): registering a child and booking a place.

The forms check what a browser can get wrong (missing fields, dates that are not dates); the
booking rules themselves (ages, opening hours, capacity...) stay in `booking.services`.
"""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .rules import SESSIONS
from .services import MAX_NAME, MAX_NOTES

try:  # WTForms >= 3.3 declares options as SelectChoice (tuples are deprecated there)
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None

BAD_DATE = "请按 年-月-日（如 2026-03-01）填写日期"
MAX_ID = 2**31 - 1  # ids are INTEGER columns; larger numbers cannot name a row


def choices(pairs) -> list:
    """Options for a select or radio field from (value, label) pairs."""
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def int_or_none(value):
    """A submitted id as an int; anything else as None (the required check then explains)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


class ChildForm(FlaskForm):
    name = StringField(
        "孩子姓名",
        validators=[
            DataRequired("请填写孩子姓名"),
            Length(max=MAX_NAME, message=f"姓名不能超过 {MAX_NAME} 个字"),
        ],
    )
    birth_date = DateField(
        "出生日期",
        validators=[InputRequired("请选择出生日期")],
        invalid_value_message=BAD_DATE,
    )
    health_notes = TextAreaField(
        "健康备注（选填）",
        validators=[
            Optional(),
            Length(max=MAX_NOTES, message=f"健康备注不能超过 {MAX_NOTES} 个字"),
        ],
        description="如过敏、慢性病、饮食禁忌。不填也可以预约；只提供给您预约并同意提供的机构。",
    )
    guardian_consent = BooleanField(
        "我是孩子的监护人，已阅读并同意上述《儿童个人信息保护规则》",
        validators=[DataRequired("须先阅读并勾选同意《儿童个人信息保护规则》，才能登记孩子信息")],
    )


class BookingForm(FlaskForm):
    """Every field is shown (the page works without JavaScript); the view passes the service only
    the fields the chosen care type uses."""

    child_id = SelectField(
        "为哪个孩子预约",
        coerce=int_or_none,
        validate_choice=False,  # the service refuses someone else's child with a 404
        validators=[DataRequired("请选择孩子")],
    )
    care_type = RadioField(
        "托育类型",
        validate_choice=False,  # the service explains a care type the nursery does not offer
        validators=[DataRequired("请选择托育类型")],
    )
    start_date = DateField(
        "开始日期",
        validators=[InputRequired("请选择开始日期")],
        invalid_value_message=BAD_DATE,
    )
    end_date = DateField(
        "结束日期",
        validators=[Optional()],
        invalid_value_message=BAD_DATE,
    )
    session = RadioField(
        "半日托时段",
        choices=choices(SESSIONS.items()),
        validate_choice=False,
        validators=[Optional()],
    )
    start_time = SelectField("开始时间", validate_choice=False, validators=[Optional()])
    end_time = SelectField("结束时间", validate_choice=False, validators=[Optional()])
    share_consent = BooleanField(
        "同意提供孩子信息",  # the template names the nursery in the label it shows
        validators=[DataRequired("须勾选同意将孩子信息提供给该机构，才能预约")],
    )
