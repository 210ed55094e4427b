"""Telling the contacts: mail to a real SMTP server and chat to a real HTTP server, both started
here; a server that is down; phone routes shown to the operator; concurrent senders."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from kb import notify
from kb.models import Delivery
from kb.routing import parse
from tests.helpers import (
    ChatReceiver,
    MailReceiver,
    closed_port,
    escalate,
    fetch,
    jst,
)

T0 = jst(2026, 11, 23, 10, 0)  # a Monday, 10:00 in Tokyo
SECOND = timedelta(seconds=1)

ROUTING = """
timezone: Asia/Tokyo
smtp: {host: 127.0.0.1, port: %(smtp_port)d, sender: kotae@example.jp}
levels:
  - {id: "1", name: 通常, acknowledge_minutes: 30, answer_minutes: 240}
  - {id: "2", name: 至急, acknowledge_minutes: 10, answer_minutes: 60}
contacts:
  - {id: billing, name: 料金チーム, channel: mail, address: billing-team@example.jp}
  - {id: tech, name: 技術サポート, channel: chat, address: "%(chat_url)s"}
  - {id: desk, name: SVデスク, channel: phone, address: 内線 201}
rules:
  - {level: "1", category: "*", primary: desk}
  - {level: "2", category: "*", primary: desk}
  - {level: "2", category: 料金・支払い, primary: billing, backup: desk}
  - {level: "1", category: 端末・故障, primary: tech, backup: desk}
"""


def routing_for(smtp_port: int | None = None, chat_url: str | None = None):
    return parse(ROUTING % {"smtp_port": smtp_port or closed_port(),
                            "chat_url": chat_url or f"http://127.0.0.1:{closed_port()}/hook"})


def deliveries_of(db, escalation_id) -> list[Delivery]:
    with db.read() as session:
        return list(session.scalars(
            select(Delivery).where(Delivery.escalation_id == escalation_id).order_by(Delivery.id)))


# ---- mail ----------------------------------------------------------------------------------------

def test_mail_reaches_a_real_smtp_server_with_the_question_in_japanese(db, people):
    with MailReceiver() as mail:
        routing = routing_for(smtp_port=mail.port)
        esc_id = escalate(db, routing, people.op, "請求額が先月の倍になっている", T0, level="2",
                          category="料金・支払い", note="お客様は本日中の回答を希望")
        assert notify.send_pending(db, routing, T0 + SECOND) == 1

        assert len(mail.messages) == 1
        recipients, message = mail.messages[0]
        assert recipients == ["billing-team@example.jp"]
        assert message["To"] == "billing-team@example.jp"
        assert message["From"] == "kotae@example.jp"
        subject = message["Subject"]
        assert f"#{esc_id}" in subject and "レベル2" in subject and "至急" in subject
        body = message.get_content()
        assert "質問: 請求額が先月の倍になっている" in body
        assert "メモ: お客様は本日中の回答を希望" in body
        assert "カテゴリ: 料金・支払い" in body

        [delivery] = deliveries_of(db, esc_id)
        assert (delivery.state, delivery.attempts, delivery.error) == ("sent", 1, None)
        assert delivery.sent_at == T0 + SECOND
        # Sent once: the next pass has nothing to do.
        assert notify.send_pending(db, routing, T0 + 2 * SECOND) == 0
        assert len(mail.messages) == 1


# ---- chat ----------------------------------------------------------------------------------------

def test_chat_reaches_a_real_http_server_as_a_json_post(db, people):
    with ChatReceiver() as chat:
        routing = routing_for(chat_url=f"{chat.url}/hooks/tech-support")
        esc_id = escalate(db, routing, people.op, "ルーターのランプが赤く点滅している", T0,
                          category="端末・故障")
        assert notify.send_pending(db, routing, T0 + SECOND) == 1

        [post] = chat.posts
        assert post["path"] == "/hooks/tech-support"
        assert post["content_type"].startswith("application/json")
        assert post["json"]["escalation_id"] == esc_id
        assert f"#{esc_id}" in post["json"]["text"]
        assert "ルーターのランプが赤く点滅している" in post["json"]["text"]
        assert [d.state for d in deliveries_of(db, esc_id)] == ["sent"]


# ---- phone ---------------------------------------------------------------------------------------

def test_a_phone_route_is_shown_to_the_operator_not_sent(db, people):
    routing = routing_for()
    esc_id = escalate(db, routing, people.op, "解約したいと言われた", T0)
    [delivery] = deliveries_of(db, esc_id)
    assert (delivery.channel, delivery.state) == ("phone", "shown")
    assert delivery.body == "SVデスクさん (内線 201) に電話"
    assert notify.phone_instruction(routing.contact("desk")) == "SVデスクさん (内線 201) に電話"
    assert notify.send_pending(db, routing, T0 + SECOND) == 0
    assert [(d.state, d.attempts) for d in deliveries_of(db, esc_id)] == [("shown", 0)]


# ---- a server that is down -----------------------------------------------------------------------

def test_a_delivery_to_a_server_that_is_down_waits_and_is_retried(db, people):
    port = closed_port()
    routing = routing_for(chat_url=f"http://127.0.0.1:{port}/hook")
    esc_id = escalate(db, routing, people.op, "ルーターが再起動を繰り返す", T0,
                      category="端末・故障")
    assert notify.send_pending(db, routing, T0) == 0
    [delivery] = deliveries_of(db, esc_id)
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert "Connection refused" in delivery.error
    assert fetch(db, esc_id).status == "open"  # the escalation itself is not affected

    # The server comes back: the next pass after the retry delay delivers it, once.
    retry = notify.RETRY_AFTER[0]
    with ChatReceiver(port=port) as chat:
        assert notify.send_pending(db, routing, T0 + retry - SECOND) == 0  # not yet
        assert chat.posts == []
        assert notify.send_pending(db, routing, T0 + retry) == 1
        assert [p["json"]["escalation_id"] for p in chat.posts] == [esc_id]
    [delivery] = deliveries_of(db, esc_id)
    assert (delivery.state, delivery.attempts, delivery.error) == ("sent", 2, None)


def test_a_server_that_stays_down_is_given_up_after_max_attempts_and_it_shows(db, people):
    routing = routing_for()  # nothing listens on the SMTP port
    esc_id = escalate(db, routing, people.op, "口座振替の変更", T0, level="2",
                      category="料金・支払い")
    now = T0
    notify.send_pending(db, routing, now)
    for attempt, wait in enumerate(notify.RETRY_AFTER, start=2):
        assert notify.send_pending(db, routing, now + wait - SECOND) == 0
        assert deliveries_of(db, esc_id)[0].attempts == attempt - 1
        now += wait
        notify.send_pending(db, routing, now)
        assert deliveries_of(db, esc_id)[0].attempts == attempt
    [delivery] = deliveries_of(db, esc_id)
    assert (delivery.state, delivery.attempts) == ("failed", notify.MAX_ATTEMPTS)
    assert "Connection refused" in delivery.error
    # It stays given up, and the escalation's history says whom it did not reach.
    notify.send_pending(db, routing, now + timedelta(days=1))
    assert deliveries_of(db, esc_id)[0].attempts == notify.MAX_ATTEMPTS
    failed = fetch(db, esc_id).events[-1]
    assert (failed.kind, failed.actor_id, failed.at) == ("notify_failed", None, now)
    assert "料金チーム" in failed.detail


def test_an_outage_of_a_few_minutes_does_not_lose_the_notification(db, people):
    routing = routing_for()
    esc_id = escalate(db, routing, people.op, "口座振替の変更", T0, level="2",
                      category="料金・支払い")
    for seconds in range(0, 600, 5):  # a background pass every 5 s for 10 minutes
        notify.send_pending(db, routing, T0 + seconds * SECOND)
    assert deliveries_of(db, esc_id)[0].state == "pending"


@pytest.mark.parametrize(("status", "reply"), [(500, None), (200, b"garbage\r\n\r\n")],
                         ids=["http-500", "not-http"])
def test_a_broken_chat_server_fails_only_its_own_delivery(db, people, status, reply):
    with ChatReceiver(status=status, reply=reply) as broken, MailReceiver() as mail:
        routing = routing_for(smtp_port=mail.port, chat_url=f"{broken.url}/hook")
        chat_id = escalate(db, routing, people.op, "ルーターが熱い", T0, category="端末・故障")
        mail_id = escalate(db, routing, people.op, "請求書が届かない", T0, level="2",
                           category="料金・支払い")
        assert notify.send_pending(db, routing, T0) == 1
        assert len(broken.posts) == 1
        [chat] = deliveries_of(db, chat_id)
        assert (chat.state, chat.attempts) == ("pending", 1)
        assert chat.error
        assert [d.state for d in deliveries_of(db, mail_id)] == ["sent"]
        assert len(mail.messages) == 1


# ---- two senders at once ---------------------------------------------------------------------------

def test_two_concurrent_senders_never_send_one_delivery_twice(db, people):
    with ChatReceiver() as chat:
        routing = routing_for(chat_url=f"{chat.url}/hook")
        ids = [escalate(db, routing, people.op, f"端末の質問その{i}", T0, category="端末・故障")
                for i in range(30)]
        start = threading.Barrier(2)
        sent = []

        def sender():
            start.wait()
            sent.append(notify.send_pending(db, routing, T0 + SECOND))

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sum(sent) == len(ids)
        assert sorted(p["json"]["escalation_id"] for p in chat.posts) == ids
        with db.read() as session:
            rows = session.scalars(select(Delivery)).all()
            assert {(d.state, d.attempts) for d in rows} == {("sent", 1)}


def test_a_claim_left_by_a_dead_sender_is_taken_back(db, people):
    with ChatReceiver() as chat:
        routing = routing_for(chat_url=f"{chat.url}/hook")
        esc_id = escalate(db, routing, people.op, "端末の質問", T0, category="端末・故障")
        with db.write() as session:  # a process claimed it, then died before sending
            delivery = session.scalars(select(Delivery)).one()
            delivery.state, delivery.claimed_at, delivery.attempts = "sending", T0, 1
        assert notify.send_pending(db, routing, T0 + notify.STALE_CLAIM - SECOND) == 0
        assert chat.posts == []
        assert notify.send_pending(db, routing, T0 + notify.STALE_CLAIM + SECOND) == 1
        assert [p["json"]["escalation_id"] for p in chat.posts] == [esc_id]
