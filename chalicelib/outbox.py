"""The outbox: letters are rendered and stored with the state change that causes them, in the same
transaction, and the request answers; sending happens afterwards. Email goes through SES; an
applicant who asked for post gets a printable letter in the area's print queue.

Who sends: the letters table's DynamoDB Stream invokes `LetterSender.send_stream_records` with each
new letter (in AWS the `letter_sender` function; under `make run` a poller of DynamoDB Local's
stream calls the same method). Each letter is claimed before it is sent (a conditional write that
moves its due time to the end of a lease), so two senders never both send it. A failed send leaves
the letter pending with a later due time (exponential backoff); the `letter_retry` schedule sends
what is due again, and after MAX_LETTER_ATTEMPTS the letter is marked failed and the SPOC told (the
dead-letter record). A new letter is due for the retry only STREAM_GRACE after it was stored: the
schedule is the safety net for a stream that did not deliver, not a second sender racing it.

Exactly once, as far as SES allows: a sender that dies after its claim and before SES took the
email leaves the letter to be sent when the lease (`lease_end`: SEND_LEASE after the later of now
and the time it was due) ends, once. One that dies after SES
took it and before recording that can cause one duplicate after the lease; nothing can close that
gap, since SES has no idempotency key."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from .adapters.mailer import LetterCancelled, MailError, Mailer
from .adapters.repository import CaseRepository
from .adapters.tables import LetterRecord
from .clock import iso
from .domain.case import LetterPlan
from .domain.policy import Policy
from .letters import LetterRenderer, RenderedLetter, posting_date

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
# A sender that dies mid-send leaves its claim; the letter is due again when the lease ends.
SEND_LEASE = timedelta(minutes=2)
# A stored letter becomes due for the retry schedule this long after it was stored, if the stream
# has not sent it by then (it normally does within a second).
STREAM_GRACE = timedelta(minutes=2)


def lease_end(letter: LetterRecord, now: datetime) -> datetime:
    """Until when a claim holds the letter: SEND_LEASE after now, or after the time it was due if
    that is later. A claim never makes a letter due earlier than it was, so a retry working to
    another clock (a sweep run for a later time, `make sweep AT=...`, or a sender whose clock is
    behind) cannot take a letter whose sending is under way. A new letter (due STREAM_GRACE after it
    was stored) whose sender died is therefore sent by the retry STREAM_GRACE + SEND_LEASE after it
    was stored, at the latest."""
    due = datetime.fromisoformat(letter.retry_at.replace("Z", "+00:00")) if letter.retry_at else now
    return max(now, due) + SEND_LEASE


def retry_delay(attempts: int) -> timedelta:
    """5, 10, 20, 40 minutes ... capped at 6 hours."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


@dataclass(frozen=True)
class Person:
    name: str
    address_lines: tuple[str, ...]
    email: str | None
    preferred_contact: str | None

    @classmethod
    def from_contact(cls, contact: dict[str, Any]) -> "Person":
        address = contact.get("address") or {}
        lines = tuple(v for v in (address.get("line1"), address.get("line2"), address.get("town"), address.get("postcode")) if v)
        return cls(contact["name"], lines, contact.get("email"), contact.get("preferred_contact"))

    @property
    def channel(self) -> str:
        """Email when asked for (or phone was asked for and there is an email); otherwise post."""
        if self.email and self.preferred_contact in ("email", "phone", None):
            return "email"
        return "post"


# What later steps add to a letter; every letter receives every key (None where it does not apply).
STEP_KEYS = ("decision", "appeal_deadline", "meeting", "meeting_due", "outcome", "closure", "withdrawal",
             "rejection", "appeal", "draft_plan", "update", "agency_review")


def letter_context(*, policy: Policy, step: str, ref: str, letter_date: date, recipient: Person, role: str,
                   applicant: Person, victim: Person, on_behalf: bool, deadlines: dict[str, date],
                   assessment_meeting: date | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    meeting = policy.assessment_meeting
    unknown = set(extra or {}) - set(STEP_KEYS)
    if unknown:
        raise ValueError(f"unknown letter context keys: {sorted(unknown)}")
    return {
        **{key: None for key in STEP_KEYS},
        **(extra or {}),
        "ref": ref,
        "step": step,
        # Who signs this step's letter (appeal letters: the appeals body unless the policy says otherwise).
        "signatory": policy.signatory_for(step),
        "letter_date": letter_date,
        "area": policy.area,
        "contacts": policy.contacts,
        "appeals": policy.appeals,
        "timescales": policy.timescales,
        "threshold": policy.threshold,
        "recipient": {"name": recipient.name, "address_lines": list(recipient.address_lines),
                      "email": recipient.email, "role": role},
        "applicant_name": applicant.name,
        "victim_name": victim.name,
        "on_behalf": on_behalf,
        "deadlines": {"acknowledge": deadlines.get("acknowledge"), "threshold_decision": deadlines.get("threshold_decision")},
        "assessment_meeting": {"name": meeting.name, "date": assessment_meeting} if meeting and assessment_meeting else None,
    }


def compose_letters(*, plans: Iterable[LetterPlan], policy: Policy, renderer: LetterRenderer, ref: str,
                    now: datetime, letter_date: date, people: dict[str, Person], on_behalf: bool,
                    deadlines: dict[str, date], assessment_meeting: date | None, first_id: int = 1,
                    extra: dict[str, Any] | None = None) -> list[LetterRecord]:
    records = []
    n = first_id - 1
    for plan in plans:
        template = policy.letter_template(plan.step)
        if template is None:  # the loader guarantees intake steps; later steps are optional per area
            continue
        n += 1
        recipient = people[plan.to]
        channel = recipient.channel
        rendered = renderer.render(template, letter_context(
            policy=policy, step=plan.step, ref=ref,
            letter_date=letter_date if channel == "email" else posting_date(letter_date),
            recipient=recipient, role=plan.to, applicant=people["applicant"], victim=people["victim"],
            on_behalf=on_behalf, deadlines=deadlines, assessment_meeting=assessment_meeting, extra=extra))
        created = iso(now)
        record = LetterRecord(
            ref, f"{n:02d}",
            area=policy.id, step=plan.step, template=template, recipient_role=plan.to,
            channel=channel, to_email=recipient.email if channel == "email" else None,
            subject=rendered.subject, html=rendered.html, text=rendered.text,
            status="pending" if channel == "email" else "print_queued",
            attempts=0, created_at=created,
        )
        if channel == "email":
            # The stream sends it; if it has not within the grace, the retry schedule does.
            record.retry_area, record.retry_at = policy.id, iso(now + STREAM_GRACE)
        else:
            record.print_area = policy.id
        records.append(record)
    return records


LINK_PLACEHOLDER = "https://partner-link.invalid/replaced-when-sent"

LinkFor = Callable[[LetterRecord], str]


def working_email(*, ref: str, letter_id: str, policy: Policy, step: str, role: str, to: str,
                  rendered: RenderedLetter, now: datetime, link_request_id: str | None = None) -> LetterRecord:
    """An email to a partner or the SPOC, stored in the outbox like a letter and sent the same way."""
    created = iso(now)
    return LetterRecord(
        ref, letter_id, area=policy.id, step=step, template=rendered.template, recipient_role=role,
        channel="email", to_email=to, subject=rendered.subject, html=rendered.html, text=rendered.text,
        status="pending", attempts=0, created_at=created, retry_area=policy.id, retry_at=iso(now + STREAM_GRACE),
        link_request_id=link_request_id,
    )


def deliver(letters: Iterable[LetterRecord], *, policy: Policy, mailer: Mailer, repo: CaseRepository,
            now: datetime, link_for: LinkFor | None = None) -> None:
    """Send pending email letters once each. SES's refusals are recorded for retry, not raised; a
    storage error is raised (the stream delivers the record again, the claim keeps it to one send)."""
    for letter in letters:
        if letter.status != "pending" or letter.channel != "email" or not letter.to_email:
            continue
        if not repo.claim(letter, iso(lease_end(letter, now))):
            continue  # another worker has it
        try:
            html, text = letter.html, letter.text
            if letter.link_request_id:
                if link_for is None:
                    raise MailError("NoLinkSigner")
                url = link_for(letter)
                html, text = html.replace(LINK_PLACEHOLDER, url), text.replace(LINK_PLACEHOLDER, url)
            provider_id = mailer.send(sender=policy.contacts.sender_email, to=letter.to_email,
                                      reply_to=policy.contacts.spoc_email, subject=letter.subject,
                                      html=html, text=text, tags={"ref": letter.ref, "letter": letter.letter_id})
        except LetterCancelled as exc:
            repo.cancel_letter(letter, str(exc))
            log.info("letter_cancelled", extra={"ref": letter.ref, "letter": letter.letter_id, "error": str(exc)})
            continue
        except MailError as exc:
            retry_at = iso(now + retry_delay((letter.attempts or 0) + 1))
            repo.mark_failed(letter, str(exc), retry_at)
            log.warning("letter_send_failed", extra={"ref": letter.ref, "letter": letter.letter_id, "error": str(exc), "retry_at": retry_at})
            continue
        if repo.mark_sent(letter, provider_id, iso(now)):
            letter.status = "sent"
        log.info("letter_sent", extra={"ref": letter.ref, "letter": letter.letter_id, "step": letter.step})


@dataclass
class StreamReport:
    sent: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)  # sequence numbers to be delivered again

    def batch_failures(self) -> dict[str, list[dict[str, str]]]:
        """The answer Lambda's ReportBatchItemFailures reads: the stream is read again from the
        first failed record (and the letters sent before it are skipped then: already sent)."""
        return {"batchItemFailures": [{"itemIdentifier": n} for n in self.failed]}


@dataclass
class LetterSender:
    """Sends the letters the stream reports as stored. Only INSERTs of pending emails are sent; a
    change to a letter (its claim, its sending, a retry) is itself a stream record and ignored."""

    policies: dict[str, Policy]
    mailer: Mailer
    repo: CaseRepository
    clock: Callable[[], datetime]
    link_for: LinkFor | None = None

    def send_stream_records(self, records: Iterable[dict[str, Any]]) -> StreamReport:
        report = StreamReport()
        for record in records:
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            if report.failed:  # after a failure, later records wait too (the stream's order)
                report.failed.append(sequence)
                continue
            try:
                letter = letter_from_stream(record)
            except Exception as exc:  # noqa: BLE001 - not a letter this code can read: no retry helps
                log.warning("letter_stream_record_unreadable", extra={"error": type(exc).__name__})
                report.skipped += 1
                continue
            if letter is None or letter.area not in self.policies:
                report.skipped += 1
                continue
            try:
                deliver([letter], policy=self.policies[letter.area], mailer=self.mailer, repo=self.repo,
                        now=self.clock(), link_for=self.link_for)
            except Exception as exc:  # noqa: BLE001 - storage unreachable: the stream tries again
                log.warning("letter_stream_failed", extra={"ref": letter.ref, "letter": letter.letter_id,
                                                           "error": type(exc).__name__})
                report.failed.append(sequence)
                continue
            report.sent += letter.status == "sent"
        return report


def letter_from_stream(record: dict[str, Any]) -> LetterRecord | None:
    """The letter a stream record stores, if it is a new email waiting to be sent."""
    if record.get("eventName") != "INSERT":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage")
    if not image:
        return None
    letter = LetterRecord.from_raw_data(image)
    if letter.status != "pending" or letter.channel != "email" or not letter.to_email:
        return None
    return letter
