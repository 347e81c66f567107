"""Login and registration forms (Flask-WTF, CSRF-protected)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from .services import MAX_PASSWORD, MIN_PASSWORD, USERNAME_RE


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
    password = PasswordField(
        "密码",
        validators=[
            DataRequired("请输入密码"),
            Length(MIN_PASSWORD, MAX_PASSWORD, message="密码长度须为 8–128 位"),
        ],
    )
    confirm = PasswordField(
        "再次输入密码", validators=[EqualTo("password", message="两次输入的密码不一致")]
    )
