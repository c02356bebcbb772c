"""The payin state machine: examples from the protocol and properties over any report order."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkout.highhelp import statuses
from checkout.highhelp.statuses import (
    AWAITING_3DS_RESULT,
    DECLINE,
    INVALID_VERIFICATION,
    NEW,
    PAID,
    REQUISITES,
    SENT_VERIFICATION,
    SUCCESS,
    PayinState,
)
from checkout.payments import states
from checkout.payments.states import Outcome, apply_report

UNKNOWN_STATES = [
    PayinState("processing", "queued_at_operator"),
    PayinState("dispute", "no_payment"),
    PayinState("dispute", "different_amount"),
    PayinState("refund"),
    PayinState("processing"),
]
ANY_STATE = st.sampled_from([*statuses.KNOWN_STATES, *UNKNOWN_STATES])


def fold(reports: list[PayinState], start: PayinState = NEW) -> PayinState:
    state = start
    for report in reports:
        state = apply_report(state, report).state
    return state


@st.composite
def protocol_paths(draw: st.DrawFn) -> list[PayinState]:
    """A walk HighHelp itself could take, along PROTOCOL_TRANSITIONS, from new."""
    path = [NEW]
    for _ in range(draw(st.integers(0, 12))):
        successors = sorted(statuses.PROTOCOL_TRANSITIONS[path[-1]], key=lambda state: state.key)
        if not successors:
            break
        path.append(draw(st.sampled_from(successors)))
    return path


def test_the_happy_path_is_applied_step_by_step() -> None:
    state = NEW
    for report in (REQUISITES, AWAITING_3DS_RESULT, SENT_VERIFICATION, PAID, SUCCESS):
        transition = apply_report(state, report)
        assert transition.outcome is Outcome.APPLIED
        state = transition.state
    assert state == SUCCESS


def test_wrong_code_and_reentry_alternate() -> None:
    assert apply_report(SENT_VERIFICATION, INVALID_VERIFICATION).outcome is Outcome.APPLIED
    assert apply_report(INVALID_VERIFICATION, SENT_VERIFICATION).outcome is Outcome.APPLIED


def test_repeated_report_is_a_no_op() -> None:
    transition = apply_report(PAID, PAID)
    assert transition.outcome is Outcome.UNCHANGED
    assert not transition.changed


def test_informative_after_final_keeps_final() -> None:
    assert apply_report(SUCCESS, PAID) == states.Transition(Outcome.FINAL_KEPT, SUCCESS)
    assert apply_report(DECLINE, AWAITING_3DS_RESULT) == states.Transition(Outcome.FINAL_KEPT, DECLINE)


def test_contradicting_final_is_a_conflict_and_changes_nothing() -> None:
    assert apply_report(DECLINE, SUCCESS) == states.Transition(Outcome.CONFLICT, DECLINE)
    assert apply_report(SUCCESS, DECLINE) == states.Transition(Outcome.CONFLICT, SUCCESS)


def test_late_informative_report_is_stale() -> None:
    assert apply_report(PAID, REQUISITES) == states.Transition(Outcome.STALE, PAID)


def test_final_report_applies_even_when_steps_were_missed() -> None:
    assert apply_report(NEW, SUCCESS).state == SUCCESS
    assert apply_report(REQUISITES, DECLINE).state == DECLINE


@pytest.mark.parametrize("unknown", UNKNOWN_STATES, ids=lambda state: state.key)
def test_unknown_state_is_kept_but_never_final(unknown: PayinState) -> None:
    transition = apply_report(PAID, unknown)
    assert transition.state == unknown
    assert not transition.state.is_final
    assert apply_report(unknown, SUCCESS).state == SUCCESS


def test_state_key_round_trip() -> None:
    for state in [*statuses.KNOWN_STATES, *UNKNOWN_STATES]:
        assert PayinState.from_key(state.key) == state
    assert SUCCESS.key == "success"
    assert PAID.key == "processing:paid"


@given(st.lists(ANY_STATE, max_size=30))
def test_a_final_state_never_changes(reports: list[PayinState]) -> None:
    state = NEW
    for report in reports:
        after = apply_report(state, report).state
        if state.is_final:
            assert after == state
        state = after


@given(st.lists(ANY_STATE, max_size=30))
def test_success_only_through_a_reported_success(reports: list[PayinState]) -> None:
    first_final = next((report for report in reports if report.is_final), None)
    assert (fold(reports) == SUCCESS) == (first_final == SUCCESS)


@given(st.lists(ANY_STATE, max_size=30))
def test_the_state_is_always_the_start_or_something_reported(reports: list[PayinState]) -> None:
    assert fold(reports) in {NEW, *reports}


@given(st.lists(ANY_STATE, max_size=30), st.data())
def test_duplicated_reports_change_nothing(reports: list[PayinState], data: st.DataObject) -> None:
    duplicated = []
    for report in reports:
        duplicated.extend([report] * data.draw(st.integers(1, 3)))
    assert fold(duplicated) == fold(reports)


@given(protocol_paths())
def test_every_protocol_edge_is_applied_in_order(path: list[PayinState]) -> None:
    state = path[0]
    for report in path[1:]:
        transition = apply_report(state, report)
        assert transition.outcome is Outcome.APPLIED
        state = transition.state
    assert state == path[-1]


@given(protocol_paths(), st.randoms(use_true_random=False))
def test_reordered_delivery_ends_in_the_true_outcome(path: list[PayinState], rng: random.Random) -> None:
    delivered = path[1:]
    rng.shuffle(delivered)
    outcome = fold(delivered)
    if path[-1].is_final:
        assert outcome == path[-1]
    else:
        assert not outcome.is_final


def test_a_final_status_with_another_sub_status_changes_nothing() -> None:
    transition = apply_report(statuses.SUCCESS, PayinState("success", "ok"))
    assert (transition.outcome, transition.state) == (Outcome.UNCHANGED, statuses.SUCCESS)
    assert apply_report(statuses.SUCCESS, PayinState("decline", "operator")).outcome is Outcome.CONFLICT
