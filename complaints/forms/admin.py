"""Forms of the admin pages on the routing rules: a category, the departments, the whole JSON
document, a file import, and the routing preview. They check shape (lengths, choices, keyword
lists); the whole new document is then validated by the routing rules themselves."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from maps.domain import NURSERY_KINDS
from web.forms import ChoiceField

from ..routing import DEPARTMENT_CODE, MAX_SOURCE_CHARS
from ..validation import MAX_DESCRIPTION

WORD_SEPARATORS = re.compile(r"[、,，;；\r\n]+")
MAX_WORD = 20
MAX_WORDS = 300
MAX_LABEL = 32
MAX_CATEGORY_DESCRIPTION = 500


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", "请从列表中选择")
        super().__init__(*args, **kwargs)


def split_words(text: str | None) -> list[str]:
    """Keywords typed one per line or separated by 、 , ， ; ；, blanks dropped, order kept."""
    words = (w.strip() for w in WORD_SEPARATORS.split(text or ""))
    return list(dict.fromkeys(w for w in words if w))


def _check_words(field) -> None:
    words = split_words(field.data)
    if len(words) > MAX_WORDS:
        raise ValidationError(f"关键词不能超过 {MAX_WORDS} 个（现有 {len(words)} 个）")
    for w in words:
        if len(w) > MAX_WORD:
            raise ValidationError(f"关键词“{w[:MAX_WORD]}…”过长（每个不超过 {MAX_WORD} 字）")


class VersionedForm(FlaskForm):
    base_version = HiddenField()  # the rules version the form was filled from


class CategoryForm(VersionedForm):
    label = StringField(
        "类别名称",
        validators=[
            DataRequired("请填写类别名称"),
            Length(max=MAX_LABEL, message=f"类别名称不能超过 {MAX_LABEL} 字"),
        ],
    )
    description = TextAreaField(
        "说明与举例（公众填表时看到）",
        validators=[
            DataRequired("请填写说明"),
            Length(
                max=MAX_CATEGORY_DESCRIPTION,
                message=f"说明不能超过 {MAX_CATEGORY_DESCRIPTION} 字",
            ),
        ],
    )
    lead = ChoiceField("牵头部门", validators=[DataRequired("请选择牵头部门")])
    co = CheckboxesField("协办部门")
    urgent = BooleanField("紧急类别（提交即标记紧急，24 小时内受理）")
    keywords = TextAreaField("关键词（文本分类用；每行一个，或用顿号、逗号分隔）")
    urgent_keywords = TextAreaField("紧急关键词（出现即标记紧急，并可升级类别）")
    source = StringField(
        "依据（牵头、协办部门的出处，如“荣昌 行动计划 第9项”；选填）",
        validators=[
            Length(max=MAX_SOURCE_CHARS, message=f"依据不能超过 {MAX_SOURCE_CHARS} 字"),
        ],
    )

    def __init__(self, *args, departments: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        pairs = list(departments.items())
        self.lead.choices = _choices([("", "请选择"), *pairs])
        self.co.choices = _choices(pairs)

    def validate_co(self, field):
        if self.lead.data and self.lead.data in (field.data or []):
            raise ValidationError("牵头部门不能同时是协办部门")

    def validate_keywords(self, field):
        _check_words(field)

    def validate_urgent_keywords(self, field):
        _check_words(field)


def departments_form(departments: dict[str, str], formdata=None):
    """One name box per department, plus a new code and name; built for the current list."""

    class DepartmentsForm(VersionedForm):
        new_code = StringField("新部门代码（小写字母、数字和下划线，如 admin_approval）")
        new_name = StringField("新部门名称")
        new_source = StringField(
            "新部门的依据（如“大竹 实施意见 附件 行政审批局”；选填）",
            validators=[
                Length(max=MAX_SOURCE_CHARS, message=f"依据不能超过 {MAX_SOURCE_CHARS} 字"),
            ],
        )

        def validate_new_code(self, field):
            code = (field.data or "").strip()
            if not code:
                if (self.new_name.data or "").strip():
                    raise ValidationError("请填写新部门的代码")
                return
            if not DEPARTMENT_CODE.match(code):
                raise ValidationError("部门代码须为 2–32 位小写字母、数字或下划线，以字母开头")
            if code in departments:
                raise ValidationError("该部门代码已存在")

        def validate_new_name(self, field):
            if (self.new_code.data or "").strip() and not (field.data or "").strip():
                raise ValidationError("请填写新部门的名称")
            if len((field.data or "").strip()) > MAX_LABEL:
                raise ValidationError(f"部门名称不能超过 {MAX_LABEL} 字")

    for code, name in departments.items():
        setattr(
            DepartmentsForm,
            "name_" + code,
            StringField(
                code,
                default=name,
                validators=[
                    DataRequired("请填写部门名称"),
                    Length(max=MAX_LABEL, message=f"部门名称不能超过 {MAX_LABEL} 字"),
                ],
            ),
        )
    return DepartmentsForm() if formdata is not None else DepartmentsForm(formdata=None)


class JsonForm(VersionedForm):
    document = TextAreaField("分办规则（JSON）", validators=[DataRequired("请填写规则 JSON")])


class ImportForm(FlaskForm):
    file = FileField(
        "规则文件（JSON，UTF-8，不超过 512 KB）", validators=[FileRequired("请选择规则文件")]
    )


class PreviewForm(FlaskForm):
    text = TextAreaField(
        "投诉内容",
        validators=[Length(max=MAX_DESCRIPTION, message=f"投诉内容不能超过 {MAX_DESCRIPTION} 字")],
    )
    category = ChoiceField("投诉人选择的类别", validators=[DataRequired("请选择类别")])
    kind = ChoiceField(
        "机构类型",
        choices=_choices([("", "未登记场所（按位置）"), *NURSERY_KINDS.items()]),
    )
    inclusive = BooleanField("普惠性机构")

    def __init__(self, *args, categories: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _choices(categories.items())


class HolidayImportForm(FlaskForm):
    """A year's holiday arrangement (JSON); the import checks its dates."""

    file = FileField(
        "节假日安排文件（JSON，UTF-8，不超过 64 KB）",
        validators=[FileRequired("请选择节假日安排文件")],
    )
    reason = StringField(
        "说明（可不填，记入审计日志）",
        validators=[Length(max=200, message="说明不能超过 200 字")],
    )
