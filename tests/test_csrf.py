"""CSRF: every state-changing request made with a session cookie needs the session's token.

Without it, or with a wrong one, the request is refused with a 400 that says what to do and
nothing changes: not the database, not the login state. API tokens need no CSRF token, and a
bad API token is a 401 that stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kb.models import Escalation
from webapp.errors import CSRF_FAILED, MESSAGES

from .conftest import PASSWORD, USERS, csrf_token, login
from .webhelpers import bearer, count, escalate, snapshot, token_for


@dataclass(frozen=True)
class Action:
    name: str
    role: str | None  # who is logged in; None: a visitor who opened the login page
    path: str
    form: dict | None = None
    json: dict | None = None
    needs: str = ""  # "escalation": an open escalation {id}; "trail": a search of this call
    status: int = 303  # the answer when the token is right


ACTIONS = [
    Action("login", None, "/login", form={"name": USERS["operator"][0], "password": PASSWORD},
           status=302),
    Action("logout", "operator", "/logout", form={}, status=302),
    Action("escalate", "operator", "/escalations", form={"q": "海外で着信できない", "level": "1"}),
    Action("attach", "operator", "/escalations/{id}/attach", form={"q": "海外 着信"},
           needs="escalation"),
    Action("acknowledge", "expert", "/escalations/{id}/acknowledge", form={},
           needs="escalation"),
    Action("answer", "expert", "/escalations/{id}/answer", form={"text": "再起動してください。"},
           needs="escalation"),
    Action("close", "expert", "/escalations/{id}/close", form={"outcome": "no_article_needed"},
           needs="escalation"),
    Action("new call", "operator", "/calls/new", form={}, needs="trail"),
    Action("resolved", "operator", "/calls/resolved", form={}, needs="trail"),
    Action("api escalation", "operator", "/api/escalations",
           json={"query": "海外で着信できない", "level": "2", "note": "渡航先はタイ"}, status=201),
]


def logged_in(client) -> bool:
    status = client.get("/api/my/escalations").status_code
    assert status in (200, 401)
    return status == 200


def state(app, client):
    """What a refused request must leave alone: every stored row and who is logged in."""
    return snapshot(app), logged_in(client)


def send(client, action: Action, escalation_id, token: str | None):
    path = action.path.format(id=escalation_id)
    if action.json is not None:
        headers = {"X-CSRFToken": token} if token is not None else {}
        return client.post(path, json=action.json, headers=headers)
    data = dict(action.form)
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data)


def assert_refused(response, action: Action) -> None:
    assert response.status_code == 400
    if action.path.startswith("/api/"):
        assert response.get_json() == {"error": CSRF_FAILED}
    else:
        assert CSRF_FAILED in response.text


def test_the_test_app_checks_csrf(app):
    # Flask-WTF is enabled in TESTING mode, and the app's own check does not depend on it.
    assert app.config["TESTING"] is True
    assert app.config["WTF_CSRF_ENABLED"] is True


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_state_changing_request_needs_the_sessions_csrf_token(app, action):
    client = app.test_client()
    if action.role:
        login(client, action.role)
    token = csrf_token(client.get("/login").text)
    escalation_id = escalate(app, "op") if action.needs == "escalation" else None
    if action.needs == "trail":
        assert client.get("/", query_string={"q": "ルーター 点滅"}).status_code == 200
    # A valid token, but of another visitor's session.
    foreign = csrf_token(app.test_client().get("/login").text)
    assert foreign != token

    before = state(app, client)
    for wrong in (None, "", "not-a-token", foreign, token[:-2] + "xx"):
        response = send(client, action, escalation_id, wrong)
        assert_refused(response, action)
        assert state(app, client) == before, f"stored something with token {wrong!r}"

    response = send(client, action, escalation_id, token)
    assert response.status_code == action.status, response.text[:500]
    assert state(app, client) != before


def test_api_token_needs_no_csrf_token(app):
    token = token_for(app, "op")
    client = app.test_client()
    response = client.post("/api/escalations", json={"query": "請求書が届かない", "level": "1"},
                           headers=bearer(token))
    assert response.status_code == 201
    created = response.get_json()
    assert client.get(response.headers["Location"], headers=bearer(token)).get_json()["id"] \
        == created["id"]
    # A token request leaves no cookie behind, and the next request with a cookie jar works too.
    assert "Set-Cookie" not in response.headers
    again = client.post("/api/escalations", json={"query": "請求書が二重", "level": "1"},
                        headers=bearer(token))
    assert again.status_code == 201
    assert count(app, Escalation) == 2


@pytest.mark.parametrize("header", [
    "Bearer kb_not-a-real-token",
    "Bearer not-even-our-prefix",
    "Bearer ",
    "Bearer " + "kb_" + "x" * 5000,
])
def test_a_bad_api_token_is_401_and_stores_nothing(app, header):
    before = snapshot(app)
    response = app.test_client().post("/api/escalations", headers={"Authorization": header},
                                      json={"query": "請求書が届かない", "level": "1"})
    assert response.status_code == 401
    assert response.get_json() == {"error": MESSAGES[401]}
    assert snapshot(app) == before


def test_a_bad_api_token_is_401_even_with_a_logged_in_cookie(client):
    """A request that brings a token is judged by the token alone, not by the cookie next to it."""
    app = client.application
    token = csrf_token(client.get("/login").text)
    before = snapshot(app)
    response = client.post("/api/escalations", json={"query": "請求書が届かない", "level": "1"},
                           headers={"Authorization": "Bearer kb_stolen-cookie-no-token",
                                    "X-CSRFToken": token})
    assert response.status_code == 401
    assert snapshot(app) == before
    assert logged_in(client)  # the browser's own session is untouched


def test_a_token_request_acts_as_the_tokens_user_not_the_cookies(client):
    app = client.application
    token = token_for(app, USERS["expert"][0])
    response = client.post("/api/escalations", json={"query": "請求書が届かない", "level": "1"},
                           headers=bearer(token))
    assert response.status_code == 201
    events = response.get_json()["events"]
    assert events[0]["by"] == USERS["expert"][1]
