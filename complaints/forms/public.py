"""The public complaint forms (Flask-WTF, CSRF-protected): filing, answering, rating.

The forms check only what a browser can get wrong in its own terms (a coordinate that is not a
number, a choice that is not one of ours); every rule about complaints — required fields,
lengths, photos, the nursery, the site — stays in `complaints.services.filing`, whose refusals
the views show beside the field they concern.
"""

import math

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from web.forms import choices

from ..models import RATINGS
from ..photos import FORMATS, MAX_PHOTOS
from ..validation import MAX_DESCRIPTION, MAX_TEXT

COORDSYS_CHOICES = [
    ("wgs84", "WGS-84（手机 GPS、奥维等）"),
    ("gcj02", "GCJ-02（高德、腾讯地图）"),
    ("bd09", "BD-09（百度地图）"),
]
SITE = "site"  # the nursery choice meaning "a site that is not in the registry"
ACCEPT_PHOTOS = ",".join(FORMATS.values())  # image/jpeg,image/png


def parse_coordinate(value, label: str, bound: float) -> float | None:
    """A typed latitude or longitude as a float; None when blank; ValueError (Chinese) else."""
    text = (value or "").strip().replace("，", ",").replace("．", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{label}须为数字，如 {'29.56' if bound == 90 else '106.55'}") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise ValueError(f"{label}超出范围（-{bound:g} 至 {bound:g}）")
    return number


class ComplaintForm(FlaskForm):
    """Every field is shown, so the page works without JavaScript."""

    nursery_id = RadioField("被投诉的托育机构", validate_choice=False)
    site_name = StringField("场所名称（选填）")
    site_address = StringField("场所地址")
    lat = StringField("纬度")
    lon = StringField("经度")
    coordsys = SelectField(
        "坐标来源", choices=choices(COORDSYS_CHOICES), default="wgs84", validate_choice=False
    )
    category = RadioField("投诉举报类别", validate_choice=False)
    description = TextAreaField(
        "问题描述",
        description=f"请写明时间、地点、经过和涉及的人，不超过 {MAX_DESCRIPTION} 字。",
    )
    photos = MultipleFileField(
        "照片（选填）",
        description=(
            f"最多 {MAX_PHOTOS} 张，JPEG 或 PNG，每张不超过 5 MB；"
            "照片中的拍摄位置等信息会被自动去除。"
        ),
    )
    name = StringField("姓名（选填）")
    phone = StringField("电话（选填）")
    email = StringField("电子邮箱（选填）")

    def validate_lat(self, field):
        try:
            parse_coordinate(field.data, "纬度", 90)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_lon(self, field):
        try:
            parse_coordinate(field.data, "经度", 180)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_coordsys(self, field):
        if field.data not in dict(COORDSYS_CHOICES):
            raise ValidationError("请选择坐标来源")


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        "补充说明",
        description=f"请回答办理部门的问题，不超过 {MAX_TEXT} 字。",
    )


class RatingForm(FlaskForm):
    rating = RadioField(
        "您对办理结果是否满意",
        choices=choices(RATINGS.items()),
        validate_choice=False,  # the service explains an unknown rating in Chinese
    )
