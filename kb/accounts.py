"""People and their credentials: passwords (hashed by werkzeug) and API tokens (SHA-256)."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from kb.clock import utcnow
from kb.models import ROLES, ApiToken, User

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "kb_"
# A hash to compare against when the user does not exist, so both paths take as long.
_DUMMY_HASH = generate_password_hash("not a password")


class AccountError(ValueError):
    """A request about accounts that cannot be done, with a message for people."""


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise AccountError(
            "ユーザー名は半角英小文字・数字・._- で、64文字以内にしてください。"
        )
    return name


def validate_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")
    if len(password) > 1024:
        raise AccountError("パスワードが長すぎます。")
    return password


def add_user(session: Session, name: str, role: str, password: str,
             display_name: str | None = None) -> User:
    validate_name(name)
    if role not in ROLES:
        raise AccountError(f"役割は {', '.join(ROLES)} のいずれかです。")
    validate_password(password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"ユーザー {name} は既にいます。")
    user = User(
        name=name,
        display_name=(display_name or name)[:100],
        role=role,
        password_hash=generate_password_hash(password),
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(validate_password(password))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    user = session.scalar(select(User).where(User.name == (name or "")[:64]))
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User) -> str:
    """A new API token for ``user``; returned once, only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=_digest(token), created_at=utcnow()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.digest == _digest(token)))
    if row is None or not row.user.active:
        return None
    return row.user
