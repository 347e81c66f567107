"""`flask --app app users …`: accounts from the command line."""

import click
from flask.cli import AppGroup

from errors import DomainError

from .roles import ROLES

users = AppGroup("users", help="Manage accounts.")


@users.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--nursery", "nursery_id", type=int, default=None)
@click.option("--department", "department_code", default=None)
@click.option("--street", "street_code", default=None, help="镇街代码（street 部门的承办人）")
def create_user_command(role, username, password, name, nursery_id, department_code, street_code):
    """Create an account of any role."""
    from .services import create_user

    try:
        user = create_user(role, username, password, name, nursery_id, department_code, street_code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已创建账号 {user.username}（{role}，id={user.id}）")


@users.command("set-role")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--nursery", "nursery_id", type=int, default=None)
@click.option("--department", "department_code", default=None)
@click.option("--street", "street_code", default=None, help="镇街代码（street 部门的承办人）")
def set_role_command(username, role, nursery_id, department_code, street_code):
    """Give an account another role (audited; its API tokens are revoked)."""
    from .services import change_role

    try:
        user = change_role(None, username, role, nursery_id, department_code, street_code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已将账号 {user.username} 的角色改为 {role}（已记入审计日志）")


COMMANDS = [users]
