"""Gaps on a real SQLite file: escalations grouped by question (written the many ways callers
and operators write it), counted and sorted, and resolved together."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kb import gaps
from kb.escalations import question_similarity, question_words
from kb.models import Escalation, EscalationEvent, Gap
from kb.routing import DEFAULT_FILE, load
from tests.helpers import count, escalate, fetch, jst

NOW = jst(2026, 11, 23, 10, 0)
MIN = timedelta(minutes=1)


@pytest.fixture
def routing():
    return load(DEFAULT_FILE)


def gap_of(db, escalation_id: int) -> int:
    with db.read() as session:
        return session.get(Escalation, escalation_id).gap_id


# ---- the same question, written differently ------------------------------------------------

SAME = [
    ("パスワードを忘れました", "パスワード 忘れた"),        # ending and particle differ
    ("パスワードを忘れました", "ぱすわーど忘れた"),          # the word typed in hiragana
    ("パスワードを忘れてしまいました", "パスワード忘れ"),    # てしまう, noun form
    ("請求書を再発行したい", "請求書の再発行"),
    ("ログインできません", "ログインできない"),
    ("ＰＡＳＳＷＯＲＤを忘れた", "passwordを忘れました"),   # full width, case
]
DIFFERENT = [
    ("パスワードを忘れました", "暗証番号を忘れた"),
    ("解約したい", "機種変更したい"),
    ("海外で着信できない", "請求書の再発行"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_variants_of_one_question_are_close(a, b):
    assert question_similarity(a, b) >= gaps.GAP_THRESHOLD
    assert question_similarity(b, a) == question_similarity(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_questions_are_not(a, b):
    assert question_similarity(a, b) < gaps.GAP_THRESHOLD


def test_content_words_ignore_endings_and_particles():
    assert question_words("パスワードを忘れました") == question_words("パスワード 忘れた")
    assert question_words("パスワードを忘れました") == {"パスワード", "忘レル"}
    assert question_words("？？") == frozenset()


def test_variants_join_one_gap_and_others_start_their_own(db, routing, people):
    first = escalate(db, routing, people.op, "パスワードを忘れました", NOW)
    second = escalate(db, routing, people.op2, "パスワード 忘れた", NOW + MIN)
    third = escalate(db, routing, people.op, "ぱすわーど忘れた", NOW + 2 * MIN)
    other = escalate(db, routing, people.op, "暗証番号を忘れた", NOW + 3 * MIN)
    assert gap_of(db, first) == gap_of(db, second) == gap_of(db, third)
    assert gap_of(db, other) not in (None, gap_of(db, first))
    assert count(db, Gap) == 2
    with db.read() as session:
        gap = session.get(Gap, gap_of(db, first))
        assert gap.question == "パスワードを忘れました"  # the first wording names the gap


def test_an_escalation_with_only_a_note_joins_by_its_note(db, routing, people):
    a = escalate(db, routing, people.op, "", NOW, note="請求書を再発行したい")
    b = escalate(db, routing, people.op2, "請求書の再発行", NOW + MIN)
    assert gap_of(db, a) == gap_of(db, b)


def test_listing_sorts_by_count_then_level_and_counts_no_person(db, routing, people):
    for i, query in enumerate(["請求書の再発行", "請求書を再発行したい", "請求書 再発行"]):
        escalate(db, routing, people.op, query, NOW + i * MIN, category="料金・支払い")
    escalate(db, routing, people.op, "海外で着信できない", NOW, level="1")
    escalate(db, routing, people.op2, "海外で着信しない", NOW + MIN, level="3")
    escalate(db, routing, people.op, "解約したい", NOW, level="2")
    escalate(db, routing, people.op, "機種変更したい", NOW, level="1")
    with db.read() as session:
        listed = [(s.gap.question, s.count, s.level, s.categories)
                  for s in gaps.listing(session, routing)]
    assert listed == [
        ("請求書の再発行", 3, "1", ("料金・支払い",)),
        ("海外で着信できない", 2, "3", ()),
        ("解約したい", 1, "2", ()),
        ("機種変更したい", 1, "1", ()),
    ]


def test_resolving_a_gap_closes_its_open_escalations_as_transitions(db, routing, people):
    from kb import escalations as esc_core

    a = escalate(db, routing, people.op, "パスワードを忘れました", NOW)
    b = escalate(db, routing, people.op2, "パスワード 忘れた", NOW + MIN)
    c = escalate(db, routing, people.op, "パスワード忘れた", NOW + 2 * MIN)
    with db.write() as session:
        esc_core.transition(esc_core.get(session, c), people.sv, "close", NOW + 3 * MIN,
                            outcome="duplicate")
    gap_id = gap_of(db, a)
    later = NOW + 10 * MIN
    with db.write() as session:
        gap = session.get(Gap, gap_id)
        closed = gaps.resolve(session, gap, people.sv2, "article_created", "記事を作成しました",
                              later)
    assert sorted(closed) == [a, b]
    for esc_id in (a, b):
        esc = fetch(db, esc_id)
        assert esc.status == "closed" and esc.outcome == "article_created"
        last = esc.events[-1]
        assert (last.kind, last.actor_id, last.at, last.to_status) == (
            "closed", people.sv2.id, later, "closed")
    assert fetch(db, c).outcome == "duplicate"  # closed before: left as it was
    with db.read() as session:
        gap = session.get(Gap, gap_id)
        assert gap.resolved_at == later and "記事を作成しました" in gap.resolution
        assert gaps.listing(session, routing) == []
        assert [s.gap.id for s in gaps.listing(session, routing, resolved=True)] == [gap_id]
    # The same question asked again is a new gap: the old one was answered.
    again = escalate(db, routing, people.op, "パスワードを忘れました", later + MIN)
    assert gap_of(db, again) != gap_id


def test_a_resolved_gap_cannot_be_resolved_again_and_a_bad_outcome_stores_nothing(
        db, routing, people):
    a = escalate(db, routing, people.op, "パスワードを忘れました", NOW)
    gap_id = gap_of(db, a)
    before = count(db, EscalationEvent)
    with pytest.raises(gaps.GapError), db.write() as session:
        gaps.resolve(session, session.get(Gap, gap_id), people.sv, "whatever", "", NOW)
    assert count(db, EscalationEvent) == before and fetch(db, a).status == "open"
    with db.write() as session:
        gaps.resolve(session, session.get(Gap, gap_id), people.sv, "no_article_needed", "", NOW)
    with pytest.raises(gaps.GapError, match="解決済み"), db.write() as session:
        gaps.resolve(session, session.get(Gap, gap_id), people.sv, "duplicate", "", NOW)
    with db.read() as session:
        assert session.scalar(select(Gap.resolution).where(Gap.id == gap_id)) == "記事は不要"


def test_escalations_from_before_gaps_join_their_gaps_on_upgrade(db, routing, people):
    ids = [escalate(db, routing, people.op, q, NOW + i * MIN)
           for i, q in enumerate(["パスワードを忘れました", "解約したい", "パスワード 忘れた"])]
    with db.write() as session:  # as stored before gaps existed
        for esc in session.scalars(select(Escalation)):
            esc.gap_id = None
        session.flush()
        session.query(Gap).delete()
    with db.write() as session:
        assert gaps.assign_missing(session) == 3
    with db.write() as session:
        assert gaps.assign_missing(session) == 0  # safe to run again
    assert gap_of(db, ids[0]) == gap_of(db, ids[2]) != gap_of(db, ids[1])
    with db.read() as session:
        assert session.get(Gap, gap_of(db, ids[0])).created_at == NOW
