"""Login, registration and password-change forms (Flask-WTF, CSRF-protected)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from .passwords import MAX_PASSWORD, password_problem
from .services import USERNAME_RE


def acceptable_password(form, field) -> None:
    """The password policy (accounts/passwords.py), with its Chinese message."""
    problem = password_problem(field.data or "")
    if problem is not None:
        raise ValidationError(problem)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField(
        "密码", validators=[DataRequired("请输入密码"), Length(max=MAX_PASSWORD)]
    )


class RegisterForm(FlaskForm):
    username = StringField(
        "用户名",
        validators=[
            DataRequired("请输入用户名"),
            Regexp(USERNAME_RE, message="用户名须为 3–32 位字母、数字、汉字、下划线、点或连字符"),
        ],
    )
    name = StringField("称呼（选填）", validators=[Length(max=64, message="称呼不能超过 64 个字")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), acceptable_password])
    confirm = PasswordField(
        "再次输入密码", validators=[EqualTo("password", message="两次输入的密码不一致")]
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "当前密码", validators=[DataRequired("请输入当前密码"), Length(max=MAX_PASSWORD)]
    )
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), acceptable_password])
    confirm = PasswordField(
        "再次输入新密码", validators=[EqualTo("new", message="两次输入的新密码不一致")]
    )
