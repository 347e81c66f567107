"""Forms of the nursery staff portal (Flask-WTF: every POST carries a CSRF token).

The forms check shape only (required fields, numbers, choices); the rules (national class
standards, capacity already held, opening hours) are the services' in booking/nursery.py, whose
refusals the views show next to the field they name.
"""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from maps.domain import CARE_TYPES, CLASS_TYPES, PRICE_UNITS

from .nursery import MAX_REASON

# Why a nursery may move a waiting family to the front of its queue (recorded in the audit log).
MOVE_REASONS = {
    "sibling": "同胞：兄弟姐妹已在本机构入托",
    "employer_staff": "本单位职工子女",
    "other": "其他",
}
EMPLOYER_ONLY = {"employer_staff"}  # only for employer-run nurseries (用人单位办托)
SESSION_CHOICES = {"am,pm": "上午和下午", "am": "仅上午", "pm": "仅下午"}


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer field whose errors are in Chinese; an empty box is "not filled in"."""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("请输入整数") from None


class ChoiceField(SelectField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", "请从列表中选择")
        super().__init__(*args, **kwargs)


class ClockField(TimeField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%H:%M", "%H:%M:%S"])
        kwargs.setdefault("invalid_value_message", "时间须为“时:分”格式，如 07:30")
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None  # left empty: InputRequired says so, once
            return
        super().process_formdata(valuelist)


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
        choices=_choices([("", "请选择"), *MOVE_REASONS.items()]),
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
    ratio = f"，1:{std.children_per_carer}" if std.children_per_carer else ""
    return (
        key,
        f"{std.label}（{std.min_months}–{std.max_months} 个月，最多 {std.max_children} 人{ratio}）",
    )


class ClassForm(FlaskForm):
    class_id = StringField()  # rendered hidden; empty: a new class
    class_type = ChoiceField(
        "班级类型",
        choices=_choices([("", "请选择"), *(_class_choice(k) for k in CLASS_TYPES)]),
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
        choices=_choices(CARE_TYPES.items()),
        validators=[DataRequired("请选择托育类型")],
    )
    class_type = ChoiceField(
        "适用班级",
        choices=_choices(
            [("", "全部月龄（不分班级）"), *((k, v.label) for k, v in CLASS_TYPES.items())]
        ),
    )
    capacity = WholeNumberField("托位数", validators=[InputRequired("请填写托位数")])
    price_yuan = StringField(
        "价格（元）",
        validators=[InputRequired("请填写价格"), Length(max=12, message="价格格式不正确")],
    )
    price_unit = ChoiceField(
        "计价单位", choices=_choices([("", "按托育类型默认"), *PRICE_UNITS.items()])
    )
    sessions = ChoiceField("半日托时段", choices=_choices(SESSION_CHOICES.items()))


class HoursForm(FlaskForm):
    opens_at = ClockField("开门时间", validators=[InputRequired("请填写开门时间")])
    closes_at = ClockField("关门时间", validators=[InputRequired("请填写关门时间")])
