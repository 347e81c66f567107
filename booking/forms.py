"""The booking pages' forms (Flask-WTF: every POST carries a CSRF token): the families'
(registering a child, booking a place) and the nursery staff portal's (declining, the waitlist,
classes, offers and opening hours).

The forms check what a browser can get wrong (missing fields, numbers, dates that are not
dates, choices); the booking rules themselves (ages, opening hours, national class standards,
capacity already held...) stay in `booking.services`, whose refusals the views show next to the
field they name.
"""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from maps.domain import CARE_TYPES, CLASS_TYPES, PRICE_UNITS, standard_ratio
from web.forms import ChoiceField, ClockField, WholeNumberField, choices

from .parsing import MAX_ID
from .services.family import MAX_NAME, MAX_NOTES
from .services.staff import MAX_REASON
from .slots import SESSIONS

# Why a nursery may move a waiting family to the front of its queue (recorded in the audit log).
MOVE_REASONS = {
    "sibling": "同胞：兄弟姐妹已在本机构入托",
    "employer_staff": "本单位职工子女",
    "other": "其他",
}
EMPLOYER_ONLY = {"employer_staff"}  # only for employer-run nurseries (用人单位办托)
SESSION_CHOICES = {"am,pm": "上午和下午", "am": "仅上午", "pm": "仅下午"}  # slots.OFFER_SESSIONS
BAD_DATE = "请按 年-月-日（如 2026-03-01）填写日期"


def int_or_none(value):
    """A submitted id as an int; anything else as None (the required check then explains)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


# --- families ----------------------------------------------------------------------------------


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


# --- nursery staff -------------------------------------------------------------------------------


class DeleteAccountForm(FlaskForm):
    """注销账号: the parent confirms with their password."""

    password = PasswordField(
        "登录密码",
        validators=[
            DataRequired("请输入登录密码以确认注销"),
            Length(max=128, message="密码不能超过 128 位"),
        ],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        "婉拒原因（会告知家长）",
        validators=[
            DataRequired("请填写婉拒原因（会告知家长）"),
            Length(max=MAX_REASON, message=f"原因不能超过 {MAX_REASON} 个字"),
        ],
    )


class MoveToFrontForm(FlaskForm):
    reason_kind = ChoiceField(
        "优先理由",
        choices=choices([("", "请选择"), *MOVE_REASONS.items()]),
        validators=[DataRequired("请选择优先安排的理由")],
    )
    detail = StringField("说明", validators=[Length(max=150, message="说明不能超过 150 个字")])

    def __init__(self, *args, employer: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not employer:
            self.reason_kind.choices = [
                c for c in self.reason_kind.choices if c.value not in EMPLOYER_ONLY
            ]

    def validate_detail(self, field):
        if self.reason_kind.data == "other" and not (field.data or "").strip():
            raise ValidationError("选择“其他”时请写明理由")

    def reason_text(self) -> str:
        """The reason as recorded: the chosen kind, then any explanation."""
        detail = (self.detail.data or "").strip()
        return MOVE_REASONS[self.reason_kind.data] + (f"（{detail}）" if detail else "")


def _class_choice(key: str) -> tuple[str, str]:
    std = CLASS_TYPES[key]
    ratio = standard_ratio(key)
    return (
        key,
        f"{std.label}（{std.min_months}–{std.max_months} 个月，最多 {std.max_children} 人，"
        f"1:{ratio}）",
    )


class ClassForm(FlaskForm):
    class_id = StringField()  # rendered hidden; empty: a new class
    class_type = ChoiceField(
        "班级类型",
        choices=choices([("", "请选择"), *(_class_choice(k) for k in CLASS_TYPES)]),
        validators=[DataRequired("请选择班级类型")],
    )
    name = StringField(
        "班级名称",
        validators=[
            DataRequired("请填写班级名称"),
            Length(max=64, message="班级名称不能超过 64 个字"),
        ],
    )
    carers = WholeNumberField("保育人员（人）", validators=[InputRequired("请填写保育人员数")])
    capacity = WholeNumberField("托位数（人）", validators=[InputRequired("请填写托位数")])


class OfferForm(FlaskForm):
    care_type = ChoiceField(
        "托育类型",
        choices=choices(CARE_TYPES.items()),
        validators=[DataRequired("请选择托育类型")],
    )
    class_type = ChoiceField(
        "所属班级",
        choices=choices([("", "请选择"), *((k, v.label) for k, v in CLASS_TYPES.items())]),
    )
    capacity = WholeNumberField("托位数", validators=[InputRequired("请填写托位数")])
    price_yuan = StringField(
        "价格（元）",
        validators=[InputRequired("请填写价格"), Length(max=12, message="价格格式不正确")],
    )
    price_unit = ChoiceField(
        "计价单位", choices=choices([("", "按托育类型默认"), *PRICE_UNITS.items()])
    )
    sessions = ChoiceField("半日托时段", choices=choices(SESSION_CHOICES.items()))


class HoursForm(FlaskForm):
    opens_at = ClockField("开门时间", validators=[InputRequired("请填写开门时间")])
    closes_at = ClockField("关门时间", validators=[InputRequired("请填写关门时间")])
