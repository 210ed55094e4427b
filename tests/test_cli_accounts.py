"""Accounts from the command line and the login around them: `kb user add`, `kb token create`,
the first administrator's /setup page, the login form, the session cookie and ?next=."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from webapp import create_app, setup_token
from webapp.errors import MESSAGES

from .conftest import PASSWORD, USERS, csrf_token
from .webhelpers import bearer, db, snapshot

WRONG = "ユーザー名またはパスワードが違います。"


@pytest.fixture
def instance(tmp_path, built_instance, monkeypatch):
    """A copy of the test instance (index and the conftest users), for the CLI and an app."""
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    monkeypatch.delenv("KB_INSTANCE", raising=False)
    path = tmp_path / "instance"
    shutil.copytree(built_instance, path, symlinks=True)
    return path


def app_for(instance, articles_dir):
    return create_app({"TESTING": True, "KB_INSTANCE": str(instance),
                       "KB_ARTICLES": str(articles_dir), "KB_BACKGROUND": False})


def kb(instance, *args, input=None):
    return CliRunner().invoke(main, [*args, "--instance", str(instance)], input=input)


def log_in(client, name: str, password: str, next_url: str | None = None):
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", query_string={"next": next_url} if next_url else None,
                       data={"name": name, "password": password,
                             "csrf_token": csrf_token(page.text)})


def user_names(app) -> set[str]:
    return {row[1] for row in snapshot(app)["users"]}


# ---- kb user add --------------------------------------------------------------------------------


def test_user_add_creates_someone_who_can_log_in(instance, articles_dir):
    result = kb(instance, "user", "add", "tanaka", "--role", "expert",
                "--display-name", "田中SV", "--password", "a long enough password")
    assert result.exit_code == 0, result.output
    assert "user tanaka (expert) added" in result.output
    app = app_for(instance, articles_dir)
    client = app.test_client()
    assert log_in(client, "tanaka", "a long enough password").status_code == 302
    assert client.get("/api/queue").status_code == 200  # an expert's page
    assert "田中SV" in client.get("/queue").text


def test_user_add_asks_for_the_password_twice(instance, articles_dir):
    result = kb(instance, "user", "add", "suzuki", "--role", "operator",
                input="typed at the prompt\ntyped at the prompt\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    client = app_for(instance, articles_dir).test_client()
    assert log_in(client, "suzuki", "typed at the prompt").status_code == 302


def test_user_add_has_no_default_password(instance, articles_dir):
    # No --password and nothing typed: nobody is created, with any password.
    result = kb(instance, "user", "add", "nopass", "--role", "operator", input="")
    assert result.exit_code != 0
    mismatch = kb(instance, "user", "add", "nopass", "--role", "operator",
                  input="first password\nsecond password\n")
    assert mismatch.exit_code != 0
    assert "nopass" not in user_names(app_for(instance, articles_dir))


@pytest.mark.parametrize("args, message", [
    (["shorty", "--role", "operator", "--password", "short"],
     "パスワードは10文字以上にしてください。"),
    (["someone", "--role", "superuser", "--password", PASSWORD], "Invalid value for '--role'"),
    (["someone", "--password", PASSWORD], "Missing option '--role'"),
    ([USERS["operator"][0], "--role", "operator", "--password", PASSWORD],
     f"ユーザー {USERS['operator'][0]} は既にいます。"),
    (["Bad Name", "--role", "operator", "--password", PASSWORD], "ユーザー名は半角英小文字"),
    (["../etc", "--role", "operator", "--password", PASSWORD], "ユーザー名は半角英小文字"),
    (["名前", "--role", "operator", "--password", PASSWORD], "ユーザー名は半角英小文字"),
    (["x" * 65, "--role", "operator", "--password", PASSWORD], "ユーザー名は半角英小文字"),
])
def test_user_add_refuses_bad_input_and_stores_nothing(instance, articles_dir, args, message):
    app = app_for(instance, articles_dir)
    before = snapshot(app)
    result = kb(instance, "user", "add", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(app) == before


# ---- kb token create ----------------------------------------------------------------------------


def test_token_create_prints_a_token_that_acts_as_that_user(instance, articles_dir):
    result = kb(instance, "token", "create", USERS["operator"][0])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("kb_") and len(token) > 40
    app = app_for(instance, articles_dir)
    client = app.test_client()
    created = client.post("/api/escalations", headers=bearer(token),
                          json={"query": "トークンからの質問", "level": "1"})
    assert created.status_code == 201
    assert created.get_json()["events"][0]["by"] == USERS["operator"][1]
    mine = client.get("/api/my/escalations", headers=bearer(token)).get_json()["escalations"]
    assert [e["query"] for e in mine] == ["トークンからの質問"]
    # An operator's token has an operator's rights, no more.
    assert client.get("/api/queue", headers=bearer(token)).status_code == 403
    # Only a digest is kept: the token itself is nowhere in the database.
    stored = snapshot(app)
    assert not any(token in str(value) for rows in stored.values() for row in rows
                   for value in row)
    # Each call makes a new token; both work.
    second = kb(instance, "token", "create", USERS["operator"][0]).output.strip()
    assert second != token
    assert client.get("/api/my/escalations", headers=bearer(second)).status_code == 200


def test_token_create_for_nobody_fails(instance, articles_dir):
    app = app_for(instance, articles_dir)
    before = snapshot(app)
    result = kb(instance, "token", "create", "nobody")
    assert result.exit_code == 1
    assert "no user named nobody" in result.output
    assert snapshot(app) == before


# ---- logging in ---------------------------------------------------------------------------------


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(app):
    wrong = log_in(app.test_client(), "op", "not the password")
    unknown = log_in(app.test_client(), "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert WRONG in wrong.text

    def page(response, name):  # the form keeps the typed name; nothing else may differ
        return response.text.replace(f'value="{name}"', 'value=""').replace(
            csrf_token(response.text), "TOKEN")

    assert page(wrong, "op") == page(unknown, "nobody")


def test_a_failed_login_logs_nobody_in(app):
    client = app.test_client()
    log_in(client, "op", "not the password")
    assert client.get("/api/my/escalations").status_code == 401


def test_session_cookie_is_http_only_and_same_site_lax(app):
    response = log_in(app.test_client(), "op", PASSWORD)
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("kotae_session=")]
    assert cookies, response.headers
    flags = {part.strip().lower() for part in cookies[-1].split(";")[1:]}
    assert "httponly" in flags and "samesite=lax" in flags


def test_session_cookie_is_secure_when_configured(tmp_path, built_instance, articles_dir,
                                                  monkeypatch):
    monkeypatch.setenv("KB_COOKIE_SECURE", "1")
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    app = app_for(instance, articles_dir)
    response = log_in(app.test_client(), "op", PASSWORD)
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("kotae_session=")]
    assert "secure" in {part.strip().lower() for part in cookie[-1].split(";")[1:]}


@pytest.mark.parametrize("target", [
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_login_never_redirects_elsewhere(app, target):
    response = log_in(app.test_client(), "op", PASSWORD, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_returns_to_the_page_that_asked_for_it(app):
    client = app.test_client()
    asked = client.get("/escalate", query_string={"q": "海外 着信"})
    assert asked.status_code == 302
    login_url = asked.headers["Location"]
    page = client.get(login_url)
    response = client.post(login_url, data={"name": "op", "password": PASSWORD,
                                            "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    landed = client.get(response.headers["Location"])
    assert landed.status_code == 200
    assert '<input type="hidden" name="q" value="海外 着信">' in landed.text


def test_logout_ends_the_session(client):
    token = csrf_token(client.get("/login").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    response = client.get("/api/my/escalations")
    assert response.status_code == 401 and response.get_json() == {"error": MESSAGES[401]}


# ---- the first administrator --------------------------------------------------------------------


@pytest.fixture
def empty_app(tmp_path, built_instance, articles_dir, monkeypatch):
    """A new installation: the index is there, nobody has an account yet."""
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    instance = tmp_path / "new-instance"
    instance.mkdir()
    shutil.copytree(built_instance / "index", instance / "index", symlinks=True)
    return app_for(instance, articles_dir)


def test_setup_creates_the_first_admin_once_with_the_printed_token(empty_app):
    app = empty_app
    token = setup_token.issue(Path(app.config["KB_INSTANCE"]), db(app))
    assert token
    client = app.test_client()
    # Until then there is nothing to log in to: /login leads to /setup.
    assert client.get("/login").headers["Location"] == "/setup"
    page = client.get("/setup", query_string={"token": token})
    assert page.status_code == 200 and f'value="{token}"' in page.text

    def submit(**fields):
        fields["csrf_token"] = csrf_token(client.get("/setup").text)
        return client.post("/setup", data=fields)

    before = snapshot(app)
    for guess in ("", "wrong", token[:-1], token + "x"):
        refused = submit(token=guess, name="boss", password="a long enough password")
        assert refused.status_code == 400
        assert "初期設定トークンが違います。" in refused.text
    weak = submit(token=token, name="boss", password="short")
    assert weak.status_code == 400 and "パスワードは10文字以上にしてください。" in weak.text
    assert snapshot(app) == before  # nobody created, and the token still works:

    done = submit(token=token, name="boss", display_name="センター長",
                  password="a long enough password")
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/api/queue").status_code == 200  # logged in, as an admin
    assert "センター長" in client.get("/queue").text
    # The page is gone, for everyone, even with the token.
    assert client.get("/setup").status_code == 404
    assert submit_again(app, token).status_code == 404
    assert user_names(app) == {"boss"}
    other = app.test_client()
    assert other.get("/login").status_code == 200
    assert log_in(other, "boss", "a long enough password").status_code == 302


def submit_again(app, token):
    client = app.test_client()
    return client.post("/setup", data={
        "token": token, "name": "second", "password": "a long enough password",
        "csrf_token": csrf_token(client.get("/login").text)})


def test_no_setup_token_once_someone_exists(app):
    assert setup_token.issue(Path(app.config["KB_INSTANCE"]), db(app)) is None
    assert app.test_client().get("/setup").status_code == 404


def test_a_user_added_from_the_command_line_ends_the_setup(empty_app):
    app = empty_app
    instance = Path(app.config["KB_INSTANCE"])
    token = setup_token.issue(instance, db(app))
    assert app.test_client().get("/login").status_code == 302  # to /setup
    result = kb(instance, "user", "add", "boss", "--role", "admin",
                "--password", "a long enough password")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert client.get("/login").status_code == 200  # no restart needed
    assert log_in(client, "boss", "a long enough password").status_code == 302
    assert submit_again(app, token).status_code == 404
    assert not (instance / setup_token.FILE).exists()
