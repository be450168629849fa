"""What became of the emails SES took: deliveries, bounces and complaints, published by the SES
configuration set to an SNS topic and handled by chalicelib.routes.notifications.

Each email is sent with tags naming its letter (chalicelib.outbox.deliver), so an event finds its
letter by key: no scan, no index. The letter keeps the state of the event with the latest time;
SNS may deliver an event late, twice or out of order, so the write is conditional on the event
sorting after what is stored (a repeat is refused, an older one too). An email to the applicant
or victim that cannot be delivered (a hard bounce, or SES rejecting it) is queued for post when
their address is known, and the SPOC is told by email and in the case's timeline; a partner's
request that bounces tells the SPOC, naming the partner, so they can give another address. All of
that is written in one transaction with the letter's new state, once.

The first part of this module is pure (parse, decide, the posted copy's text, the summary shown
to staff); `Receipts` below reads and writes DynamoDB.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping

from .adapters.mailer import decode_tag
from .clock import LONDON, iso, london_date

log = logging.getLogger(__name__)

# At the same instant, the graver state wins (and a repeat of the same event is an exact match).
RANK = {"delivered": 1, "soft_bounced": 2, "complained": 3, "bounced": 4, "rejected": 5}
UNDELIVERABLE = frozenset({"bounced", "rejected"})
PEOPLE = ("applicant", "victim")  # recipients a posted copy can reach
FLAGGED = PEOPLE + ("partner",)  # recipients whose undeliverable email the SPOC must hear about
ACTOR = "system: email delivery report"
AUDIT_ACTION = "email_bounced"

_LETTER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_SAFE_TYPE = re.compile(r"[A-Za-z]{1,40}")

# SES's bounce subtypes in a few words. The diagnostic code is never kept: it can quote the address.
PERMANENT = {"General": "address does not exist", "NoEmail": "address does not exist",
             "Suppressed": "address is on SES's suppression list (it bounced before)",
             "OnAccountSuppressionList": "address is on the account's suppression list"}
TRANSIENT = {"General": "temporary failure", "MailboxFull": "mailbox full", "MessageTooLarge": "message too large",
             "ContentRejected": "content rejected by the recipient's server",
             "AttachmentRejected": "attachment rejected by the recipient's server"}


class NotOurs(Exception):
    """A message that is not an SES event about one of our letters (or is malformed): ignored.
    `kind` is a short code, safe to log (never the message itself)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Receipt:
    """One SES event about one of our emails."""

    state: str  # a key of RANK
    at: str  # the event's own time, normalised (UTC, milliseconds, "Z") so keys sort as times
    reason: str
    ref: str
    letter_id: str
    message_id: str | None

    @property
    def key(self) -> str:
        return f"{self.at}#{RANK[self.state]}"

    @property
    def undeliverable(self) -> bool:
        return self.state in UNDELIVERABLE


def _instant(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise NotOurs("bad_timestamp")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NotOurs("bad_timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # SES's times are UTC
    return iso(moment)


def _tag(tags: Mapping[str, Any], name: str) -> str:
    values = tags.get(name)
    value = values[0] if isinstance(values, list) and values else values
    if not isinstance(value, str):
        raise NotOurs("untagged")
    try:
        return decode_tag(value)
    except ValueError:
        raise NotOurs("bad_tag") from None


def _event_type(event: Mapping[str, Any]) -> str:
    kind = event.get("eventType") or event.get("notificationType")
    if not isinstance(kind, str):
        raise NotOurs("no_event_type")
    return kind


def parse_ses_event(message: str | Mapping[str, Any]) -> Receipt:
    """An SES event (a configuration set's eventType, or an identity notification's
    notificationType) as a Receipt. Raises NotOurs for anything else."""
    from .domain.reference import PATTERN

    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            raise NotOurs("not_json") from None
    if not isinstance(message, Mapping):
        raise NotOurs("not_an_object")
    kind = _event_type(message)
    if kind not in ("Delivery", "Bounce", "Complaint", "Reject"):  # Send, Open, Click, DeliveryDelay...
        raise NotOurs(f"type_{kind}" if _SAFE_TYPE.fullmatch(kind) else "unknown_type")
    mail = message.get("mail")
    if not isinstance(mail, Mapping):
        raise NotOurs("no_mail")
    tags = mail.get("tags")
    if not isinstance(tags, Mapping):
        raise NotOurs("untagged")
    ref, letter_id = _tag(tags, "ref"), _tag(tags, "letter")
    if not PATTERN.match(ref) or not _LETTER_ID.fullmatch(letter_id):
        raise NotOurs("bad_tag")
    message_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None

    def detail(name: str) -> Mapping[str, Any]:
        value = message.get(name)
        return value if isinstance(value, Mapping) else {}

    def when(part: Mapping[str, Any]) -> str:
        return _instant(part.get("timestamp") or mail.get("timestamp"))

    if kind == "Delivery":
        state, at, reason = "delivered", when(detail("delivery")), "delivered"
    elif kind == "Bounce":
        bounce = detail("bounce")
        bounce_type, subtype = bounce.get("bounceType"), bounce.get("bounceSubType")
        if bounce_type == "Permanent":
            state, reason = "bounced", PERMANENT.get(subtype, "address rejected permanently")
        elif bounce_type == "Transient":
            state, reason = "soft_bounced", TRANSIENT.get(subtype, "temporary failure")
        else:  # Undetermined (or a type SES adds later): not proof the address is wrong
            state, reason = "soft_bounced", "bounce of an undetermined kind"
        at = when(bounce)
    elif kind == "Complaint":
        complaint = detail("complaint")
        feedback = complaint.get("complaintFeedbackType")
        state, at = "complained", when(complaint)
        reason = "marked as spam" + (f" ({feedback})" if isinstance(feedback, str) and _SAFE_TYPE.fullmatch(feedback) else "")
    else:  # Reject: SES would not send it (a virus found, say)
        reject = detail("reject")
        why = reject.get("reason")
        state, at = "rejected", _instant(mail.get("timestamp"))
        reason = "SES refused to send it" + (f" ({why.lower()})" if isinstance(why, str) and len(why) < 60 else "")
    return Receipt(state, at, reason, ref, letter_id, message_id)


@dataclass(frozen=True)
class Decision:
    record: bool  # store the event's state on the letter
    why: str  # "newer" | "duplicate" | "older"
    follow_up: bool  # tell the SPOC, by email and in the timeline
    post_copy: bool  # queue the letter for post


def decide(receipt: Receipt, *, stored_key: str | None, followed_up: bool, role: str, channel: str,
           has_address: bool) -> Decision:
    """What an event does to a letter, given what the letter holds. The event with the latest time
    wins, whatever order they arrive in; at the same time, the graver; the same event again is a
    no-op. Only the first undeliverable event is followed up."""
    if stored_key is not None and receipt.key <= stored_key:
        return Decision(False, "duplicate" if receipt.key == stored_key else "older", False, False)
    follow = receipt.undeliverable and not followed_up and role in FLAGGED
    post = follow and role in PEOPLE and channel == "email" and has_address
    return Decision(True, "newer", follow, post)


def followup_letter_id(letter_id: str, what: str) -> str:
    """The id of what a bounce of `letter_id` writes ("spoc", "post"): derived, so a second run can
    never write a second one. "b" keeps them apart from the sweep's "n..." and the numbered letters."""
    return "b" + hashlib.sha256(f"bounce#{letter_id}#{what}".encode()).hexdigest()[:10]


def posted_text(body: str, written_on: date) -> str:
    """An emailed letter as a letter to post: its date line becomes the posting-date mark, so it is
    dated the day it is printed, as every letter in the print queue is."""
    from .letters import POSTING_DATE_MARK, long_date

    return body.replace(f"Date: {long_date(written_on)}", f"Date: {POSTING_DATE_MARK}", 1)


def short_time(instant: str | None) -> str:
    """"2026-12-21T10:02:00.000Z" -> "21 Dec 10:02" (London time)."""
    if not instant:
        return ""
    try:
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(LONDON)
    except ValueError:
        return instant
    return f"{moment.day} {moment:%b %H:%M}"


LABELS = {"delivered": "Delivered", "soft_bounced": "Not delivered (temporary)", "complained": "Marked as spam",
          "bounced": "Bounced", "rejected": "Not sent: refused by SES"}


def delivery_summary(state: str | None, at: str | None, reason: str | None,
                     followup: Mapping[str, Any] | None, role: str | None = None) -> str:
    """The letter's delivery in words, for staff: "Delivered 21 Dec 10:02", "Bounced 21 Dec 10:05:
    address does not exist; queued for post". Empty before SES has said anything."""
    if not state:
        return ""
    text = f"{LABELS.get(state, state)} {short_time(at)}".strip()
    if state != "delivered" and reason and state != "complained":
        text += f": {reason}"
    if followup:
        if followup.get("post_letter"):
            text += f"; queued for post (letter {followup['post_letter']})"
        elif role in PEOPLE:
            text += "; no postal address: the SPOC was told"
        else:
            text += "; the SPOC was told"
    return text


def delivery_view(letter: Any) -> dict[str, Any] | None:
    """A letter's delivery as the staff API shows it (None: SES has said nothing yet)."""
    if not getattr(letter, "delivery", None):
        return None
    followup = letter.bounce_followup or None
    return {"state": letter.delivery, "at": letter.delivery_at, "reason": letter.delivery_reason,
            "post_letter": (followup or {}).get("post_letter"), "spoc_told": bool(followup),
            "summary": delivery_summary(letter.delivery, letter.delivery_at, letter.delivery_reason, followup,
                                        letter.recipient_role)}


# ---------------------------------------------------------------- reading and writing


MAX_ATTEMPTS = 4  # a staff step or another event changing the case meanwhile: read again, decide again


@dataclass
class Receipts:
    policies: dict[str, Any]
    renderer: Any
    repo: Any
    clock: Callable[[], datetime]

    def handle(self, message: str | Mapping[str, Any]) -> str:
        """One SNS message. Returns what happened: recorded | duplicate | older | ignored. Never
        raises for a message that is malformed or not about our letters (SNS would retry it); a
        storage error does raise, so Lambda retries the event."""
        from pynamodb.exceptions import TransactWriteError

        try:
            receipt = parse_ses_event(message)
        except NotOurs as exc:
            log.info("ses_event_ignored", extra={"error": exc.kind})
            return "ignored"
        for _ in range(MAX_ATTEMPTS):
            letter = self.repo.get_letter(receipt.ref, receipt.letter_id)
            if letter is None:
                log.info("ses_event_ignored", extra={"error": "unknown_letter", "ref": receipt.ref})
                return "ignored"
            if letter.provider_id and receipt.message_id and letter.provider_id != receipt.message_id:
                # Tagged as our letter but not the message we sent for it.
                log.info("ses_event_ignored", extra={"error": "message_mismatch", "ref": receipt.ref,
                                                     "letter": receipt.letter_id})
                return "ignored"
            try:
                outcome = self._apply(letter, receipt)
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                continue  # refused by a condition: someone wrote first; look again
            log.info("ses_event", extra={"ref": receipt.ref, "letter": receipt.letter_id, "status": receipt.state,
                                         "step": outcome})
            return outcome
        log.warning("ses_event_contended", extra={"ref": receipt.ref, "letter": receipt.letter_id})
        raise RuntimeError("the letter kept changing while its delivery was recorded")

    def _apply(self, letter: Any, receipt: Receipt) -> str:
        wanted = receipt.undeliverable and not letter.bounce_followup and letter.recipient_role in FLAGGED
        case = self.repo.get_case(letter.ref) if wanted else None
        person = self._recipient(case, letter.recipient_role) if case is not None else None
        decision = decide(receipt, stored_key=letter.delivery_key, followed_up=bool(letter.bounce_followup),
                          role=letter.recipient_role, channel=letter.channel,
                          has_address=bool(person and person.address_lines))
        if not decision.record:
            return decision.why
        if not decision.follow_up or case is None:
            self.repo.record_delivery(letter, state=receipt.state, at=receipt.at, key=receipt.key, reason=receipt.reason)
            return "recorded"
        from .adapters.tables import AuditEvent

        policy = self.policies[case.area]
        now = self.clock()
        post = self._posted_copy(letter, now) if decision.post_copy else None
        partner = self._partner_name(letter) if letter.recipient_role == "partner" else None
        spoc = self._spoc_email(letter, receipt, policy, post, partner, now)
        followup = {"at": iso(now), "spoc_letter": spoc.letter_id, "post_letter": post.letter_id if post else None}
        detail = {"letter": letter.letter_id, "to": letter.recipient_role, "reason": receipt.reason,
                  "state": receipt.state, "spoc_letter": spoc.letter_id,
                  "post_letter": post.letter_id if post else None}
        if partner:
            detail["partner"] = partner
        audit = AuditEvent(case.ref, (case.version or 0) + 1, at=iso(now), actor=ACTOR, action=AUDIT_ACTION,
                           from_status=case.status, to_status=case.status, detail=detail)
        self.repo.record_delivery(letter, state=receipt.state, at=receipt.at, key=receipt.key, reason=receipt.reason,
                                  followup=followup, case=case, audit=audit, letters=[spoc] + ([post] if post else []))
        return "recorded"  # the SPOC's email goes out from the letters table's stream, as every letter does

    @staticmethod
    def _recipient(case: Any, role: str) -> Any:
        from .outbox import Person

        application = case.application or {}
        if role == "applicant" and case.basis == "on_behalf" and application.get("applicant"):
            contact = application["applicant"]
        elif role in PEOPLE:
            contact = application.get("victim")
        else:
            return None
        return Person.from_contact(contact) if contact else None

    def _partner_name(self, letter: Any) -> str | None:
        request = self.repo.get_request(letter.ref, letter.link_request_id) if letter.link_request_id else None
        return request.partner_name if request else None

    def _posted_copy(self, letter: Any, now: datetime) -> Any:
        from .adapters.tables import LetterRecord

        written_on = london_date(datetime.fromisoformat(letter.created_at.replace("Z", "+00:00")))
        return LetterRecord(
            letter.ref, followup_letter_id(letter.letter_id, "post"), area=letter.area, step=letter.step,
            template=letter.template, recipient_role=letter.recipient_role, channel="post", to_email=None,
            subject=letter.subject, html=posted_text(letter.html, written_on), text=posted_text(letter.text, written_on),
            status="print_queued", attempts=0, created_at=iso(now), print_area=letter.area,
            replaces_letter=letter.letter_id)

    def _spoc_email(self, letter: Any, receipt: Receipt, policy: Any, post: Any, partner: str | None,
                    now: datetime) -> Any:
        from .outbox import working_email

        rendered = self.renderer.render_email("spoc_email_bounced", {
            "ref": letter.ref, "area": policy.area, "at": receipt.at, "reason": receipt.reason, "state": receipt.state,
            "letter": {"id": letter.letter_id, "step": letter.step, "to": letter.recipient_role,
                       "subject": letter.subject},
            "post_letter": post.letter_id if post else None, "partner_name": partner})
        return working_email(ref=letter.ref, letter_id=followup_letter_id(letter.letter_id, "spoc"), policy=policy,
                             step="email_bounced", role="spoc", to=policy.contacts.spoc_email, rendered=rendered,
                             now=now)


def simulated_bounce(letter: Any, at: str) -> dict[str, Any]:
    """An SNS event carrying the hard bounce SES would publish for this letter's email: what
    `make run`'s outbox page hands the handler ("Simulate bounce"). Development only."""
    message = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at,
                   "feedbackId": f"simulated-{letter.provider_id}",
                   "bouncedRecipients": [{"emailAddress": letter.to_email, "action": "failed", "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown (simulated)"}]},
        "mail": {"timestamp": letter.sent_at or at, "messageId": letter.provider_id, "destination": [letter.to_email],
                 "tags": {"ref": [letter.ref], "letter": [letter.letter_id], "ses:simulated": ["true"]}},
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": {
        "Type": "Notification", "MessageId": f"simulated-{letter.provider_id}", "Subject": None,
        "Message": json.dumps(message), "Timestamp": at, "MessageAttributes": {}}}]}
