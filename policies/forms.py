"""The admin's policy form and the hide/show form. The checks themselves are the plain rules of
policies/document.py, so the page, the file import and the API refuse the same things."""

import json

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from .document import (
    CATEGORIES,
    MAX_BODY,
    MAX_CODE,
    MAX_REGION,
    MAX_SOURCE,
    MAX_SUMMARY,
    MAX_TITLE,
    PolicyError,
)

INT_FIELDS = ("min_age_months", "max_age_months", "min_children")
MAX_RULE = 2000


def _most(limit: int, label: str, slack: int = 0) -> Length:
    """A first length check (document.check_policy counts again after stripping)."""
    return Length(max=limit + slack, message=f"{label}不能超过 {limit} 字")


class PolicyForm(FlaskForm):
    code = StringField(
        "编号（小写字母、数字、连字符，导入导出时用来对应）", validators=[_most(MAX_CODE, "编号")]
    )
    title = StringField("标题", validators=[_most(MAX_TITLE, "标题")])
    category = SelectField("类别", choices=[SelectChoice(k, v) for k, v in CATEGORIES.items()])
    region = StringField(
        "适用地区（“全国”或“重庆市/荣昌区”这样的路径）", validators=[_most(MAX_REGION, "适用地区")]
    )
    summary = TextAreaField("摘要（一两句话）", validators=[_most(MAX_SUMMARY, "摘要")])
    body = TextAreaField("正文（写明文件条目）", validators=[_most(MAX_BODY, "正文", 500)])
    min_age_months = StringField("适用最小月龄（含，可不填）")
    max_age_months = StringField("适用最大月龄（不含，可不填）")
    min_children = StringField("最少子女数（如二孩及以上家庭填 2，可不填）")
    inclusive_required = BooleanField("仅限普惠性托育机构")
    amount_rule = TextAreaField(
        "金额规则（JSON）", default='{"kind": "none"}', validators=[_most(MAX_RULE, "金额规则")]
    )
    source_title = StringField(
        "来源文件（标题、文号、条目）", validators=[_most(MAX_SOURCE, "来源文件")]
    )
    source_date = StringField("来源日期（YYYY-MM-DD，可不填）")
    effective_from = StringField("生效日期（YYYY-MM-DD，可不填）")
    effective_to = StringField("失效日期（YYYY-MM-DD，可不填）")

    def item(self) -> dict:
        """The form's data as a policy mapping for document.check_policy."""
        item = {}
        for name in ("code", "title", "category", "region", "summary", "body", "amount_rule",
                     "source_title", "source_date", "effective_from", "effective_to"):  # fmt: skip
            item[name] = getattr(self, name).data or ""
        for name in INT_FIELDS:
            raw = (getattr(self, name).data or "").strip()
            if not raw:
                item[name] = None
                continue
            try:
                item[name] = int(raw)
            except ValueError:
                raise PolicyError(f"{getattr(self, name).label.text}须为整数", name) from None
        item["inclusive_required"] = bool(self.inclusive_required.data)
        return item

    def fill(self, p) -> None:
        """Show a policy's fields (a PolicyData) in the form."""
        d = p.as_dict()
        for name, f in self._fields.items():
            if name in d and name != "csrf_token":
                value = d[name]
                if name == "amount_rule":
                    value = json.dumps(value, ensure_ascii=False)
                elif name in INT_FIELDS or name.endswith("_date") or name.startswith("effective"):
                    value = "" if value is None else str(value)
                f.data = value


class HideForm(FlaskForm):
    reason = StringField(
        "说明（可不填，记入审计日志）", validators=[Length(max=200, message="说明不能超过 200 字")]
    )


class ImportForm(FlaskForm):
    file = FileField(
        "政策文件（JSON，UTF-8，不超过 512 KB）", validators=[FileRequired("请选择政策文件")]
    )
    reason = StringField(
        "说明（可不填，记入审计日志）", validators=[Length(max=200, message="说明不能超过 200 字")]
    )
