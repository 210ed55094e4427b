"""Escalations: the gap log, its state machine, routing by level and the deadline sweep.

    open ──acknowledge──▶ acknowledged ──answer──▶ answered ──close──▶ closed
      └────────────────answer─────────────────────▶ (answering takes it, too)

Every change is one transaction that also writes an EscalationEvent (who, when, from → to),
and, when someone has to be told, a Delivery row that the notifier sends after the commit.
Callers pass ``now`` so the deadlines can be tested with a controllable clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kb import notify
from kb.analysis import STOP_WORDS, kana_typed_runs, morphemes
from kb.models import Escalation, EscalationCall, EscalationEvent, User
from kb.routing import Contact, Routing, deadlines
from kb.textnorm import fold_kana, normalize_query_text

OPEN, ACKNOWLEDGED, ANSWERED, CLOSED = "open", "acknowledged", "answered", "closed"
ACTIVE = (OPEN, ACKNOWLEDGED, ANSWERED)
STATUS_LABELS = {OPEN: "未対応", ACKNOWLEDGED: "対応中", ANSWERED: "回答済み", CLOSED: "完了"}
OUTCOMES = {
    "article_created": "記事を作成",
    "article_updated": "記事を更新",
    "no_article_needed": "記事は不要",
    "duplicate": "重複",
}
# The transitions people make; the sweeper's re-routing and overdue marks are not status changes.
TRANSITIONS = {
    "acknowledge": ({OPEN}, ACKNOWLEDGED),
    "answer": ({OPEN, ACKNOWLEDGED, ANSWERED}, ANSWERED),
    "close": ({OPEN, ACKNOWLEDGED, ANSWERED}, CLOSED),
}
MAX_QUERY = 1000
MAX_NOTE = 4000
MAX_ANSWER = 20000
SIMILAR_THRESHOLD = 0.6


class EscalationError(ValueError):
    """A request that cannot be done, with a message for people; nothing was stored."""


class TransitionError(EscalationError):
    pass


def question_key(text: str) -> str:
    """The question as compared for duplicates: normalised, kana folded, no spaces/punctuation."""
    folded = fold_kana(normalize_query_text(text))
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _bigrams(key: str) -> set[str]:
    return {key[i:i + 2] for i in range(len(key) - 1)} or {key}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two question keys."""
    if not a or not b:
        return 0.0
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y)


# Verbs that, after a て-form, only add an aspect or a favour (忘れてしまった, 見ておく).
_AUXILIARY_VERBS = frozenset({
    "仕舞う", "しまう", "置く", "おく", "行く", "いく", "来る", "くる", "呉れる", "くれる",
    "上げる", "あげる",
})
_KEEP_POS = frozenset({("動詞", "非自立可能"), ("形容詞", "非自立可能")})


@lru_cache(maxsize=16384)
def question_words(text: str) -> frozenset[str]:
    """The content words of a question in Sudachi's normalised form, kana folded: 忘れました,
    忘れた and 忘れてしまった are all 忘れる; particles, auxiliaries and stop words go, and a
    word typed in hiragana (ぱすわーど) counts as the word it sounds like (パスワード)."""
    norm = normalize_query_text(text)
    runs = kana_typed_runs(norm)
    spans = [(m.start(), m.end()) for run in runs for m in re.finditer(re.escape(run), norm)]
    words = {fold_kana(run) for run in runs}
    for m in morphemes(norm):
        if m.subunit or any(s <= m.start and m.end <= e for s, e in spans):
            continue
        kept = m.pos in _KEEP_POS and m.normalized not in _AUXILIARY_VERBS
        if not kept and m.dropped:
            continue
        if m.normalized in STOP_WORDS or m.surface in STOP_WORDS:
            continue
        words.add(fold_kana(m.normalized.lower()))
    return frozenset(words)


def question_similarity(a: str, b: str) -> float:
    """How close two questions (as typed) are: the better of the character-bigram similarity
    of their keys (catches kana typed for kanji, small typos) and the overlap of their content
    words (catches different endings and particles: パスワードを忘れました ≈ パスワード 忘れた)."""
    chars = similarity(question_key(a), question_key(b))
    x, y = question_words(a), question_words(b)
    words = len(x & y) / len(x | y) if x and y else 0.0
    return max(chars, words)


def _clean(text: str | None, limit: int, what: str) -> str:
    text = (text or "").replace("\r\n", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).strip()
    if len(text) > limit:
        raise EscalationError(f"{what}は{limit}文字以内にしてください（{len(text)}文字）。")
    return text


def _event(esc: Escalation, actor: User | None, kind: str, now: datetime,
           from_status: str | None = None, to_status: str | None = None,
           detail: str = "") -> None:
    esc.events.append(EscalationEvent(
        at=now, actor_id=actor.id if actor else None, kind=kind,
        from_status=from_status, to_status=to_status, detail=detail,
    ))


def _tell(session: Session, routing: Routing, esc: Escalation, contact: Contact,
          reason: str, now: datetime) -> None:
    esc.contact = contact.id
    session.add(notify.delivery_for(routing, esc, contact, reason, now))


@dataclass(frozen=True)
class NewEscalation:
    query: str
    level: str
    category: str | None = None
    note: str = ""


def create(session: Session, routing: Routing, operator: User, request: NewEscalation,
           now: datetime, trail_id: int | None = None) -> Escalation:
    """Record the escalation and route it; the caller commits."""
    query = _clean(request.query, MAX_QUERY, "質問")
    note = _clean(request.note, MAX_NOTE, "メモ")
    if not query and not note:
        raise EscalationError("質問かメモを入力してください。")
    level = routing.level(str(request.level or ""))
    if level is None:
        names = "、".join(f"{lv.id}（{lv.name}）" for lv in routing.levels)
        raise EscalationError(f"レベルは {names} のいずれかです。")
    category = _clean(request.category, 100, "カテゴリ") or None
    acknowledge_by, answer_by = deadlines(level, now)
    esc = Escalation(
        created_at=now, updated_at=now, operator_id=operator.id, trail_id=trail_id,
        query=query, normalized=question_key(query or note), note=note,
        level=level.id, category=category, status=OPEN,
        acknowledge_by=acknowledge_by, answer_by=answer_by, events=[], calls=[],
    )
    session.add(esc)
    _event(esc, operator, "created", now, None, OPEN)
    route = routing.route(level.id, category, now)
    if route.skipped_primary is not None:
        _event(esc, None, "routed", now, detail=(
            f"{route.skipped_primary.name} は受付時間外のため {route.contact.name} へ"))
        esc.routed_to_backup = True
    else:
        _event(esc, None, "routed", now, detail=f"{route.contact.name} へ")
    session.flush()
    _tell(session, routing, esc, route.contact, "new", now)
    from kb import gaps  # gaps builds on this module

    gaps.assign(session, esc, now)
    return esc


def attach(session: Session, esc: Escalation, operator: User, query: str, note: str,
           now: datetime, trail_id: int | None = None) -> EscalationCall:
    """Attach another call to an open escalation instead of opening a duplicate."""
    if esc.status == CLOSED:
        raise TransitionError("この件は完了しています。新しくエスカレーションしてください。")
    call = EscalationCall(
        escalation_id=esc.id, operator_id=operator.id, trail_id=trail_id,
        query=_clean(query, MAX_QUERY, "質問"), note=_clean(note, MAX_NOTE, "メモ"), at=now,
    )
    esc.calls.append(call)
    esc.updated_at = now
    _event(esc, operator, "attached", now, detail=call.query)
    return call


def transition(esc: Escalation, actor: User, action: str, now: datetime,
               text: str | None = None, outcome: str | None = None,
               interim: bool = False) -> None:
    """Apply one person's transition; TransitionError when it is not allowed from here."""
    if action not in TRANSITIONS:
        raise TransitionError(f"不明な操作です: {action[:50]}")
    sources, target = TRANSITIONS[action]
    if esc.status not in sources:
        raise TransitionError(
            f"この件は「{STATUS_LABELS[esc.status]}」のため、この操作はできません。")
    before = esc.status
    if action == "answer":
        body = _clean(text, MAX_ANSWER, "回答")
        if not body:
            raise EscalationError("回答を入力してください。")
        if interim:
            if before == ANSWERED:
                raise TransitionError("回答済みの件に暫定回答は付けられません。")
            esc.interim = body
            target = ACKNOWLEDGED
            _event(esc, actor, "interim", now, before, target, detail=body)
        else:
            esc.answer = body
            esc.answered_at = now
            _event(esc, actor, "answered", now, before, target, detail=body)
    elif action == "close":
        if outcome not in OUTCOMES:
            raise EscalationError("完了の理由を選んでください。")
        esc.outcome = outcome
        _event(esc, actor, "closed", now, before, target, detail=OUTCOMES[outcome])
    else:
        _event(esc, actor, "acknowledged", now, before, target)
    if esc.assignee_id is None or action == "acknowledge":
        esc.assignee_id = actor.id
    esc.status = target
    esc.updated_at = now


def sweep(session: Session, routing: Routing, now: datetime) -> list[int]:
    """Re-route unacknowledged escalations past their deadline to the backup contact and mark
    overdue ones. Returns the ids that changed. Safe to run in several processes at once:
    SQLite serialises writers (BEGIN IMMEDIATE), and elsewhere the rows are read FOR UPDATE
    SKIP LOCKED, so the condition is re-checked and a row another sweeper holds is left to it."""
    changed = []
    late = session.scalars(
        select(Escalation).where(Escalation.status == OPEN, Escalation.acknowledge_by < now,
                                 Escalation.routed_to_backup.is_(False))
        .with_for_update(skip_locked=True)
    ).all()
    for esc in late:
        # The file may have been edited since: a level that is gone has no rule, no backup.
        level = routing.level(esc.level)
        rule = routing.rule_for(esc.level, esc.category) if level is not None else None
        backup = routing.contact(rule.backup) if rule and rule.backup else None
        esc.routed_to_backup = True
        esc.updated_at = now
        if backup is None:
            why = ("代替の連絡先なし" if level is not None
                   else f"レベル {esc.level} は routing.yaml にありません")
            _event(esc, None, "unacknowledged", now, detail=f"受付期限を過ぎました（{why}）")
        else:
            _event(esc, None, "rerouted", now,
                   detail=f"受付期限を過ぎたため {backup.name} へ")
            esc.acknowledge_by, _ = deadlines(level, now)
            _tell(session, routing, esc, backup, "backup", now)
        changed.append(esc.id)
    overdue = session.scalars(
        select(Escalation).where(Escalation.status.in_((OPEN, ACKNOWLEDGED)),
                                 Escalation.answer_by < now, Escalation.overdue.is_(False))
        .with_for_update(skip_locked=True)
    ).all()
    for esc in overdue:
        esc.overdue = True
        esc.updated_at = now
        _event(esc, None, "overdue", now, detail="回答期限を過ぎました")
        changed.append(esc.id)
    return changed


def similar_open(session: Session, query: str, limit: int = 5,
                 exclude: int | None = None) -> list[Escalation]:
    """Active escalations asking the same or nearly the same question, closest first."""
    key = question_key(query)
    if not key:
        return []
    rows = session.scalars(
        select(Escalation).where(Escalation.status.in_(ACTIVE)).order_by(Escalation.id.desc())
        .limit(2000)
    ).all()
    scored = [(similarity(key, e.normalized), e) for e in rows if e.id != exclude]
    scored = [(s, e) for s, e in scored if s >= SIMILAR_THRESHOLD]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return [e for _, e in scored[:limit]]


MAX_ID = 2**63 - 1  # the largest id a database integer holds


def get(session: Session, escalation_id: int) -> Escalation | None:
    """The escalation with this id, or None (also for an id no database could hold)."""
    if not 0 < escalation_id <= MAX_ID:
        return None
    return session.scalar(
        select(Escalation).where(Escalation.id == escalation_id)
        .options(selectinload(Escalation.events), selectinload(Escalation.calls))
    )


def involving(session: Session, user: User, since: datetime | None = None) -> list[Escalation]:
    """Escalations this operator opened or attached a call to, newest first."""
    attached = select(EscalationCall.escalation_id).where(EscalationCall.operator_id == user.id)
    query = select(Escalation).where(
        (Escalation.operator_id == user.id) | Escalation.id.in_(attached))
    if since is not None:
        query = query.where(Escalation.updated_at > since)
    return list(session.scalars(query.order_by(Escalation.updated_at.desc()).limit(100)))


def queue(session: Session, routing: Routing, status: tuple[str, ...] = ACTIVE,
          level: str | None = None, category: str | None = None,
          assignee: User | None = None) -> list[Escalation]:
    """The experts' queue: most urgent level first, then the nearest deadline."""
    query = select(Escalation).where(Escalation.status.in_(status))
    if level:
        query = query.where(Escalation.level == level)
    if category:
        query = query.where(Escalation.category == category)
    if assignee is not None:
        query = query.where(Escalation.assignee_id == assignee.id)
    rows = list(session.scalars(query.limit(1000)))
    rank = {lv.id: i for i, lv in enumerate(routing.levels)}

    def urgency(esc: Escalation):
        deadline = esc.acknowledge_by if esc.status == OPEN else esc.answer_by
        return (-rank.get(esc.level, -1), esc.status == ANSWERED, deadline)

    return sorted(rows, key=urgency)
