"""Forms of the handlers' case pages (Flask-WTF: every POST carries a CSRF token).

The forms check shape only (filled in, lengths, numbers, choices). The rules — who may do
what, in which state, extending once — are the model's state machine (`Complaint`), enforced by
the use cases in complaints/services/handling.py, whose refusals the pages show next to the
field they name. Each form on a case page has its own
prefix (the action's name), so one page can carry many forms with distinct field ids.
"""

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from web.forms import ChoiceField, WholeNumberField

from ..regimes import LEGACY, Regime
from ..validation import MAX_TEXT

MAX_ID = 2**31 - 1  # a case number beyond an INTEGER column is simply not a case

NOTE_VISIBILITY = {
    "internal": "内部备注（仅承办部门可见）",
    "public": "公开说明（投诉人在查询页可见）",
}


def _text(label: str, required: bool = True) -> TextAreaField:
    validators = [Length(max=MAX_TEXT, message=f"{label}不能超过 {MAX_TEXT} 字")]
    if required:
        validators.insert(0, DataRequired(f"请填写{label}"))
    return TextAreaField(label, validators=validators)


class ActionForm(FlaskForm):
    """A button that changes something (accept, take over a transfer, reveal contact)."""


class TransferForm(FlaskForm):
    department = ChoiceField("转交部门", validators=[DataRequired("请选择转交部门")])
    reason = _text("转办理由")

    def __init__(self, *args, departments: dict[str, str], own: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice("", "请选择")] + [
            SelectChoice(code, name) for code, name in departments.items() if code != own
        ]


class RecategoriseForm(FlaskForm):
    """更正类别: the lead's triage names the category (a 待分类 case, or one routed wrong)."""

    category = ChoiceField("正确的类别", validators=[DataRequired("请选择类别")])
    reason = _text("更正理由")

    def __init__(self, *args, categories: dict[str, str], current: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", "请选择")] + [
            SelectChoice(code, label) for code, label in categories.items()
        ]
        self.category.default = current


class DeclineTransferForm(FlaskForm):
    reason = _text("退回理由")


class InfoForm(FlaskForm):
    question = _text("需要投诉人补充的内容")


class NoteForm(FlaskForm):
    note = _text("备注")
    visibility = RadioField(
        "可见范围",
        choices=[SelectChoice(value, label) for value, label in NOTE_VISIBILITY.items()],
        default="internal",
        invalid_choice_message="请选择可见范围",
        validators=[InputRequired("请选择可见范围")],
    )

    def __init__(self, *args, public_allowed: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not public_allowed:
            self.visibility.choices = [SelectChoice("internal", NOTE_VISIBILITY["internal"])]

    @property
    def public(self) -> bool:
        return self.visibility.data == "public"


class ExtendForm(FlaskForm):
    """The case's deadline regime gives the unit and the maximum (30 calendar days under
    信访工作条例, 15 working days under SAMR's rules)."""

    days = WholeNumberField("延长天数", validators=[InputRequired("请填写延长的天数")])
    reason = _text("延期理由（投诉人可见）")

    def __init__(self, *args, regime: Regime = LEGACY, **kwargs):
        super().__init__(*args, **kwargs)
        self.regime = regime
        most = regime.max_extension
        unit = "工作日数" if regime.working_days else "天数"
        self.days.label.text = f"延长{unit}（1–{most}）"
        self.days.validators = [
            *self.days.validators,
            NumberRange(1, most, message=f"延长天数须为 1–{regime.days(most)}"),
        ]


class ResolveForm(FlaskForm):
    result = _text("办理结果（投诉人可见）")


class RefuseForm(FlaskForm):
    reason = _text("不予受理的理由（投诉人可见）")
    referral = _text("投诉人可以反映的机关或途径（如 人民法院、劳动人事争议仲裁委员会）")


class CloseForm(FlaskForm):
    reason = _text("关闭理由（投诉人可见；未办结的案件必填）", required=False)


class DuplicateForm(FlaskForm):
    original_id = WholeNumberField(
        "合并到案件编号",
        validators=[
            InputRequired("请填写要合并到的案件编号"),
            NumberRange(1, MAX_ID, message="案件编号不正确"),
        ],
    )


class ReopenForm(FlaskForm):
    reason = _text("重新办理的理由（投诉人可见）")
