"""Case storage in DynamoDB. Every state change is one transaction: the case, its audit event,
the letters it produces (the outbox) and, for a new case, the idempotency record. Either all
of it is stored or none of it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from .tables import (
    AuditEvent,
    CaseRecord,
    EqualitiesRecord,
    IdempotencyRecord,
    LetterRecord,
    NoticeRecord,
    PartnerRequestRecord,
    PartnerReturnRecord,
    StatsRecord,
)

IDEMPOTENCY_TTL = timedelta(days=7)
MAX_REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True)
class CountChange:
    """What a step adds to the published counts, and the area-year it counts in."""

    area: str
    year: int
    counts: tuple[str, ...]
    at: str


def _add_counts(tx: TransactWrite, change: CountChange | None) -> None:
    if change is None or not change.counts:
        return
    actions = [getattr(StatsRecord, name).add(1) for name in change.counts] + [StatsRecord.updated_at.set(change.at)]
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
        # host=None lets botocore honour AWS_ENDPOINT_URL (moto server locally).
        return Connection(region=self.region)

    def create_case(
        self,
        build: Callable[[str], NewCase],
        new_reference: Callable[[], str],
        idempotency: IdempotencyKey | None,
        now: datetime,
    ) -> Created:
        """Store a new case under a fresh, unused reference; replay if the key was seen before."""
        if idempotency:
            replay = self._replay(idempotency)
            if replay:
                return replay
        for _ in range(MAX_REFERENCE_ATTEMPTS):
            ref = new_reference()
            new = build(ref)
            try:
                with TransactWrite(connection=self._connection()) as tx:
                    tx.save(new.case, condition=CaseRecord.ref.does_not_exist())
                    tx.save(new.audit, condition=AuditEvent.ref.does_not_exist())
                    for letter in new.letters:
                        tx.save(letter, condition=LetterRecord.ref.does_not_exist())
                    for request in new.requests:
                        tx.save(request, condition=PartnerRequestRecord.ref.does_not_exist())
                    _add_counts(tx, new.counts)
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
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                # Either the reference is taken (try another) or a concurrent retry with the
                # same key won the race (answer as it did).
                if idempotency:
                    replay = self._replay(idempotency)
                    if replay:
                        return replay
                continue
            return Created(case=new.case, letters=new.letters)
        raise ReferenceExhausted("no unused reference after several attempts")

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
        concurrent change makes this fail (TransactWriteError) and nothing is written."""
        with TransactWrite(connection=self._connection()) as tx:
            tx.save(case)
            tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())
            for item in items:
                tx.save(item)
            _add_counts(tx, counts)

    def mark_printed(self, letter: LetterRecord, at: str) -> None:
        """Out of the print queue (the sparse index) once staff have posted it."""
        letter.update(actions=[LetterRecord.status.set("printed"), LetterRecord.sent_at.set(at),
                               LetterRecord.print_area.remove()],
                      condition=LetterRecord.status == "print_queued")

    # ---------------------------------------------------------------- partner requests and returns

    def get_request(self, ref: str, request_id: str) -> PartnerRequestRecord | None:
        try:
            return PartnerRequestRecord.get(ref, request_id, consistent_read=True)
        except DoesNotExist:
            return None

    def requests(self, ref: str) -> list[PartnerRequestRecord]:
        return list(PartnerRequestRecord.query(ref, consistent_read=True))

    def latest_returns(self, ref: str) -> dict[str, PartnerReturnRecord]:
        """The newest version of each partner's return (versions sort by their zero-padded key)."""
        latest: dict[str, PartnerReturnRecord] = {}
        for record in PartnerReturnRecord.query(ref, consistent_read=True):
            latest[record.request_id] = record
        return latest

    def record_token_hash(self, request: PartnerRequestRecord, token_hash: str) -> None:
        """Store the hash of the link being sent. The token is deterministic, so a resend stores the
        same hash; a different one means the nonce changed (revoked) and the update is refused."""
        request.update(
            actions=[PartnerRequestRecord.token_hash.set(token_hash)],
            condition=PartnerRequestRecord.token_hash.does_not_exist() | (PartnerRequestRecord.token_hash == token_hash),
            add_version_condition=False,
        )

    def revoke_link(self, request: PartnerRequestRecord) -> None:
        request.update(actions=[PartnerRequestRecord.status.set("revoked")])

    def store_return(self, *, case: CaseRecord, request: PartnerRequestRecord, record: PartnerReturnRecord,
                     audit: AuditEvent, letters: list[LetterRecord]) -> None:
        """One transaction: the new version, the request's state, the case's assessment (optimistic
        lock on both), the audit event and any notification. Raises TransactWriteError on a race."""
        with TransactWrite(connection=self._connection()) as tx:
            tx.save(record, condition=PartnerReturnRecord.ref.does_not_exist())
            tx.save(request)  # version-checked: a concurrent amendment of the same return loses
            tx.save(case)  # version-checked: a concurrent return from another partner loses
            tx.save(audit, condition=AuditEvent.ref.does_not_exist())
            for letter in letters:
                tx.save(letter, condition=LetterRecord.ref.does_not_exist())

    def matter_history(self, matter: str, ref: str | None, since: str) -> tuple[list[str], str | None]:
        """Other applications about the same matter: the people who reported in those received
        since a date, and the date of the latest outcome letter (which restarts the count)."""
        people: list[str] = []
        last_outcome: str | None = None
        for key in CaseRecord.by_matter.query(matter):
            if key.ref == ref:
                continue
            other = self.get_case(key.ref)
            if other is None:
                continue
            sent_on = (other.outcome or {}).get("sent_on")
            if sent_on and (last_outcome is None or sent_on > last_outcome):
                last_outcome = sent_on
            if other.received_on >= since:
                application = other.application or {}
                people.append(application.get("victim", {}).get("name", ""))
                people.extend(i.get("reported_by", "") for i in application.get("incidents", []))
        return [p for p in people if p], last_outcome

    # ---------------------------------------------------------------- the scheduled sweep

    def notices(self, ref: str) -> list[NoticeRecord]:
        return list(NoticeRecord.query(ref, consistent_read=True))

    def claim_notice(self, notice: NoticeRecord, letters: list[LetterRecord]) -> bool:
        """Claim an effect and store its emails in one transaction. False: another sweep has it."""
        try:
            with TransactWrite(connection=self._connection()) as tx:
                tx.save(notice, condition=NoticeRecord.ref.does_not_exist())
                for letter in letters:
                    tx.save(letter, condition=LetterRecord.ref.does_not_exist())
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                return False
            raise
        return True

    def set_next_check(self, ref: str, at: str | None) -> None:
        """Move (or clear) when the sweep next looks at a case. Not a change to the case, so it
        does not bump the version staff edit against."""
        connection = CaseRecord._get_connection()  # noqa: SLF001 - a plain update, no version logic
        if at is None:
            actions = [CaseRecord.due_area.remove(), CaseRecord.next_check_at.remove()]
        else:
            actions = [CaseRecord.next_check_at.set(at)]
        connection.update_item(ref, actions=actions, condition=CaseRecord.ref.exists())

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
        due time it saw, which the winner moves forward to the end of its lease."""
        try:
            letter.update(
                actions=[LetterRecord.retry_at.set(lease_until)],
                condition=(LetterRecord.status == "pending") & (LetterRecord.retry_at == letter.retry_at),
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
