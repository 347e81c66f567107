"""Forms of the registry's pages: the admin's price-rule file (search takes query parameters)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length

MAX_RULES_BYTES = 64 * 1024


class PriceRulesImportForm(FlaskForm):
    """A district's guided prices and caps (JSON); the import checks every rule."""

    file = FileField(
        "价格规则文件（JSON，UTF-8，不超过 64 KB）",
        validators=[FileRequired("请选择价格规则文件")],
    )
    reason = StringField(
        "说明（可不填，记入审计日志）",
        validators=[Length(max=200, message="说明不能超过 200 字")],
    )
