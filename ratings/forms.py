"""The rating pages' forms (Flask-WTF, CSRF on every POST). The stars, the comment's length and
characters are checked by the use cases (`ratings.rules`), so a browser and a script are refused
with the same Chinese words; the forms only carry the fields."""

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField

from web.forms import ChoiceField, choices

from .rules import ASPECTS, HIDE_REASONS, MAX_COMMENT, MAX_REASON_NOTE, MAX_REPLY

STAR_CHOICES = [(str(n), f"{n} 星") for n in range(1, 6)]


class RatingForm(FlaskForm):
    comment = TextAreaField(f"文字评价（选填，不超过 {MAX_COMMENT} 字，审核后公开）")

    def stars(self) -> dict:
        return {a: getattr(self, a).data for a in ASPECTS}


for _aspect, _label in ASPECTS.items():
    setattr(
        RatingForm,
        _aspect,
        RadioField(_label, choices=choices(STAR_CHOICES), validate_choice=False),
    )


class ModerationForm(FlaskForm):
    # The use case checks the reason (only hiding needs one): approving sends none.
    reason = ChoiceField(
        "隐藏理由", choices=choices([("", "—"), *HIDE_REASONS.items()]), validate_choice=False
    )
    note = TextAreaField(f"说明（选填，不超过 {MAX_REASON_NOTE} 字，不会公开）")


class ReplyForm(FlaskForm):
    reply = TextAreaField(f"机构回复（公开显示，只能回复一次，不超过 {MAX_REPLY} 字）")
