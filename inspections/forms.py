"""Forms of the inspection pages (Flask-WTF, CSRF on every POST). They check shape only (filled
in, lengths, choices); the rules — dates, the deadline a result needs, who may write — are the
services' (inspections/services.py, rules.py), whose refusals the pages show by the field."""

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from web.forms import ChoiceField, choices

from .rules import KINDS, MAX_FINDINGS, MAX_NOTE, OUTCOMES, RESULTS, VERDICTS


class InspectionForm(FlaskForm):
    nursery_id = ChoiceField("被检查机构", validators=[DataRequired("请选择被检查机构")])
    kind = ChoiceField(
        "检查类别",
        choices=choices([("", "请选择"), *KINDS.items()]),
        validators=[DataRequired("请选择检查类别")],
    )
    inspected_on = StringField("检查日期", validators=[DataRequired("请填写检查日期")])
    findings = TextAreaField(
        "检查发现",
        validators=[
            DataRequired("请填写检查发现"),
            Length(max=MAX_FINDINGS, message=f"检查发现不能超过 {MAX_FINDINGS} 字"),
        ],
    )
    result = RadioField(
        "检查结论",
        choices=choices(RESULTS.items()),
        invalid_choice_message="请选择检查结论",
        validators=[DataRequired("请选择检查结论")],
    )
    rectify_by = StringField("整改期限", validators=[Optional()])

    def __init__(self, *args, nurseries: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.nursery_id.choices = choices([("", "请选择"), *nurseries])


class FollowUpForm(FlaskForm):
    note = TextAreaField(
        "跟进情况",
        validators=[
            DataRequired("请填写跟进情况"),
            Length(max=MAX_NOTE, message=f"跟进情况不能超过 {MAX_NOTE} 字"),
        ],
    )


class CloseForm(FlaskForm):
    closed_on = StringField("复查日期", validators=[DataRequired("请填写复查日期")])
    note = TextAreaField(
        "复查情况",
        validators=[
            DataRequired("请填写复查情况"),
            Length(max=MAX_NOTE, message=f"复查情况不能超过 {MAX_NOTE} 字"),
        ],
    )


class VerdictForm(FlaskForm):
    verdict = ChoiceField(
        "核查结论",
        choices=choices([("", "请选择"), *VERDICTS.items()]),
        validators=[DataRequired("请选择核查结论")],
    )
    outcome = ChoiceField(
        "处理结果（查实时填写）",
        choices=choices([("", "—"), *OUTCOMES.items()]),
        validators=[Optional()],
    )
