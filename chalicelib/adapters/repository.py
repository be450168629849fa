"""Case storage in DynamoDB. Every state change is one transaction: the case, its audit event,
the letters it produces (the outbox) and, for a new case, the idempotency record. Either all
of it is stored or none of it."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from .limits import SizedTransactWrite as TransactWrite  # refuses oversize items before DynamoDB does

from .tables import (
    AuditEvent,
    CaseRecord,
    CaseViewRecord,
    EqualitiesRecord,
    IdempotencyRecord,
    LetterRecord,
    NoticeRecord,
    PartnerRequestRecord,
    PartnerReturnRecord,
    SearchTermRecord,
    StatsRecord,
)

IDEMPOTENCY_TTL = timedelta(days=7)
# Applications whose complaints no longer count for the several-complainants rule.
IGNORED_FOR_MATTER = ("rejected", "withdrawn")
MAX_REFERENCE_ATTEMPTS = 5
# A transaction DynamoDB cancels only because another one was writing the same item at that moment
# (TransactionConflict: typically the area's published-counts item, which every application adds
# to) wrote nothing and is retried unchanged, with jittered exponential backoff, within a bound.
# The bound is generous (well inside API Gateway's 29 s) because DynamoDB Local, under a burst of
# 100 applications, fails transactions for a while; in AWS a retry or two is the most one sees.
MAX_CONFLICT_ATTEMPTS = 15
CONFLICT_BUDGET_SECONDS = 15.0
CONFLICT_BASE_DELAY = 0.05
CONFLICT_MAX_DELAY = 2.0
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# Errors after which the transaction may or may not have been applied (DynamoDB Local answers
# InternalServerError "Failed to write transaction items" to some of many concurrent transactions):
# sent again unchanged, its conditions tell which.
UNCERTAIN_ERRORS = frozenset({"InternalServerError", "ServiceUnavailable", "ThrottlingException",
                              "RequestLimitExceeded", "TransactionInProgressException"})

log = logging.getLogger(__name__)


def cancellation_codes(exc: TransactWriteError) -> set[str]:
    """Why DynamoDB cancelled the transaction, one code per item that caused it."""
    return {r.code for r in exc.cancellation_reasons if r is not None and r.code and r.code != "None"}


def only_conflicts(exc: TransactWriteError) -> bool:
    """Cancelled only because other transactions held items just then: nothing was written, and
    the same transaction may succeed if sent again. (No reasons at all: treat as a real refusal.)"""
    if exc.cause_response_code != "TransactionCanceledException":
        return False
    codes = cancellation_codes(exc)
    return bool(codes) and codes <= RETRYABLE_REASONS


def _why(exc: TransactWriteError) -> str:
    return ",".join(sorted(cancellation_codes(exc))) or str(exc.cause_response_code)


def worth_retrying(exc: TransactWriteError) -> bool:
    return only_conflicts(exc) or exc.cause_response_code in UNCERTAIN_ERRORS


class StoreBusy(Exception):
    """Other writes kept conflicting with this one for longer than the retry budget; nothing was
    written. Answer 503 with Retry-After: sending the same request again is safe."""


class _Backoff:
    """Full-jitter exponential backoff, bounded in attempts and in time."""

    def __init__(self) -> None:
        self.attempts = 0
        self.deadline = time.monotonic() + CONFLICT_BUDGET_SECONDS

    def wait(self) -> bool:
        """Sleep before the next attempt; False when the budget is spent (do not retry)."""
        self.attempts += 1
        left = self.deadline - time.monotonic()
        if self.attempts >= MAX_CONFLICT_ATTEMPTS or left <= 0:
            return False
        time.sleep(min(left, random.uniform(0, min(CONFLICT_MAX_DELAY, CONFLICT_BASE_DELAY * 2 ** self.attempts))))
        return True


def _commit_retrying_conflicts(write: Callable[[TransactWrite], None], connection: Connection, what: str) -> None:
    """Build and commit a transaction, again (rebuilt from the same models) while it is cancelled
    only by conflicts, or after an error that leaves the outcome unknown. Version attributes move
    only after a commit, so a rebuild is identical, and if the unknown attempt was applied, the
    retry's version condition fails: the caller sees a conflict (409), never a double write.
    Raises the last TransactWriteError if conflicts outlast the budget, or any other refusal at once."""
    backoff = _Backoff()
    while True:
        try:
            with TransactWrite(connection=connection) as tx:
                write(tx)
            return
        except TransactWriteError as exc:
            if worth_retrying(exc):
                log.info("transaction_retry", extra={"step": what, "error": _why(exc)})
            if not worth_retrying(exc) or not backoff.wait():
                if worth_retrying(exc):
                    log.warning("transaction_conflicts_outlasted_retries", extra={"step": what, "count": backoff.attempts})
                raise


@dataclass(frozen=True)
class CountChange:
    """What a step adds to the published counts, and the area-year it counts in."""

    area: str
    year: int
    counts: tuple[str, ...]
    at: str
    appends: tuple[tuple[str, int], ...] = ()  # (list field, value): e.g. a decision's working days


def _add_counts(tx: TransactWrite, change: CountChange | None) -> None:
    if change is None or not (change.counts or change.appends):
        return
    actions: list[Any] = [getattr(StatsRecord, name).add(1) for name in change.counts]
    values: dict[str, list[int]] = {}
    for name, value in change.appends:
        values.setdefault(name, []).append(value)
    for name, new in values.items():
        # SET f = list_append(if_not_exists(f, []), [n]): plain UpdateExpression, so DynamoDB Local
        # and moto do the same; the list starts on the first decision of the area-year.
        attr = getattr(StatsRecord, name)
        actions.append(attr.set((attr | []).append(new)))
    actions.append(StatsRecord.updated_at.set(change.at))
    tx.update(StatsRecord(change.area, change.year), actions=actions)  # creates the area-year on first use


@dataclass
class NewCase:
    """Everything a new case writes at once. Built for one reference; rebuilt if it collides."""

    case: CaseRecord
    audit: AuditEvent
    letters: list[LetterRecord]
    equalities: EqualitiesRecord | None = None
    requests: list[PartnerRequestRecord] = field(default_factory=list)
    counts: CountChange | None = None
    terms: list[SearchTermRecord] = field(default_factory=list)  # what the case can be searched by


@dataclass(frozen=True)
class IdempotencyKey:
    key_hash: str
    request_hash: str


@dataclass
class Created:
    case: CaseRecord
    letters: list[LetterRecord]
    replayed: bool = False


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


class ReferenceExhausted(Exception):
    """Could not find an unused reference: the random source is broken."""


@dataclass
class CaseRepository:
    region: str = field(default_factory=lambda: CaseRecord.Meta.region)

    def _connection(self) -> Connection:
        # The case table's connection, shared: its botocore client is thread-safe, and building a
        # new session and client for every transaction costs CPU and memory with each request
        # (hundreds of MB when many run at once). tables.reset_connections() renews it.
        # host=None lets botocore honour AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local under `make run`).
        if self.region == CaseRecord.Meta.region:
            return CaseRecord._get_connection().connection  # noqa: SLF001
        return Connection(region=self.region)

    def create_case(
        self,
        build: Callable[[str], NewCase],
        new_reference: Callable[[], str],
        idempotency: IdempotencyKey | None,
        now: datetime,
    ) -> Created:
        """Store a new case under a fresh, unused reference; replay if the key was seen before.
        The key is not read first: the transaction's condition on it is the check, and a retried
        request (rare) is answered from the stored case once the transaction is refused. So a new
        application costs one write, not a read and a write."""
        backoff = _Backoff()
        references_tried = 0
        new: NewCase | None = None
        uncertain = False  # an earlier attempt with this reference may have been stored
        while True:
            if new is None:
                if references_tried >= MAX_REFERENCE_ATTEMPTS:
                    raise ReferenceExhausted("no unused reference after several attempts")
                references_tried += 1
                ref = new_reference()
                new = build(ref)
                uncertain = False
            try:
                with TransactWrite(connection=self._connection()) as tx:
                    tx.save(new.case, condition=CaseRecord.ref.does_not_exist())
                    tx.save(new.audit, condition=AuditEvent.ref.does_not_exist())
                    for letter in new.letters:
                        tx.save(letter, condition=LetterRecord.ref.does_not_exist())
                    for request in new.requests:
                        tx.save(request, condition=PartnerRequestRecord.ref.does_not_exist())
                    _add_counts(tx, new.counts)
                    for term in new.terms:  # keyed by (term, ref): the same item if written again
                        tx.save(term)
                    if new.equalities is not None:
                        tx.save(new.equalities, condition=EqualitiesRecord.ref.does_not_exist())
                    if idempotency:
                        tx.save(
                            IdempotencyRecord(
                                idempotency.key_hash,
                                request_hash=idempotency.request_hash,
                                ref=ref,
                                created_at=new.case.received_at,
                                expires_at=now + IDEMPOTENCY_TTL,
                            ),
                            condition=IdempotencyRecord.key_hash.does_not_exist(),
                        )
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException" and not worth_retrying(exc):
                    raise
                # Cancelled: nothing was written. A concurrent retry with the same key may have won
                # the race: answer as it did.
                if idempotency:
                    replay = self._replay(idempotency)
                    if replay:
                        return replay
                if worth_retrying(exc):
                    # Another transaction held an item (the area's counts, or this key's record
                    # while a concurrent retry was being stored), or the outcome is unknown: the
                    # same write, same reference, a moment later.
                    uncertain = uncertain or not only_conflicts(exc)
                    log.info("transaction_retry", extra={"step": "create_case", "error": _why(exc)})
                    if not backoff.wait():
                        log.warning("create_case_retries_exhausted", extra={"count": backoff.attempts,
                                                                             "error": exc.cause_response_code})
                        raise StoreBusy("the case could not be stored in time; nothing new was stored") from exc
                    continue
                if uncertain:
                    stored = self._stored_as_built(new)
                    if stored is not None:  # the uncertain attempt was applied after all
                        return Created(case=stored, letters=new.letters)
                new = None  # the reference is taken: another one
                continue
            return Created(case=new.case, letters=new.letters)

    def _stored_as_built(self, new: NewCase) -> CaseRecord | None:
        """The case under new's reference, if it is this very application (not another's)."""
        stored = self.get_case(new.case.ref)
        if stored is not None and stored.received_at == new.case.received_at and stored.application == new.case.application:
            return stored
        return None

    def _replay(self, key: IdempotencyKey) -> Created | None:
        try:
            record = IdempotencyRecord.get(key.key_hash, consistent_read=True)
        except DoesNotExist:
            return None
        if record.request_hash != key.request_hash:
            raise IdempotencyConflict()
        case = CaseRecord.get(record.ref, consistent_read=True)
        return Created(case=case, letters=self.letters(record.ref), replayed=True)

    def get_case(self, ref: str) -> CaseRecord | None:
        try:
            return CaseRecord.get(ref, consistent_read=True)
        except DoesNotExist:
            return None

    def letters(self, ref: str) -> list[LetterRecord]:
        return list(LetterRecord.query(ref, consistent_read=True))

    def audit(self, ref: str) -> list[AuditEvent]:
        return list(AuditEvent.query(ref, consistent_read=True))

    def save_step(self, *, case: CaseRecord, audit: AuditEvent, letters: list[LetterRecord], items: list[Any],
                  counts: CountChange | None = None) -> None:
        """A staff step in one transaction. The case is saved with its version condition, so a
        concurrent change makes this fail (TransactWriteError) and nothing is written. A mere
        conflict (an application adding to the same area's counts just then) is retried first."""

        def write(tx: TransactWrite) -> None:
            tx.save(case)
            tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())
            for item in items:
                tx.save(item)
            _add_counts(tx, counts)

        _commit_retrying_conflicts(write, self._connection(), "save_step")

    def create_staff_case(self, *, case: CaseRecord, audit: AuditEvent, letters: list[LetterRecord],
                          counts: CountChange | None, terms: list[SearchTermRecord] = ()) -> None:
        """A case staff open themselves (an agency-started review): one transaction, under a reference
        that must still be unused, with what it can be searched by."""

        def write(tx: TransactWrite) -> None:
            tx.save(case, condition=CaseRecord.ref.does_not_exist())
            tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())
            for term in terms:
                tx.save(term)
            _add_counts(tx, counts)

        _commit_retrying_conflicts(write, self._connection(), "create_staff_case")

    def cancel_letter(self, letter: LetterRecord, why: str) -> bool:
        """A pending email that must not go (its partner request closed, its link withdrawn): out of the
        retry index for good, with the reason."""
        try:
            letter.update(actions=[LetterRecord.status.set("cancelled"), LetterRecord.last_error.set(why[:500]),
                                   LetterRecord.retry_area.remove(), LetterRecord.retry_at.remove()],
                          condition=LetterRecord.status == "pending")
        except UpdateError:
            return False
        letter.status = "cancelled"
        return True

    def mark_printed(self, letter: LetterRecord, at: str, *, html: str, text: str) -> None:
        """Out of the print queue (the sparse index) once staff have posted it, dated that day."""
        letter.update(actions=[LetterRecord.status.set("printed"), LetterRecord.sent_at.set(at),
                               LetterRecord.print_area.remove(), LetterRecord.html.set(html),
                               LetterRecord.text.set(text)],
                      condition=LetterRecord.status == "print_queued")

    # ---------------------------------------------------------------- partner requests and returns

    def get_request(self, ref: str, request_id: str) -> PartnerRequestRecord | None:
        try:
            return PartnerRequestRecord.get(ref, request_id, consistent_read=True)
        except DoesNotExist:
            return None

    def record_view(self, ref: str, *, at: str, subject: str, actor: str, what: str) -> None:
        """Who looked at the case (or one of its letters) and when: one PutItem, no read."""
        CaseViewRecord(ref, f"{at}#{subject}#{what}", at=at, actor=actor, what=what).save()

    def recent_views(self, ref: str, limit: int = 20) -> list[CaseViewRecord]:
        """The latest views of the case, newest first: one query of at most `limit` items."""
        return list(CaseViewRecord.query(ref, scan_index_forward=False, limit=limit, consistent_read=True))

    def requests(self, ref: str) -> list[PartnerRequestRecord]:
        return list(PartnerRequestRecord.query(ref, consistent_read=True))

    def latest_returns(self, ref: str) -> dict[str, PartnerReturnRecord]:
        """The newest version of each partner's return (versions sort by their zero-padded key)."""
        latest: dict[str, PartnerReturnRecord] = {}
        for record in PartnerReturnRecord.query(ref, consistent_read=True):
            latest[record.request_id] = record
        return latest

    def record_token_hash(self, request: PartnerRequestRecord, token_hash: str, replacing: str | None = None) -> None:
        """Store the hash of the link being sent. The token is deterministic, so a resend stores the
        same hash; a different one means the nonce changed (revoked) and the update is refused.
        `replacing`: the hash of a link signed with a key the secret no longer holds (two rotations
        ago), which this one replaces, if it is still the one stored."""
        condition = PartnerRequestRecord.token_hash.does_not_exist() | (PartnerRequestRecord.token_hash == token_hash)
        if replacing:
            condition = condition | (PartnerRequestRecord.token_hash == replacing)
        request.update(actions=[PartnerRequestRecord.token_hash.set(token_hash)], condition=condition,
                       add_version_condition=False)

    def revoke_link(self, request: PartnerRequestRecord) -> None:
        request.update(actions=[PartnerRequestRecord.status.set("revoked")])

    def store_return(self, *, case: CaseRecord, request: PartnerRequestRecord, record: PartnerReturnRecord,
                     audit: AuditEvent, letters: list[LetterRecord]) -> None:
        """One transaction: the new version, the request's state, the case's assessment (optimistic
        lock on both), the audit event and any notification. Raises TransactWriteError on a race
        (after retrying a mere conflict, when the race's outcome is not yet known)."""

        def write(tx: TransactWrite) -> None:
            tx.save(record, condition=PartnerReturnRecord.ref.does_not_exist())
            tx.save(request)  # version-checked: a concurrent amendment of the same return loses
            tx.save(case)  # version-checked: a concurrent return from another partner loses
            tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())

        _commit_retrying_conflicts(write, self._connection(), "store_return")

    MATTER_PAGE = 25  # applications per page of the matter index
    MATTER_MAX_READ = 200  # never more than 8 pages, however many applications one place has

    def matter_history(self, matter: str, ref: str | None, since: str, *,
                       enough: int | None = None) -> tuple[list[str], str | None]:
        """Other applications about the same matter: the people who made qualifying complaints in
        those received since a date (as stored at intake: "<hashed identity>|<latest complaint>"),
        and the date of the latest outcome letter (which restarts the count). Reads only the
        indexes, never the cases: the newest outcome letter, one item; then the look-back window
        newest first, a page at a time, stopping once `enough` different people are known whose
        complaints fall after `since` and after that letter (0: the rule is not used, read none).
        Rejected and withdrawn applications are left out: they are no longer complaints in play."""
        last_outcome: str | None = None
        for key in CaseRecord.by_matter_outcome.query(matter, scan_index_forward=False, page_size=2, limit=2):
            if key.ref != ref:  # newest first: the first other case's letter is the latest
                last_outcome = key.outcome_sent_on
                break
        people: list[str] = []
        if enough is None or enough > 0:
            known: set[str] = set()
            # An application received on or before the latest outcome letter holds only complaints
            # made by then, which the letter has set aside: start after it when it is in the window.
            start = CaseRecord.received_on > last_outcome if last_outcome and last_outcome >= since else \
                CaseRecord.received_on >= since
            pages = CaseRecord.by_matter.query(matter, start, scan_index_forward=False,
                                               page_size=self.MATTER_PAGE, limit=self.MATTER_MAX_READ)
            for key in pages:
                if key.ref == ref or key.status in IGNORED_FOR_MATTER:
                    continue
                # A case stored before `complainants` existed: unknown people, counted as none.
                entries = sorted(key.complainants or ())
                people.extend(entries)
                for entry in entries:
                    # "<person>|<ISO date>" (chalicelib.domain.partners.complainant_entry); ISO dates
                    # compare as strings. An undated entry (stored before dates were) counts for nobody.
                    person, _, on = entry.partition("|")
                    if on and on >= since and (last_outcome is None or on > last_outcome):
                        known.add(person)
                if enough is not None and len(known) >= enough:
                    break
        return people, last_outcome

    # ---------------------------------------------------------------- the scheduled sweep

    def notices(self, ref: str) -> list[NoticeRecord]:
        return list(NoticeRecord.query(ref, consistent_read=True))

    def claim_notice(self, notice: NoticeRecord, letters: list[LetterRecord], case_version: int | None = None) -> bool:
        """Claim an effect and store its emails in one transaction. False: another sweep has it, or
        (with `case_version`) the case changed since the sweep read it, so the effect was decided on
        a state that is gone; the next sweep looks again at the case as it is (every step makes the
        case due for a check). A conflict (another sweep claiming it at that moment) is retried
        until one has it; if conflicts outlast the retries, TransactWriteError."""

        def write(tx: TransactWrite) -> None:
            if case_version is not None:
                tx.condition_check(CaseRecord, notice.ref, condition=CaseRecord.version == case_version)
            tx.save(notice, condition=NoticeRecord.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())

        try:
            _commit_retrying_conflicts(write, self._connection(), "claim_notice")
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException" and not worth_retrying(exc):
                return False
            raise
        return True

    def set_next_check(self, ref: str, at: str | None, *, only_if_version: int | None = None) -> None:
        """Move (or clear) when the sweep next looks at a case. Not a change to the case, so it
        does not bump the version staff edit against. With `only_if_version`, only if the case is
        still the one the sweep read: a step taken meanwhile has already made it due now, and that
        must not be overwritten by a time worked out from the old state."""
        connection = CaseRecord._get_connection()  # noqa: SLF001 - a plain update, no version logic
        if at is None:
            actions = [CaseRecord.due_area.remove(), CaseRecord.next_check_at.remove()]
        else:
            actions = [CaseRecord.next_check_at.set(at)]
        condition = CaseRecord.ref.exists()
        if only_if_version is not None:
            condition = condition & (CaseRecord.version == only_if_version)
        try:
            connection.update_item(ref, actions=actions, condition=condition)
        except UpdateError:
            if only_if_version is None:
                raise

    def give_up_letter(self, letter: LetterRecord) -> bool:
        """After the last attempt: out of the retry index, flagged failed for the SPOC."""
        try:
            letter.update(actions=[LetterRecord.status.set("failed"), LetterRecord.retry_area.remove(),
                                   LetterRecord.retry_at.remove()],
                          condition=(LetterRecord.status == "pending") & (LetterRecord.retry_at == letter.retry_at))
        except UpdateError:
            return False
        return True

    # ---------------------------------------------------------------- letter delivery

    def claim(self, letter: LetterRecord, lease_until: str) -> bool:
        """Take a pending letter for sending. Only one worker wins: the condition is on the
        due time and the claim count it saw; the winner moves the due time to the end of its lease
        and counts its claim."""
        seen = LetterRecord.claims.does_not_exist() if letter.claims is None else LetterRecord.claims == letter.claims
        try:
            letter.update(
                actions=[LetterRecord.retry_at.set(lease_until), LetterRecord.claims.add(1)],
                condition=(LetterRecord.status == "pending") & (LetterRecord.retry_at == letter.retry_at) & seen,
            )
        except UpdateError:
            return False
        return True

    def mark_sent(self, letter: LetterRecord, provider_id: str, at: str) -> bool:
        """Record a delivered letter. False if another worker already marked it."""
        try:
            letter.update(
                actions=[
                    LetterRecord.status.set("sent"),
                    LetterRecord.sent_at.set(at),
                    LetterRecord.provider_id.set(provider_id),
                    LetterRecord.attempts.add(1),
                    LetterRecord.last_error.remove(),
                    LetterRecord.retry_area.remove(),
                    LetterRecord.retry_at.remove(),
                ],
                condition=LetterRecord.status == "pending",
            )
        except UpdateError:
            return False
        return True

    def get_letter(self, ref: str, letter_id: str) -> LetterRecord | None:
        try:
            return LetterRecord.get(ref, letter_id, consistent_read=True)
        except DoesNotExist:
            return None

    def record_delivery(self, letter: LetterRecord, *, state: str, at: str, key: str, reason: str,
                        followup: dict[str, Any] | None = None, case: CaseRecord | None = None,
                        audit: AuditEvent | None = None, letters: list[LetterRecord] = ()) -> None:
        """What SES said became of an email, in one transaction with what it causes (the SPOC's
        email, a posted copy, the case's audit event). Only if the event's key sorts after the one
        stored: a repeated or older event cancels it all. With `followup`, only if none is stored
        yet, so the SPOC is told and the copy queued once. Raises TransactWriteError when refused
        (or when the case changed meanwhile: read again and decide again)."""

        def write(tx: TransactWrite) -> None:
            actions = [LetterRecord.delivery.set(state), LetterRecord.delivery_at.set(at),
                       LetterRecord.delivery_key.set(key), LetterRecord.delivery_reason.set(reason[:200])]
            # ref.exists(): an update would otherwise create a letter that was never written.
            condition = LetterRecord.ref.exists() & (LetterRecord.delivery_key.does_not_exist()
                                                     | (LetterRecord.delivery_key < key))
            if followup is not None:
                actions.append(LetterRecord.bounce_followup.set(followup))
                condition = condition & LetterRecord.bounce_followup.does_not_exist()
            tx.update(letter, actions=actions, condition=condition)
            if case is not None and audit is not None:
                tx.save(case)  # version-checked: the audit event's seq is the version this produces
                tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for new in letters:
                tx.save(new, condition=LetterRecord.ref.does_not_exist())

        _commit_retrying_conflicts(write, self._connection(), "record_delivery")

    def mark_failed(self, letter: LetterRecord, error: str, retry_at: str) -> None:
        """Keep the letter pending and due again later; the scheduled sweep retries it."""
        letter.update(
            actions=[
                LetterRecord.attempts.add(1),
                LetterRecord.last_error.set(error[:500]),
                LetterRecord.retry_at.set(retry_at),
            ],
            condition=LetterRecord.status == "pending",
        )
