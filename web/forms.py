"""Form field types every page shares: Chinese error messages, empty boxes read as not filled in."""

from wtforms import IntegerField, SelectField, TimeField

try:  # WTForms >= 3.3 declares options as SelectChoice (tuples are deprecated there)
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choices(pairs) -> list:
    """Options for a select or radio field from (value, label) pairs."""
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
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
