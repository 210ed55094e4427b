"""The deadline sweep with a controllable clock: re-routing to the backup contact when nobody
took an escalation in time, overdue marks, and the background thread doing both by itself."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from kb import escalations as esc_core
from kb.background import Background
from kb.models import Delivery
from kb.routing import parse
from tests.helpers import (
    ChatReceiver,
    escalate,
    fetch,
    jst,
)

T0 = jst(2026, 11, 23, 10, 0)  # a Monday, 10:00 in Tokyo
MIN = timedelta(minutes=1)

ROUTING = """
timezone: Asia/Tokyo
levels:
  - {id: "1", name: 通常, acknowledge_minutes: 30, answer_minutes: 240}
  - {id: "2", name: 至急, acknowledge_minutes: 10, answer_minutes: 60}
contacts:
  - {id: desk, name: SVデスク, channel: phone, address: 内線 201}
  - {id: leader, name: 田中リーダー, channel: %(backup_channel)s, address: "%(backup_address)s"}
rules:
  - {level: "1", category: "*", primary: desk, backup: leader}
  - {level: "2", category: "*", primary: desk}
"""


def routing_with_backup(channel: str = "phone", address: str = "内線 205"):
    return parse(ROUTING % {"backup_channel": channel, "backup_address": address})


@pytest.fixture
def routing():
    return routing_with_backup()


def sweep(db, routing, now) -> list[int]:
    with db.write() as session:
        return esc_core.sweep(session, routing, now)


def deliveries(db, escalation_id) -> list[tuple]:
    with db.read() as session:
        rows = session.scalars(select(Delivery).where(Delivery.escalation_id == escalation_id)
                               .order_by(Delivery.id))
        return [(d.contact, d.state, d.created_at) for d in rows]


def kinds(db, escalation_id) -> list[str]:
    return [e.kind for e in fetch(db, escalation_id).events]


def acknowledge(db, escalation_id, expert, now) -> None:
    with db.write() as session:
        esc_core.transition(esc_core.get(session, escalation_id), expert, "acknowledge", now)


# ---- re-routing to the backup ---------------------------------------------------------------------

def test_nothing_changes_before_the_acknowledge_deadline(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", T0)
    before = fetch(db, esc_id)
    assert sweep(db, routing, T0 + 29 * MIN) == []
    assert sweep(db, routing, T0 + 30 * MIN) == []  # the deadline minute itself is still in time
    after = fetch(db, esc_id)
    assert (after.contact, after.routed_to_backup, after.updated_at) == ("desk", False, T0)
    assert len(after.events) == len(before.events)
    assert deliveries(db, esc_id) == [("desk", "shown", T0)]


def test_an_unacknowledged_escalation_goes_to_the_backup_once(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", T0)
    assert sweep(db, routing, T0 + 31 * MIN) == [esc_id]

    esc = fetch(db, esc_id)
    assert esc.contact == "leader"
    assert esc.routed_to_backup is True
    assert esc.status == "open"
    assert esc.updated_at == T0 + 31 * MIN
    assert esc.acknowledge_by == T0 + 61 * MIN  # the backup gets its own time to take it
    rerouted = esc.events[-1]
    assert (rerouted.kind, rerouted.actor_id, rerouted.at) == ("rerouted", None, T0 + 31 * MIN)
    assert "田中リーダー" in rerouted.detail
    assert deliveries(db, esc_id) == [("desk", "shown", T0), ("leader", "shown", T0 + 31 * MIN)]
    with db.read() as session:
        backup = session.scalars(select(Delivery).where(Delivery.contact == "leader")).one()
        assert backup.body == "田中リーダーさん (内線 205) に電話"

    # Later sweeps, even past the backup's own deadline, do not re-route again.
    assert sweep(db, routing, T0 + 32 * MIN) == []
    assert sweep(db, routing, T0 + 90 * MIN) == []
    assert kinds(db, esc_id).count("rerouted") == 1
    assert len(deliveries(db, esc_id)) == 2


def test_an_acknowledged_escalation_is_never_rerouted(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", T0)
    acknowledge(db, esc_id, people.sv, T0 + 29 * MIN)
    for minutes in (31, 60, 239):
        assert sweep(db, routing, T0 + minutes * MIN) == []
    esc = fetch(db, esc_id)
    assert (esc.contact, esc.routed_to_backup) == ("desk", False)
    assert "rerouted" not in kinds(db, esc_id)
    assert len(deliveries(db, esc_id)) == 1


def test_without_a_backup_the_missed_deadline_is_recorded_once(db, routing, people):
    esc_id = escalate(db, routing, people.op, "至急の件", T0, level="2")
    assert sweep(db, routing, T0 + 11 * MIN) == [esc_id]
    assert sweep(db, routing, T0 + 12 * MIN) == []
    esc = fetch(db, esc_id)
    assert esc.contact == "desk"
    assert kinds(db, esc_id).count("unacknowledged") == 1
    assert "代替の連絡先なし" in esc.events[-1].detail
    assert len(deliveries(db, esc_id)) == 1


def test_only_the_late_escalations_change(db, routing, people):
    late = escalate(db, routing, people.op, "早く来た件", T0)
    fresh = escalate(db, routing, people.op, "後から来た件", T0 + 20 * MIN)
    assert sweep(db, routing, T0 + 31 * MIN) == [late]
    assert fetch(db, fresh).contact == "desk"
    assert sweep(db, routing, T0 + 51 * MIN) == [fresh]


# ---- overdue ---------------------------------------------------------------------------------------

def test_overdue_is_marked_once_after_the_answer_deadline(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", T0)
    acknowledge(db, esc_id, people.sv, T0 + 5 * MIN)
    assert sweep(db, routing, T0 + 240 * MIN) == []
    assert fetch(db, esc_id).overdue is False
    assert sweep(db, routing, T0 + 241 * MIN) == [esc_id]
    esc = fetch(db, esc_id)
    assert esc.overdue is True
    assert (esc.events[-1].kind, esc.events[-1].at) == ("overdue", T0 + 241 * MIN)
    assert sweep(db, routing, T0 + 300 * MIN) == []
    assert kinds(db, esc_id).count("overdue") == 1


def test_a_forgotten_escalation_is_rerouted_then_marked_overdue(db, routing, people):
    esc_id = escalate(db, routing, people.op, "誰も見ていない件", T0)
    sweep(db, routing, T0 + 31 * MIN)
    sweep(db, routing, T0 + 241 * MIN)
    assert kinds(db, esc_id) == ["created", "routed", "rerouted", "overdue"]


def test_an_answered_escalation_is_neither_rerouted_nor_overdue(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", T0)
    with db.write() as session:
        esc_core.transition(esc_core.get(session, esc_id), people.sv, "answer", T0 + MIN,
                            text="契約内容によります。")
    assert sweep(db, routing, T0 + 1000 * MIN) == []
    assert fetch(db, esc_id).overdue is False


def test_a_level_removed_from_the_routing_file_does_not_stop_the_sweep(db, routing, people):
    removed = escalate(db, routing, people.op, "レベル2の件", T0, level="2")
    kept = escalate(db, routing, people.op, "レベル1の件", T0)
    # The file is edited while the first one is still open: level 2 is gone.
    edited = parse(ROUTING.replace('  - {id: "2", name: 至急, acknowledge_minutes: 10, '
                                   'answer_minutes: 60}\n', "")
                   .replace('  - {level: "2", category: "*", primary: desk}\n', "")
                   % {"backup_channel": "phone", "backup_address": "内線 205"})
    assert edited.level("2") is None
    assert sorted(sweep(db, edited, T0 + 31 * MIN)) == [removed, kept]
    assert fetch(db, kept).contact == "leader"
    assert "unacknowledged" in kinds(db, removed)
    assert sweep(db, edited, T0 + 61 * MIN) == [removed]  # still marked overdue
    assert fetch(db, removed).overdue is True


# ---- the background thread does it by itself --------------------------------------------------------

class Clock:
    """A clock the test moves; counts how often the background thread read it."""

    def __init__(self, now):
        self.now = now
        self.reads = 0
        self._changed = threading.Condition()

    def __call__(self):
        with self._changed:
            self.reads += 1
            self._changed.notify_all()
            return self.now

    def wait_for_reads(self, reads: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.reads >= reads, timeout=60)


def one_full_pass(background: Background, clock: Clock) -> None:
    """Wake the thread until a pass has started at ``clock.now`` and the next one began (so
    the first one finished)."""
    start = clock.reads
    background.wake()
    clock.wait_for_reads(start + 1)
    background.wake()
    clock.wait_for_reads(start + 2)


def test_the_background_thread_reroutes_and_notifies_the_backup(db, people):
    with ChatReceiver() as chat:
        routing = routing_with_backup("chat", f"{chat.url}/hooks/leader")
        esc_id = escalate(db, routing, people.op, "誰も取らない件", T0)
        clock = Clock(T0 + 29 * MIN)
        background = Background(db, lambda: routing, interval=3600, clock=clock).start()
        try:
            one_full_pass(background, clock)
            assert fetch(db, esc_id).contact == "desk"
            assert chat.posts == []

            clock.now = T0 + 31 * MIN
            one_full_pass(background, clock)
            esc = fetch(db, esc_id)
            assert (esc.contact, esc.routed_to_backup) == ("leader", True)
            assert kinds(db, esc_id).count("rerouted") == 1
            assert deliveries(db, esc_id) == [("desk", "shown", T0),
                                              ("leader", "sent", T0 + 31 * MIN)]
            assert [(p["path"], p["json"]["escalation_id"]) for p in chat.posts] == [
                ("/hooks/leader", esc_id)]

            clock.now = T0 + 241 * MIN
            one_full_pass(background, clock)
            assert fetch(db, esc_id).overdue is True
            assert kinds(db, esc_id).count("rerouted") == 1
            assert len(chat.posts) == 1
        finally:
            background.stop()
