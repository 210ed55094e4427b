"""The escalation state machine on a real SQLite file: transitions and their history, attached
calls, duplicates of the same question, the experts' queue and the operator's own list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kb import escalations as esc_core
from kb.escalations import EscalationError, NewEscalation, TransitionError
from kb.models import Delivery, Escalation, EscalationCall, EscalationEvent
from kb.routing import DEFAULT_FILE, load
from tests.helpers import (
    count,
    escalate,
    fetch,
    jst,
)

NOW = jst(2026, 11, 23, 10, 0)  # a Monday, 10:00 in Tokyo
MIN = timedelta(minutes=1)


@pytest.fixture
def routing():
    return load(DEFAULT_FILE)


def act(db, escalation_id, actor, action, now, **kwargs) -> None:
    with db.write() as session:
        esc_core.transition(esc_core.get(session, escalation_id), actor, action, now, **kwargs)


def history(db, escalation_id) -> list[tuple]:
    return [(e.kind, e.actor_id, e.at, e.from_status, e.to_status)
            for e in fetch(db, escalation_id).events]


def snapshot(db, escalation_id) -> tuple:
    esc = fetch(db, escalation_id)
    return (esc.status, esc.assignee_id, esc.interim, esc.answer, esc.answered_at, esc.outcome,
            esc.updated_at, [(e.kind, e.at) for e in esc.events])


# ---- the life of one escalation ---------------------------------------------------------------

def test_create_acknowledge_answer_close_records_who_when_and_from_to(db, routing, people):
    esc_id = escalate(db, routing, people.op, "解約後にポイントは残りますか", NOW,
                      note="お客様は来月解約予定")
    created = fetch(db, esc_id)
    assert created.status == "open"
    assert created.operator_id == people.op.id
    assert created.acknowledge_by == NOW + 30 * MIN  # level 1: 30 minutes to take it
    assert created.answer_by == NOW + 240 * MIN
    assert created.contact == "sv-desk"

    act(db, esc_id, people.sv, "acknowledge", NOW + 2 * MIN)
    assert fetch(db, esc_id).status == "acknowledged"
    act(db, esc_id, people.sv, "answer", NOW + 20 * MIN, text="ポイントは解約と同時に失効します。")
    act(db, esc_id, people.sv2, "close", NOW + 30 * MIN, outcome="article_created")

    esc = fetch(db, esc_id)
    assert esc.status == "closed"
    assert esc.answer == "ポイントは解約と同時に失効します。"
    assert esc.answered_at == NOW + 20 * MIN
    assert esc.outcome == "article_created"
    assert esc.assignee_id == people.sv.id  # closing does not take it from the one who answered
    assert esc.updated_at == NOW + 30 * MIN
    assert history(db, esc_id) == [
        ("created", people.op.id, NOW, None, "open"),
        ("routed", None, NOW, None, None),
        ("acknowledged", people.sv.id, NOW + 2 * MIN, "open", "acknowledged"),
        ("answered", people.sv.id, NOW + 20 * MIN, "acknowledged", "answered"),
        ("closed", people.sv2.id, NOW + 30 * MIN, "answered", "closed"),
    ]
    assert "SVデスク" in fetch(db, esc_id).events[1].detail


def test_answering_an_open_escalation_takes_it(db, routing, people):
    esc_id = escalate(db, routing, people.op, "海外から電話できますか", NOW)
    act(db, esc_id, people.sv, "answer", NOW + 5 * MIN, text="国際ローミングの設定が必要です。")
    esc = fetch(db, esc_id)
    assert (esc.status, esc.assignee_id) == ("answered", people.sv.id)
    assert history(db, esc_id)[-1] == ("answered", people.sv.id, NOW + 5 * MIN, "open", "answered")


def test_interim_answer_is_shown_while_the_escalation_stays_open_for_the_final_one(
        db, routing, people):
    esc_id = escalate(db, routing, people.op, "請求額が先月の倍になっている", NOW)
    act(db, esc_id, people.sv, "answer", NOW + 3 * MIN, text="確認中です。折り返しの旨お伝えください。",
        interim=True)
    esc = fetch(db, esc_id)
    assert esc.status == "acknowledged"  # taken, not yet answered
    assert esc.interim == "確認中です。折り返しの旨お伝えください。"
    assert esc.answer is None and esc.answered_at is None
    assert esc.assignee_id == people.sv.id
    assert history(db, esc_id)[-1] == (
        "interim", people.sv.id, NOW + 3 * MIN, "open", "acknowledged")

    act(db, esc_id, people.sv, "answer", NOW + 9 * MIN, text="更新した暫定回答", interim=True)
    act(db, esc_id, people.sv, "answer", NOW + 15 * MIN, text="端末代金の分割が始まったためです。")
    esc = fetch(db, esc_id)
    assert esc.status == "answered"
    assert esc.interim == "更新した暫定回答"
    assert esc.answer == "端末代金の分割が始まったためです。"
    assert [e.kind for e in esc.events][-3:] == ["interim", "interim", "answered"]


def test_an_answer_can_be_corrected_and_the_correction_is_recorded(db, routing, people):
    esc_id = escalate(db, routing, people.op, "機種変更でデータは移せますか", NOW)
    act(db, esc_id, people.sv, "answer", NOW + MIN, text="移せます。")
    act(db, esc_id, people.sv2, "answer", NOW + 2 * MIN, text="移せます（写真は除く）。")
    esc = fetch(db, esc_id)
    assert esc.answer == "移せます（写真は除く）。"
    assert esc.answered_at == NOW + 2 * MIN
    assert history(db, esc_id)[-1] == (
        "answered", people.sv2.id, NOW + 2 * MIN, "answered", "answered")


# ---- what cannot be done, and leaves everything as it was -------------------------------------

REACH = {
    "open": [],
    "acknowledged": [("acknowledge", {})],
    "answered": [("answer", {"text": "回答です。"})],
    "closed": [("close", {"outcome": "duplicate"})],
}
NOT_ALLOWED = [
    ("acknowledged", "acknowledge", {}),
    ("answered", "acknowledge", {}),
    ("answered", "answer", {"text": "後から暫定回答", "interim": True}),
    ("closed", "acknowledge", {}),
    ("closed", "answer", {"text": "完了後の回答"}),
    ("closed", "answer", {"text": "完了後の暫定回答", "interim": True}),
    ("closed", "close", {"outcome": "no_article_needed"}),
    ("open", "reopen", {}),
]


@pytest.mark.parametrize(("state", "action", "kwargs"), NOT_ALLOWED,
                         ids=[f"{s}-{a}{'-interim' if k.get('interim') else ''}"
                              for s, a, k in NOT_ALLOWED])
def test_a_disallowed_transition_raises_and_changes_nothing(db, routing, people, state, action,
                                                            kwargs):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", NOW)
    for step, step_kwargs in REACH[state]:
        act(db, esc_id, people.sv, step, NOW + MIN, **step_kwargs)
    before = snapshot(db, esc_id)

    # The caller goes on and commits: the refused transition must not have touched anything.
    with db.write() as session:
        esc = esc_core.get(session, esc_id)
        with pytest.raises(TransitionError):
            esc_core.transition(esc, people.sv2, action, NOW + 10 * MIN, **kwargs)
    assert snapshot(db, esc_id) == before


INVALID = [
    ("answer", {"text": ""}, "回答を入力"),
    ("answer", {"text": "  \n "}, "回答を入力"),
    ("answer", {"text": "あ" * (esc_core.MAX_ANSWER + 1)}, str(esc_core.MAX_ANSWER)),
    ("close", {}, "完了の理由"),
    ("close", {"outcome": "forgotten"}, "完了の理由"),
]


@pytest.mark.parametrize(("action", "kwargs", "message"), INVALID,
                         ids=["empty-answer", "blank-answer", "long-answer", "no-outcome",
                              "unknown-outcome"])
def test_an_invalid_answer_or_close_raises_and_changes_nothing(db, routing, people, action,
                                                               kwargs, message):
    esc_id = escalate(db, routing, people.op, "解約金はいくらですか", NOW)
    act(db, esc_id, people.sv, "acknowledge", NOW + MIN)
    before = snapshot(db, esc_id)
    with db.write() as session, pytest.raises(EscalationError, match=message):
        esc_core.transition(esc_core.get(session, esc_id), people.sv, action,
                            NOW + 2 * MIN, **kwargs)
    assert snapshot(db, esc_id) == before


# ---- creating: what is refused stores nothing --------------------------------------------------

REFUSED = [
    (NewEscalation("パスワードを忘れた", "9"), "レベルは"),
    (NewEscalation("パスワードを忘れた", ""), "レベルは"),
    (NewEscalation("", "1"), "質問かメモ"),
    (NewEscalation(" \n\t", "1", note="   "), "質問かメモ"),
    (NewEscalation("パスワードを忘れた", "1", note="あ" * (esc_core.MAX_NOTE + 1)), "4000"),
    (NewEscalation("あ" * (esc_core.MAX_QUERY + 1), "1"), str(esc_core.MAX_QUERY)),
    (NewEscalation("パスワードを忘れた", "1", category="カ" * 101), "カテゴリ"),
]


@pytest.mark.parametrize(("request_", "message"), REFUSED,
                         ids=["unknown-level", "no-level", "empty", "blank", "long-note",
                              "long-query", "long-category"])
def test_a_refused_escalation_stores_nothing(db, routing, people, request_, message):
    # The session is committed after the refusal: nothing may have been left in it.
    with db.write() as session, pytest.raises(EscalationError, match=message):
        esc_core.create(session, routing, people.op, request_, NOW)
    assert [count(db, model) for model in (Escalation, EscalationEvent, Delivery)] == [0, 0, 0]


def test_the_unknown_level_message_names_the_levels_there_are(db, routing, people):
    with db.write() as session, pytest.raises(EscalationError) as refused:
        esc_core.create(session, routing, people.op, NewEscalation("質問", "緊急"), NOW)
    assert all(f"{level.id}（{level.name}）" in str(refused.value) for level in routing.levels)


def test_a_note_of_exactly_the_limit_and_a_note_without_query_are_accepted(db, routing, people):
    full = escalate(db, routing, people.op, "質問", NOW, note="あ" * esc_core.MAX_NOTE)
    assert len(fetch(db, full).note) == esc_core.MAX_NOTE
    note_only = escalate(db, routing, people.op, "", NOW, note="お客様の声: 料金が高い")
    assert fetch(db, note_only).normalized  # still comparable for duplicates


# ---- more calls about the same question ---------------------------------------------------------

def test_attaching_a_call_records_it_and_shows_the_escalation_to_that_operator(
        db, routing, people):
    esc_id = escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    with db.write() as session:
        esc_core.attach(session, esc_core.get(session, esc_id), people.op2,
                        "ﾊﾟｽﾜｰﾄﾞ 忘れた", "2件目の問い合わせ", NOW + 4 * MIN)
    esc = fetch(db, esc_id)
    assert [(c.operator_id, c.query, c.note, c.at) for c in esc.calls] == [
        (people.op2.id, "ﾊﾟｽﾜｰﾄﾞ 忘れた", "2件目の問い合わせ", NOW + 4 * MIN)]
    assert esc.status == "open"
    assert esc.updated_at == NOW + 4 * MIN  # the operators' live lists pick it up
    assert history(db, esc_id)[-1] == ("attached", people.op2.id, NOW + 4 * MIN, None, None)
    with db.read() as session:
        assert [e.id for e in esc_core.involving(session, people.op2)] == [esc_id]


def test_a_closed_escalation_refuses_more_calls(db, routing, people):
    esc_id = escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    act(db, esc_id, people.sv, "close", NOW + MIN, outcome="no_article_needed")
    before = snapshot(db, esc_id)
    with db.write() as session, pytest.raises(TransitionError, match="完了"):
        esc_core.attach(session, esc_core.get(session, esc_id), people.op2,
                        "パスワードを忘れた", "", NOW + 2 * MIN)
    assert count(db, EscalationCall) == 0
    assert snapshot(db, esc_id) == before


def test_an_oversized_note_on_an_attached_call_stores_nothing(db, routing, people):
    esc_id = escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    before = snapshot(db, esc_id)
    with db.write() as session, pytest.raises(EscalationError, match="4000"):
        esc_core.attach(session, esc_core.get(session, esc_id), people.op2,
                        "パスワード", "あ" * 4001, NOW + MIN)
    assert count(db, EscalationCall) == 0
    assert snapshot(db, esc_id) == before


def similar(db, query, exclude=None) -> list[str]:
    with db.read() as session:
        return [e.query for e in esc_core.similar_open(session, query, exclude=exclude)]


@pytest.mark.parametrize("variant", [
    "パスワードを忘れた",
    "ﾊﾟｽﾜｰﾄﾞ 忘れた",
    "ぱすわーどを忘れた",
    "パスワードを忘れた。",
    "パスワード　を　忘れた！",
])
def test_similar_open_finds_the_same_question_typed_another_way(db, routing, people, variant):
    escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    escalate(db, routing, people.op, "請求書を再発行してほしい", NOW)
    escalate(db, routing, people.op, "パスワードの変更方法", NOW)
    assert similar(db, variant) == ["パスワードを忘れた"]


def test_similar_open_ignores_case_and_width_of_latin_letters(db, routing, people):
    escalate(db, routing, people.op, "Wi-Fiがつながらない", NOW)
    assert similar(db, "ＷＩＦＩ　が　ツナガラナイ") == ["Wi-Fiがつながらない"]
    assert similar(db, "wifi つながらない") == ["Wi-Fiがつながらない"]
    assert similar(db, "Bluetoothがつながらない") == []


def test_similar_open_leaves_out_closed_and_unrelated_escalations(db, routing, people):
    closed = escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    act(db, closed, people.sv, "close", NOW + MIN, outcome="duplicate")
    answered = escalate(db, routing, people.op, "パスワードを忘れました", NOW + 2 * MIN)
    act(db, answered, people.sv, "answer", NOW + 3 * MIN, text="再設定の手順をご案内します。")
    escalate(db, routing, people.op, "解約したい", NOW)
    assert similar(db, "パスワードを忘れました") == ["パスワードを忘れました"]  # answered, still open
    assert similar(db, "パスワードを忘れました", exclude=answered) == []
    assert similar(db, "料金プランを変えたい") == []
    assert similar(db, "") == [] and similar(db, "！？") == []


def test_similar_open_lists_the_closest_question_first(db, routing, people):
    escalate(db, routing, people.op, "パスワードを忘れたのでログインできない", NOW)
    escalate(db, routing, people.op, "パスワードを忘れた", NOW)
    found = similar(db, "パスワードを忘れた")
    assert found[0] == "パスワードを忘れた"


# ---- the experts' queue ---------------------------------------------------------------------------

def queue_of(db, routing, **filters) -> list[str]:
    with db.read() as session:
        return [e.query for e in esc_core.queue(session, routing, **filters)]


def test_queue_puts_the_most_urgent_level_first_then_the_nearest_deadline(db, routing, people):
    escalate(db, routing, people.op, "通常・期限30分後", NOW, level="1")
    escalate(db, routing, people.op, "緊急・期限6分後", NOW + MIN, level="3")
    escalate(db, routing, people.op, "至急・期限10分後", NOW, level="2")
    escalate(db, routing, people.op, "緊急・期限5分後", NOW, level="3")
    escalate(db, routing, people.op, "通常・期限10分後", NOW - 20 * MIN, level="1")
    done = escalate(db, routing, people.op, "緊急・完了済み", NOW - MIN, level="3")
    act(db, done, people.sv, "close", NOW, outcome="duplicate")
    assert queue_of(db, routing) == [
        "緊急・期限5分後", "緊急・期限6分後", "至急・期限10分後", "通常・期限10分後", "通常・期限30分後",
    ]


def test_queue_filters_by_level_category_and_assignee(db, routing, people):
    escalate(db, routing, people.op, "料金の質問", NOW, level="1", category="料金・支払い")
    taken = escalate(db, routing, people.op, "端末の質問", NOW, level="1", category="端末・故障")
    other = escalate(db, routing, people.op, "至急の質問", NOW, level="2", category="端末・故障")
    act(db, taken, people.sv, "acknowledge", NOW + MIN)
    act(db, other, people.sv2, "acknowledge", NOW + MIN)
    assert queue_of(db, routing, level="1") == ["料金の質問", "端末の質問"]
    assert queue_of(db, routing, category="端末・故障") == ["至急の質問", "端末の質問"]
    assert queue_of(db, routing, assignee=people.sv) == ["端末の質問"]
    assert queue_of(db, routing, level="3") == []


def test_queue_shows_answered_escalations_after_those_still_waiting(db, routing, people):
    answered = escalate(db, routing, people.op, "回答済み", NOW, level="3")
    act(db, answered, people.sv, "answer", NOW + MIN, text="回答です。")
    escalate(db, routing, people.op, "未対応", NOW + 2 * MIN, level="3")
    assert queue_of(db, routing) == ["未対応", "回答済み"]
    assert queue_of(db, routing, status=("answered",)) == ["回答済み"]


# ---- the operator's own escalations -------------------------------------------------------------

def test_involving_lists_own_and_attached_escalations_newest_change_first(db, routing, people):
    own = escalate(db, routing, people.op, "自分の質問", NOW)
    theirs = escalate(db, routing, people.op2, "同僚の質問", NOW + MIN)
    escalate(db, routing, people.op2, "同僚だけの質問", NOW + 2 * MIN)
    with db.write() as session:
        esc_core.attach(session, esc_core.get(session, theirs), people.op, "同じ質問", "",
                        NOW + 3 * MIN)
    with db.read() as session:
        assert [e.id for e in esc_core.involving(session, people.op)] == [theirs, own]

    act(db, own, people.sv, "answer", NOW + 10 * MIN, text="回答です。")
    with db.read() as session:
        assert [e.id for e in esc_core.involving(session, people.op)] == [own, theirs]
        changed = esc_core.involving(session, people.op, since=NOW + 5 * MIN)
        assert [(e.id, e.answer) for e in changed] == [(own, "回答です。")]
        assert esc_core.involving(session, people.sv) == []
