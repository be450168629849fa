"""A new case's transaction, when DynamoDB cancels it for a conflict (another transaction held the
area's counts item) or answers an error that leaves its outcome unknown: retried, stored once,
counted once, never partly. Simulated around moto, which does neither."""
from __future__ import annotations

from datetime import date

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib.adapters import repository
from chalicelib.adapters.tables import AuditEvent, CaseRecord, StatsRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)  # the clock fixture's London date


def cancelled(*codes: str) -> TransactWriteError:
    error = {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}}
    reasons = [CancellationReason(code=c) if c != "None" else None for c in codes]
    return TransactWriteError("Failed to write transaction items", VerboseClientError(error, "TransactWriteItems",
                                                                                     cancellation_reasons=reasons))


def failed(code: str) -> TransactWriteError:
    return TransactWriteError("Failed to write transaction items",
                              VerboseClientError({"Error": {"Code": code, "Message": "x"}}, "TransactWriteItems"))


@pytest.fixture
def commits(monkeypatch):
    """Script what each commit does: an exception to raise instead, ("after", exception) to commit
    and then raise (the outcome was unknown to the caller), or None to commit."""
    script: list = []
    real = repository.TransactWrite._commit
    calls = []

    def commit(self):
        calls.append(1)
        step = script.pop(0) if script else None
        if isinstance(step, tuple):
            real(self)
            raise step[1]
        if step is not None:
            raise step
        return real(self)

    monkeypatch.setattr(repository.TransactWrite, "_commit", commit)
    monkeypatch.setattr(repository.time, "sleep", lambda _seconds: None)
    return script, calls


def applications_counted() -> int:
    return sum(int(s.applications or 0) for s in StatsRecord.scan())


def count(model) -> int:
    return sum(1 for _ in model.scan())


def test_a_conflict_on_the_counts_is_retried_with_the_same_reference(intake, verified_senders, commits, monkeypatch):
    script, calls = commits
    script += [cancelled("None", "None", "TransactionConflict"), cancelled("TransactionConflict")]
    references = []
    real_reference = intake.make_reference
    monkeypatch.setattr(intake, "make_reference", lambda: references.append(real_reference()) or references[-1])
    created = intake.submit(example_application(TODAY), idempotency_header=None)
    assert len(calls) == 3 and len(references) == 1
    assert count(CaseRecord) == 1 and applications_counted() == 1
    assert CaseRecord.get(references[0]).ref == created.case.ref


def test_an_unknown_outcome_that_was_stored_is_not_stored_again(intake, verified_senders, commits):
    script, calls = commits
    script += [("after", failed("InternalServerError"))]
    created = intake.submit(example_application(TODAY), idempotency_header=None)
    assert len(calls) == 2  # the retry found its own case under the reference
    assert count(CaseRecord) == 1 and applications_counted() == 1 and count(AuditEvent) == 1
    assert created.case.ref == next(iter(CaseRecord.scan())).ref


def test_an_unknown_outcome_with_a_key_replays_the_stored_case(intake, verified_senders, commits):
    script, _ = commits
    script += [("after", failed("InternalServerError"))]
    created = intake.submit(example_application(TODAY), idempotency_header="retry-after-500")
    assert count(CaseRecord) == 1 and applications_counted() == 1
    assert created.case.ref == next(iter(CaseRecord.scan())).ref


def test_conflicts_that_outlast_the_retries_store_nothing(intake, verified_senders, commits):
    script, calls = commits
    script += [cancelled("TransactionConflict")] * 100
    with pytest.raises(repository.StoreBusy):
        intake.submit(example_application(TODAY), idempotency_header=None)
    assert len(calls) == repository.MAX_CONFLICT_ATTEMPTS
    assert count(CaseRecord) == 0 and applications_counted() == 0


def test_a_taken_reference_still_gets_another(intake, verified_senders, commits, monkeypatch):
    script, calls = commits
    script += [cancelled("ConditionalCheckFailed")]
    references = []
    real_reference = intake.make_reference
    monkeypatch.setattr(intake, "make_reference", lambda: references.append(real_reference()) or references[-1])
    intake.submit(example_application(TODAY), idempotency_header=None)
    assert len(references) == 2 and count(CaseRecord) == 1
