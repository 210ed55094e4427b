"""The routing file: the shipped default, errors that name the key, and business hours."""

from __future__ import annotations

import copy

import pytest
import yaml

from kb import routing as routing_mod
from kb.routing import DEFAULT_FILE, RoutingError, parse
from tests.helpers import jst

BASE = {
    "timezone": "Asia/Tokyo",
    "smtp": {"host": "127.0.0.1", "port": 2525, "sender": "kotae@example.jp"},
    "levels": [
        {"id": "1", "name": "通常", "acknowledge_minutes": 30, "answer_minutes": 240},
        {"id": "2", "name": "至急", "acknowledge_minutes": 10, "answer_minutes": 60},
    ],
    "contacts": [
        {"id": "billing", "name": "料金チーム", "channel": "mail",
         "address": "billing@example.jp",
         "hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}},
        {"id": "desk", "name": "SVデスク", "channel": "phone", "address": "内線 201"},
        {"id": "tech", "name": "技術サポート", "channel": "chat",
         "address": "http://127.0.0.1:9/hook"},
    ],
    "rules": [
        {"level": "1", "category": "*", "primary": "desk"},
        {"level": "1", "category": "料金・支払い", "primary": "billing", "backup": "desk"},
        {"level": "2", "category": "*", "primary": "tech", "backup": "desk"},
    ],
}


def text_of(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def problems(change) -> list[str]:
    """The problems reported for BASE after ``change`` edited a copy of it."""
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(RoutingError) as refused:
        parse(text_of(data), "instance/routing.yaml")
    assert str(refused.value).startswith("instance/routing.yaml: ")
    return refused.value.problems


# ---- the shipped file -------------------------------------------------------------------------

def test_the_shipped_default_file_is_valid_and_routes_every_level():
    routing = parse(DEFAULT_FILE.read_text(encoding="utf-8"), DEFAULT_FILE)
    assert [level.id for level in routing.levels] == ["1", "2", "3"]
    assert routing.timezone == "Asia/Tokyo"
    monday_morning = jst(2026, 11, 23, 10, 0)
    for level in routing.levels:
        route = routing.route(level.id, None, monday_morning)
        assert route.contact.id == routing.rule_for(level.id, "*").primary
    billing = routing.route("1", "料金・支払い", monday_morning)
    assert (billing.contact.channel, billing.contact.address) == ("mail", "billing-team@example.jp")
    assert routing.route("1", "存在しないカテゴリ", monday_morning).contact.id == "sv-desk"
    assert routing.level("2").acknowledge_minutes == 10
    assert routing_mod.load("/nonexistent/routing.yaml") == routing


def test_load_reads_the_instance_copy(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text(text_of(BASE), encoding="utf-8")
    assert [c.id for c in routing_mod.load(path).contacts] == ["billing", "desk", "tech"]
    path.write_text("levels: [", encoding="utf-8")
    with pytest.raises(RoutingError) as refused:
        routing_mod.load(path)
    assert str(path) in str(refused.value)


def test_numbers_and_flags_written_as_yaml_scalars_are_read():
    routing = parse(text_of(BASE) + "reviewed: '2026-11-01'\n")
    assert routing.smtp.port == 2525 and routing.smtp.starttls is False
    assert routing.level("1").answer_minutes == 240


# ---- errors that name the key -------------------------------------------------------------------

def test_unreadable_yaml_is_reported_as_such():
    with pytest.raises(RoutingError) as refused:
        parse("levels:\n  - id: 1\n   name: [broken")
    assert refused.value.problems[0].startswith("(YAML): ")
    for not_a_mapping in ("", "- a\n- b\n", "just text"):
        with pytest.raises(RoutingError) as refused:
            parse(not_a_mapping)
        assert refused.value.problems == ["(全体): YAML のマッピングにしてください"]


def _set(path: str, value):
    """A change that sets the value at ``path`` (e.g. ``contacts.1.channel``)."""
    def change(data):
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return change


NAMED = [
    ("unknown-channel", _set("contacts.1.channel", "fax"), "contacts[1].channel"),
    ("bad-mail-address", _set("contacts.0.address", "billing team"), "contacts[0].address"),
    ("mail-without-domain", _set("contacts.0.address", "billing@"), "contacts[0].address"),
    ("chat-not-a-url", _set("contacts.2.address", "tech-hook"), "contacts[2].address"),
    ("unknown-primary", _set("rules.0.primary", "nobody"), "rules[0].primary"),
    ("unknown-backup", _set("rules.2.backup", "sv-leader"), "rules[2].backup"),
    ("unknown-level-in-rule", _set("rules.1.level", "9"), "rules[1].level"),
    ("missing-star-rule", _set("rules.2.category", "クレーム"), "rules"),
    ("duplicate-level", _set("levels.1.id", "1"), "levels[1].id"),
    ("duplicate-contact", _set("contacts.2.id", "billing"), "contacts[2].id"),
    ("time-without-zero", _set("contacts.0.hours.start", "9:00"), "contacts[0].hours.start"),
    ("time-out-of-range", _set("contacts.0.hours.end", "25:00"), "contacts[0].hours.end"),
    ("unknown-day", _set("contacts.0.hours.days", ["mon", "holiday"]),
     "contacts[0].hours.days[1]"),
    ("unknown-timezone", _set("timezone", "Asia/Tokio"), "timezone"),
    ("answer-before-acknowledge", _set("levels.1.answer_minutes", 5),
     "levels[1].answer_minutes"),
    ("minutes-not-a-number", _set("levels.0.acknowledge_minutes", "三十"),
     "levels[0].acknowledge_minutes"),
    ("zero-minutes", _set("levels.0.acknowledge_minutes", 0), "levels[0].acknowledge_minutes"),
    ("misspelt-key", _set("contacts.1.adress", "内線 202"), "contacts[1].adress"),
    ("missing-address", _set("contacts.1.address", None), "contacts[1].address"),
    ("smtp-port", _set("smtp.port", 70000), "smtp.port"),
    ("no-levels", _set("levels", []), "levels"),
]


@pytest.mark.parametrize(("change", "key"), [(c, k) for _, c, k in NAMED],
                         ids=[name for name, _, _ in NAMED])
def test_each_error_names_the_key_it_is_about(change, key):
    found = problems(change)
    assert key in [p.split(": ", 1)[0] for p in found], found


def test_the_messages_say_what_is_wrong_in_japanese():
    assert problems(_set("rules.2.backup", "sv-leader")) == [
        "rules[2].backup: 連絡先 'sv-leader' が contacts にありません"]
    assert problems(_set("timezone", "Asia/Tokio")) == ["timezone: 不明なタイムゾーン 'Asia/Tokio'"]
    assert problems(_set("rules.2.category", "クレーム")) == [
        "rules: レベル '2' に category '*' のルールがありません"]
    assert problems(_set("levels.1.answer_minutes", 5)) == [
        "levels[1].answer_minutes: answer_minutes は acknowledge_minutes 以上にしてください"]


def test_every_problem_is_reported_at_once():
    def two_mistakes(data):
        data["contacts"][0]["address"] = "not-mail"
        data["contacts"][2]["hours"] = {"start": "9時"}
    found = problems(two_mistakes)
    assert [p.split(":")[0] for p in found] == ["contacts[0].address", "contacts[2].hours.start"]


# ---- business hours: primary, or the backup when the primary is away ----------------------------

@pytest.fixture
def routing():
    return parse(text_of(BASE))


@pytest.mark.parametrize(("moment", "expected", "skipped"), [
    (jst(2026, 11, 23, 10, 0), "billing", None),       # Monday 10:00: the team is in
    (jst(2026, 11, 22, 10, 0), "desk", "billing"),     # Sunday 10:00: closed → the desk
    (jst(2026, 11, 23, 8, 59), "desk", "billing"),     # Monday, before opening
    (jst(2026, 11, 23, 9, 0), "billing", None),        # opening minute
    (jst(2026, 11, 23, 17, 59), "billing", None),
    (jst(2026, 11, 23, 18, 0), "desk", "billing"),     # closing time is already closed
    (jst(2026, 11, 24, 0, 30), "desk", "billing"),     # Monday 15:30 UTC is Tuesday in Tokyo
], ids=["mon-10", "sun-10", "mon-0859", "mon-0900", "mon-1759", "mon-1800", "tue-0030"])
def test_the_primary_outside_its_hours_gives_way_to_a_reachable_backup(routing, moment,
                                                                       expected, skipped):
    route = routing.route("1", "料金・支払い", moment)
    assert route.contact.id == expected
    assert (route.skipped_primary.id if route.skipped_primary else None) == skipped


def test_hours_are_read_in_the_centers_time_zone():
    data = copy.deepcopy(BASE)
    data["timezone"] = "UTC"
    routing = parse(text_of(data))
    # Monday 10:00 in Tokyo is Monday 01:00 UTC: before the team opens in a UTC center.
    assert routing.route("1", "料金・支払い", jst(2026, 11, 23, 10, 0)).contact.id == "desk"
    assert routing.route("1", "料金・支払い", jst(2026, 11, 23, 19, 0)).contact.id == "billing"


def test_the_primary_stays_when_the_backup_is_away_too():
    data = copy.deepcopy(BASE)
    data["contacts"][1]["hours"] = {"days": ["mon", "tue", "wed", "thu", "fri"],
                                    "start": "08:00", "end": "20:00"}
    routing = parse(text_of(data))
    sunday = routing.route("1", "料金・支払い", jst(2026, 11, 22, 10, 0))
    assert (sunday.contact.id, sunday.skipped_primary) == ("billing", None)
    early = routing.route("1", "料金・支払い", jst(2026, 11, 23, 8, 30))
    assert (early.contact.id, early.skipped_primary.id) == ("desk", "billing")


def test_a_rule_without_backup_always_goes_to_the_primary(routing):
    data = copy.deepcopy(BASE)
    data["contacts"][1]["hours"] = {"start": "09:00", "end": "10:00"}
    routing = parse(text_of(data))
    route = routing.route("1", None, jst(2026, 11, 22, 3, 0))
    assert (route.contact.id, route.backup, route.skipped_primary) == ("desk", None, None)


def night_desk(hours) -> object:
    data = copy.deepcopy(BASE)
    data["contacts"][1]["hours"] = hours
    data["rules"][0]["backup"] = "tech"
    return parse(text_of(data))


def test_hours_may_run_past_midnight():
    # A night desk from Friday 22:00 to Saturday 06:00; the days are the days a shift starts.
    routing = night_desk({"days": ["fri"], "start": "22:00", "end": "06:00"})
    for moment, reachable in [
        (jst(2026, 11, 27, 21, 59), False),  # Friday evening, before the shift
        (jst(2026, 11, 27, 22, 0), True),
        (jst(2026, 11, 27, 23, 30), True),
        (jst(2026, 11, 28, 2, 0), True),     # Saturday night: still Friday's shift
        (jst(2026, 11, 28, 6, 0), False),
        (jst(2026, 11, 28, 23, 0), False),   # Saturday evening: no shift starts on Saturday
        (jst(2026, 11, 27, 2, 0), False),    # Friday early morning: Thursday had no shift
    ]:
        route = routing.route("1", None, moment)
        assert (route.contact.id == "desk") == reachable, moment


def test_hours_that_start_when_they_end_are_refused():
    data = copy.deepcopy(BASE)
    data["contacts"][1]["hours"] = {"start": "09:00", "end": "09:00"}
    with pytest.raises(RoutingError) as refused:
        parse(text_of(data))
    assert [p.split(": ", 1)[0] for p in refused.value.problems] == ["contacts[1].hours.end"]
