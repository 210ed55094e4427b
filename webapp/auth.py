"""Login, roles, API tokens and CSRF.

Pages use a session cookie (HttpOnly, SameSite=Lax, Secure when configured) and every state-
changing request made with it must carry the CSRF token (form field or X-CSRFToken header).
Integrations send ``Authorization: Bearer TOKEN`` instead. Such a request is authenticated by
its token alone: any session cookie it carries is ignored and none is set in the response (an
HTTP client that keeps cookies would otherwise be logged out by session protection on its
second request), so it needs no CSRF token.
"""

from __future__ import annotations

import hmac
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from kb import accounts
from kb.models import User
from kb.permissions import allowed
from webapp import setup_token
from webapp.service import get_db

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class SessionUser:
    """The logged-in person as Flask-Login sees them (detached from any DB session)."""

    def __init__(self, user: User):
        self.id = user.id
        self.name = user.name
        self.display_name = user.display_name
        self.role = user.role
        self.is_active = user.active

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


def _bearer_request(req) -> bool:
    """The request names a token (the scheme is case-insensitive, RFC 9110)."""
    return req.headers.get("Authorization", "")[:7].lower() == "bearer "


class SessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for browsers; a bearer-token request is stateless."""

    def open_session(self, app, req):
        if _bearer_request(req):
            return self.session_class()
        return super().open_session(app, req)

    def save_session(self, app, session, response):
        if _bearer_request(request):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.session_protection = "strong"
    login_manager.unauthorized_handler(_unauthorized)
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(user_id: str):
    if not user_id.isdigit():
        return None
    with get_db().read() as session:
        user = session.get(User, int(user_id))
        return SessionUser(user) if user is not None and user.active else None


@login_manager.request_loader
def _load_bearer(req):
    if not _bearer_request(req):
        return None
    with get_db().read() as session:
        user = accounts.user_for_token(session, req.headers["Authorization"][7:].strip())
        if user is None:
            return None
        g.bearer = True
        return SessionUser(user)


def _unauthorized():
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _check_csrf():
    if request.method not in UNSAFE_METHODS or request.endpoint in (None, "static"):
        return
    if _bearer_request(request):
        if not current_user.is_authenticated:  # loads the token user, sets g.bearer
            abort(401)
        if g.get("bearer"):  # a token, not a cookie, vouches for this request
            return
    csrf.protect()


def require(permission: str):
    """Route decorator: logged in (401/redirect otherwise) and allowed (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("search.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if setup_token.pending(current_app):
        return redirect(url_for("auth.setup"))
    error = None
    if request.method == "POST":
        with get_db().read() as session:
            user = accounts.authenticate(session, request.form.get("name", ""),
                                         request.form.get("password", ""))
            session_user = SessionUser(user) if user else None
        if session_user is None:
            error = "ユーザー名またはパスワードが違います。"
        else:
            login_user(session_user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first administrator, with the one-time token `kb serve` printed."""
    if not setup_token.pending(current_app):
        abort(404)
    error = None
    if request.method == "POST":
        token = request.form.get("token", "")
        if not hmac.compare_digest(token.encode(), setup_token.read(current_app).encode()):
            error = "初期設定トークンが違います。kb serve の表示を確認してください。"
        else:
            try:
                with get_db().write() as session:
                    user = accounts.add_user(
                        session, request.form.get("name", ""), "admin",
                        request.form.get("password", ""), request.form.get("display_name"))
                    session_user = SessionUser(user)
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                setup_token.consume(current_app)
                login_user(session_user)
                flash("管理者を作成しました。")
                return redirect(url_for("search.index"))
    return render_template("setup.html", error=error,
                           token=request.args.get("token", "")), (400 if error else 200)
