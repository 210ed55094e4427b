"""Who may do what: every route of the app × every kind of caller.

The decision for each route is written down here (route → permission), and what each role may
do comes from kb.permissions.PERMISSIONS. A new route fails ``test_every_route_has_a_decision``
until it is added here; a route whose protection changes fails the matrix.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import pytest

from kb.models import ROLES, Escalation, User
from kb.permissions import PERMISSIONS
from webapp import create_app
from webapp.errors import MESSAGES

from .conftest import PASSWORD, USERS, csrf_token, login
from .webhelpers import add_person, bearer, db, escalate, token_for

# Route → the permission it needs; None: public by design (assets, logging in and out, and the
# one-time first-administrator page).
PROTECTION = {
    "static": None,
    "auth.login": None,
    "auth.logout": None,
    "auth.setup": None,
    "search.index": "search",
    "search.api_search": "search",
    "search.api_suggest": "search",
    "articles.view": "search",
    "calls.new_call": "search",
    "calls.resolved": "search",
    "escalations.form": "escalate",
    "escalations.create": "escalate",
    "escalations.attach": "escalate",
    "escalations.mine": "escalate",
    "escalations.api_mine": "escalate",
    "escalations.detail": "search",  # operators: only their own (see below)
    "escalations.act": "answer",
    "escalations.queue_page": "queue",
    "escalations.api_queue": "queue",
    "escalations.api_create": "escalate",
    "escalations.api_get": "search",  # operators: only their own
    "escalations.api_list": "search",  # operators: only their own
    "gaps.index": "gaps",
    "gaps.detail": "gaps",
    "gaps.resolve": "gaps",
    "feedback.give": "feedback",
    "feedback.api_give": "feedback",
    "review.index": "review",
    "editor.index": "edit",
    "editor.new": "edit",
    "editor.create": "edit",
    "editor.edit": "edit",
    "editor.update": "edit",
    "editor.preview": "edit",
    "editor.history": "edit",
    "editor.restore": "edit",
    "knowledge.no_article": "resolve_knowledge",
    "knowledge.pick_article": "resolve_knowledge",
    "knowledge.notices": "search",
    "knowledge.read_notice": "search",
}


@dataclass(frozen=True)
class Call:
    endpoint: str
    method: str
    path: str  # "{id}": an escalation the caller may see (or its gap, see target)
    form: dict | None = None
    json: dict | None = field(default=None)
    target: str = "escalation"  # or "gap": {id} is the gap of that escalation
    allowed_status: int | None = None  # when allowed: this refusal of the input (else 2xx/3xx)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PROTECTED_CALLS = [
    Call("search.index", "GET", "/?q=パスワード"),
    Call("search.api_search", "GET", "/api/search?q=パスワード"),
    Call("search.api_suggest", "GET", "/api/suggest?q=ぱす"),
    Call("articles.view", "GET", "/articles/account-password-reset"),
    Call("calls.new_call", "POST", "/calls/new", form={}),
    Call("calls.resolved", "POST", "/calls/resolved", form={}),
    Call("escalations.form", "GET", "/escalate?q=海外で着信できない"),
    Call("escalations.create", "POST", "/escalations", form={"q": "海外で着信できない", "level": "1"}),
    Call("escalations.attach", "POST", "/escalations/{id}/attach", form={"q": "海外 着信"}),
    Call("escalations.mine", "GET", "/my/escalations"),
    Call("escalations.api_mine", "GET", "/api/my/escalations"),
    Call("escalations.detail", "GET", "/escalations/{id}"),
    Call("escalations.act", "POST", "/escalations/{id}/acknowledge", form={}),
    Call("escalations.act", "POST", "/escalations/{id}/answer", form={"text": "再起動してください"}),
    Call("escalations.act", "POST", "/escalations/{id}/close", form={"outcome": "duplicate"}),
    Call("escalations.queue_page", "GET", "/queue"),
    Call("escalations.api_queue", "GET", "/api/queue"),
    Call("escalations.api_create", "POST", "/api/escalations",
         json={"query": "海外で着信できない", "level": "1"}),
    Call("escalations.api_get", "GET", "/api/escalations/{id}"),
    Call("escalations.api_list", "GET", "/api/escalations?status=open"),
    Call("gaps.index", "GET", "/gaps"),
    Call("gaps.detail", "GET", "/gaps/{id}", target="gap"),
    Call("gaps.resolve", "POST", "/gaps/{id}/resolve", form={"outcome": "duplicate"},
         target="gap"),
    Call("feedback.give", "POST", "/articles/account-password-reset/feedback",
         form={"helpful": "1"}),
    Call("feedback.api_give", "POST", "/api/articles/account-password-reset/feedback",
         json={"helpful": True}),
    Call("review.index", "GET", "/review"),
    Call("editor.index", "GET", "/editor/"),
    Call("editor.new", "GET", "/editor/new"),
    Call("editor.create", "POST", "/editor/new", form={}, allowed_status=400),
    Call("editor.edit", "GET", "/editor/account-password-reset"),
    Call("editor.update", "POST", "/editor/account-password-reset", form={}, allowed_status=400),
    Call("editor.preview", "POST", "/editor/preview", form={"body": "**x**"}),
    Call("editor.history", "GET", "/editor/account-password-reset/history"),
    Call("editor.restore", "POST", "/editor/account-password-reset/restore/987654", form={},
         allowed_status=404),
    # an open escalation cannot become knowledge yet (409)
    Call("knowledge.no_article", "POST", "/escalations/{id}/knowledge/none",
         form={"reason": "不要"}, allowed_status=409),
    Call("knowledge.pick_article", "GET", "/escalations/{id}/knowledge/existing",
         allowed_status=409),
    Call("knowledge.notices", "GET", "/api/notices"),
    Call("knowledge.read_notice", "POST", "/api/notices/987654/read", form={},
         allowed_status=404),
]
PUBLIC_CALLS = [
    Call("static", "GET", "/static/kotae.css"),
    Call("auth.login", "GET", "/login"),
    Call("auth.login", "POST", "/login", form={"name": "op", "password": "wrong password!"}),
    Call("auth.logout", "POST", "/logout", form={}),
    Call("auth.setup", "GET", "/setup"),
    Call("auth.setup", "POST", "/setup", form={"token": "guess", "name": "x", "password": "y"}),
]
ID_CALLS = [c for c in PROTECTED_CALLS if "{id}" in c.path]

# Callers: no login, a browser session per role, and API tokens (which carry their user's role).
TOKEN_USERS = {"token:operator": ("cti", "operator"), "token:expert": ("crm", "expert")}
PRINCIPALS = ["anonymous", *USERS, *TOKEN_USERS]
MISSING_IDS = [987654, 10**20]  # the second does not fit a database integer


def role_of(principal: str) -> str | None:
    if principal in TOKEN_USERS:
        return TOKEN_USERS[principal][1]
    return None if principal == "anonymous" else principal


def user_of(principal: str) -> str | None:
    if principal in TOKEN_USERS:
        return TOKEN_USERS[principal][0]
    return USERS[principal][0] if principal in USERS else None


class World:
    """One app for the whole matrix, with a client per caller."""

    def __init__(self, app):
        self.app = app
        self.clients = {p: self.fresh(p) for p in PRINCIPALS}

    def fresh(self, principal: str):
        client = self.app.test_client()
        if principal in TOKEN_USERS:
            client.environ_base["HTTP_AUTHORIZATION"] = bearer(
                token_for(self.app, TOKEN_USERS[principal][0]))["Authorization"]
            client.csrf = None  # a token needs no CSRF token
            return client
        if principal != "anonymous":
            login(client, principal)
        client.csrf = csrf_token(client.get("/login").text)
        return client

    def own_escalation(self, principal: str) -> int:
        """A new escalation the caller may see: their own when they raise escalations."""
        owner = user_of(principal) if role_of(principal) == "operator" else "op"
        return escalate(self.app, owner)

    def send(self, client, call: Call, escalation_id: int | None = None):
        path = call.path.format(id=escalation_id)
        headers = {"X-CSRFToken": client.csrf} if client.csrf else {}
        data = None
        if call.form is not None:
            data = dict(call.form)
            if client.csrf:
                data["csrf_token"] = client.csrf
        return client.open(path, method=call.method, data=data, json=call.json, headers=headers)


def gap_of(app, escalation_id: int) -> int:
    with db(app).read() as session:
        return session.get(Escalation, escalation_id).gap_id


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_instance, articles_dir):
    instance = tmp_path_factory.mktemp("authz") / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    articles = instance.parent / "articles"  # its own copy: the editor's routes write files
    shutil.copytree(articles_dir, articles, symlinks=True)
    app = create_app({"TESTING": True, "KB_INSTANCE": str(instance),
                      "KB_ARTICLES": str(articles), "KB_BACKGROUND": False})
    add_person(app, "op2", "operator", "別のオペ")
    for name, role in TOKEN_USERS.values():
        add_person(app, name, role)
    return World(app)


def _methods(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


def test_every_route_has_a_decision(world):
    routes = {(rule.endpoint, method)
              for rule in world.app.url_map.iter_rules() for method in _methods(rule)}
    called = {(c.endpoint, c.method) for c in PROTECTED_CALLS + PUBLIC_CALLS}
    assert routes == called, "a route without a test call, or a call for no route"
    assert {endpoint for endpoint, _ in routes} == set(PROTECTION)
    assert {p for p in PROTECTION.values() if p} <= set(PERMISSIONS)


def test_the_csrf_check_is_real_in_the_test_app(world):
    # Flask-WTF skips nothing in TESTING mode; the check is ours and always on.
    assert world.app.config["TESTING"] and world.app.config["WTF_CSRF_ENABLED"]
    client = world.fresh("operator")
    assert client.post("/calls/new").status_code == 400


def assert_outcome(response, principal: str, call: Call, found: bool = True) -> None:
    permission = PROTECTION[call.endpoint]
    api = call.path.startswith("/api/")
    if principal == "anonymous":
        if api:
            assert response.status_code == 401
            assert response.get_json() == {"error": MESSAGES[401]}
        else:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login?next=")
    elif role_of(principal) not in PERMISSIONS[permission]:
        assert response.status_code == 403
        if api:
            assert response.get_json() == {"error": MESSAGES[403]}
        else:
            assert MESSAGES[403] in response.text
    elif not found:
        assert response.status_code == 404
    elif call.allowed_status:
        assert response.status_code == call.allowed_status, response.text[:500]
    else:
        assert 200 <= response.status_code < 400, response.text[:500]
        assert not response.headers.get("Location", "").startswith("/login")


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("call", PROTECTED_CALLS, ids=str)
def test_matrix(world, principal, call):
    escalation_id = world.own_escalation(principal) if "{id}" in call.path else None
    if call.target == "gap":
        escalation_id = gap_of(world.app, escalation_id)
    response = world.send(world.clients[principal], call, escalation_id)
    assert_outcome(response, principal, call)


@pytest.mark.parametrize("missing", MISSING_IDS)
@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("call", ID_CALLS, ids=str)
def test_matrix_missing_id(world, principal, call, missing):
    response = world.send(world.clients[principal], call, missing)
    assert_outcome(response, principal, call, found=False)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_public_routes_need_no_login(world, principal):
    client = world.fresh(principal)
    responses = {(c.endpoint, c.method): world.send(client, c) for c in PUBLIC_CALLS}
    assert responses["static", "GET"].status_code == 200
    assert responses["auth.login", "GET"].status_code == 200
    wrong = responses["auth.login", "POST"]
    assert wrong.status_code == 401 and "ユーザー名またはパスワードが違います。" in wrong.text
    logout = responses["auth.logout", "POST"]
    assert logout.status_code == 302 and logout.headers["Location"] == "/login"
    # No first administrator is pending here, so the setup page does not exist.
    assert responses["auth.setup", "GET"].status_code == 404
    assert responses["auth.setup", "POST"].status_code == 404


# ---- operators see only their own escalations ----------------------------------------------


@pytest.mark.parametrize("principal", ["operator", "token:operator"])
def test_an_operator_cannot_see_another_operators_escalation(world, principal):
    theirs = escalate(world.app, "op2", query="他のオペレーターの質問です")
    client = world.clients[principal]
    assert client.get(f"/escalations/{theirs}").status_code == 404
    response = client.get(f"/api/escalations/{theirs}")
    assert response.status_code == 404 and response.get_json() == {"error": MESSAGES[404]}
    listed = client.get("/api/escalations").get_json()["escalations"]
    assert theirs not in {e["id"] for e in listed}
    mine = client.get("/api/my/escalations").get_json()["escalations"]
    assert theirs not in {e["id"] for e in mine}
    assert "他のオペレーターの質問です" not in client.get("/my/escalations").text


@pytest.mark.parametrize("principal", ["expert", "editor", "admin", "token:expert"])
def test_experts_editors_and_admins_see_every_escalation(world, principal):
    theirs = escalate(world.app, "op2", query="全員が見られる質問")
    client = world.clients[principal]
    assert client.get(f"/escalations/{theirs}").status_code == 200
    assert client.get(f"/api/escalations/{theirs}").get_json()["query"] == "全員が見られる質問"
    listed = client.get("/api/escalations").get_json()["escalations"]
    assert theirs in {e["id"] for e in listed}


def test_an_operator_who_attached_a_call_sees_that_escalation(world):
    theirs = escalate(world.app, "op2", query="追加した件は見える")
    client = world.clients["operator"]
    assert client.get(f"/escalations/{theirs}").status_code == 404
    response = world.send(client, Call("escalations.attach", "POST", "/escalations/{id}/attach",
                                       form={"q": "追加した件"}), theirs)
    assert response.status_code == 303
    assert client.get(f"/escalations/{theirs}").status_code == 200
    assert theirs in {e["id"] for e in client.get("/api/escalations").get_json()["escalations"]}


def test_a_deactivated_users_session_and_token_stop_working(world):
    add_person(world.app, "leaver", "operator")
    client = world.app.test_client()
    page = client.get("/login")
    assert client.post("/login", data={"name": "leaver", "password": PASSWORD,
                                       "csrf_token": csrf_token(page.text)}).status_code == 302
    token = token_for(world.app, "leaver")
    assert client.get("/api/my/escalations").status_code == 200
    with db(world.app).write() as session:
        session.query(User).filter_by(name="leaver").one().active = False
    assert client.get("/api/my/escalations").status_code == 401
    assert world.app.test_client().get("/api/my/escalations",
                                       headers=bearer(token)).status_code == 401


def test_the_matrix_covers_every_role():
    assert set(USERS) == set(ROLES)
    assert {role_of(p) for p in PRINCIPALS} == {None, *ROLES}
