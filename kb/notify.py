"""Telling contacts about escalations: mail over SMTP, chat over an HTTP POST, phone shown.

Deliveries are rows written in the same transaction as the escalation (an outbox), and sent
after the commit by ``send_pending``: a mail server that is down never loses or delays an
escalation. An unsent delivery is retried after a growing delay (RETRY_AFTER), so an outage of
an hour does not use up its attempts; when it is given up, the escalation's history says so.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select, update

from kb.db import Database
from kb.models import Delivery, Escalation, EscalationEvent
from kb.routing import Contact, Routing

# After the n-th failed attempt, wait RETRY_AFTER[n - 1] before the next; then give up.
RETRY_AFTER = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
TIMEOUT = 10
STALE_CLAIM = timedelta(minutes=5)
log = logging.getLogger(__name__)
REASONS = {"new": "新しいエスカレーション", "backup": "代替連絡（一次連絡先が未受付）"}


def phone_instruction(contact: Contact) -> str:
    """What the operator reads for a phone route."""
    return f"{contact.name}さん ({contact.address}) に電話"


def delivery_for(routing: Routing, esc: Escalation, contact: Contact, reason: str,
                 now: datetime) -> Delivery:
    level = routing.level(esc.level)
    level_name = level.name if level else esc.level
    subject = f"[Kotae] {REASONS[reason]} #{esc.id} レベル{esc.level} {level_name}"
    body = "\n".join([
        f"エスカレーション #{esc.id}（{REASONS[reason]}）",
        f"レベル: {esc.level} {level_name}",
        f"カテゴリ: {esc.category or '未分類'}",
        f"質問: {esc.query}",
        f"メモ: {esc.note or '（なし）'}",
        f"受付期限: {esc.acknowledge_by:%Y-%m-%d %H:%M} UTC",
        f"回答期限: {esc.answer_by:%Y-%m-%d %H:%M} UTC",
    ])
    shown = contact.channel == "phone"
    return Delivery(
        escalation_id=esc.id, contact=contact.id, channel=contact.channel,
        address=contact.address, subject=subject,
        body=phone_instruction(contact) if shown else body,
        created_at=now, state="shown" if shown else "pending",
    )


def _send_mail(routing: Routing, delivery: Delivery) -> None:
    message = EmailMessage()
    message["From"] = routing.smtp.sender
    message["To"] = delivery.address
    message["Subject"] = delivery.subject
    message.set_content(delivery.body)
    with smtplib.SMTP(routing.smtp.host, routing.smtp.port, timeout=TIMEOUT) as smtp:
        if routing.smtp.starttls:
            smtp.starttls()
        if routing.smtp.username:
            smtp.login(routing.smtp.username, routing.smtp.password or "")
        smtp.send_message(message)


def _send_chat(delivery: Delivery) -> None:
    payload = json.dumps({"text": f"{delivery.subject}\n{delivery.body}",
                          "escalation_id": delivery.escalation_id}, ensure_ascii=False)
    request = urllib.request.Request(
        delivery.address, data=payload.encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        response.read()


def send(routing: Routing, delivery: Delivery) -> None:
    if delivery.channel == "mail":
        _send_mail(routing, delivery)
    elif delivery.channel == "chat":
        _send_chat(delivery)


def _due(attempts: int, last_attempt: datetime | None, now: datetime) -> bool:
    if attempts == 0 or last_attempt is None:
        return True
    return last_attempt + RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1] <= now


def send_pending(db: Database, routing: Routing, now: datetime) -> int:
    """Send every pending delivery that is due; returns how many went out.

    Each delivery is claimed in a short transaction (pending → sending) so that two processes
    never send it twice and no transaction stays open during network I/O. A claim older than
    STALE_CLAIM (the process died while sending) goes back to pending.
    """
    with db.write() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.state == "sending", Delivery.claimed_at < now - STALE_CLAIM)
            .values(state="pending")
        )
        pending = session.execute(
            select(Delivery.id, Delivery.attempts, Delivery.claimed_at)
            .where(Delivery.state == "pending").order_by(Delivery.id)
        ).all()
    ids = [row.id for row in pending if _due(row.attempts, row.claimed_at, now)][:100]
    sent = 0
    for delivery_id in ids:
        with db.write() as session:
            claimed = session.execute(
                update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "pending")
                .values(state="sending", claimed_at=now, attempts=Delivery.attempts + 1)
            ).rowcount
            delivery = session.get(Delivery, delivery_id) if claimed else None
        if delivery is None:
            continue
        try:
            send(routing, delivery)
            state, error = "sent", None
        except Exception as exc:  # whatever one contact's server does, the others go out
            if not isinstance(exc, OSError | smtplib.SMTPException | ValueError):
                log.warning("delivery %d to %s failed", delivery_id, delivery.contact,
                            exc_info=True)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            state = "failed" if delivery.attempts >= MAX_ATTEMPTS else "pending"
        with db.write() as session:
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(
                    state=state, error=error, sent_at=now if state == "sent" else None)
            )
            if state == "failed":
                _record_failure(session, routing, delivery, error, now)
        sent += state == "sent"
    return sent


def _record_failure(session, routing: Routing, delivery: Delivery, error: str,
                    now: datetime) -> None:
    """Put the given-up delivery in the escalation's history, where experts look."""
    contact = routing.contact(delivery.contact)
    name = contact.name if contact else delivery.contact
    session.add(EscalationEvent(
        escalation_id=delivery.escalation_id, at=now, actor_id=None, kind="notify_failed",
        detail=f"{name} への通知（{delivery.channel}）を{delivery.attempts}回試しましたが届きません"
               f"でした: {error}"[:4000],
    ))
    session.execute(update(Escalation).where(Escalation.id == delivery.escalation_id)
                    .values(updated_at=now))
