"""DynamoDB tables, as PynamoDB models. The one definition of every table:
infra/build_template.py derives the CloudFormation resources from these classes, and the local
stack creates its tables from them, so the two cannot drift.

Table names are `<TABLE_PREFIX>-<name>`; the prefix is the CloudFormation stack name when
deployed and `ct-local` on a developer's machine.
"""
from __future__ import annotations

import os
from typing import Type

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

DEFAULT_PREFIX = "ct-local"
DEFAULT_REGION = "eu-west-2"


def _share_botocore_models() -> None:
    """PynamoDB opens a botocore session for each model's connection, and each session parses
    botocore's DynamoDB model (a large JSON file) again: with 13 tables that is most of a cold start's
    DynamoDB set-up. One loader shared by every session parses it once per process. The loader is
    read-only after loading, so sharing it across sessions (and threads) is safe. The SSM and SES
    clients share it too (chalicelib/adapters/clients.py)."""
    from pynamodb.connection import base

    from .clients import botocore_session

    if getattr(base.get_session, "shares_models", False):
        return

    def get_session(env_vars=None):
        return botocore_session(env_vars)

    get_session.shares_models = True  # type: ignore[attr-defined]
    base.get_session = get_session


_share_botocore_models()


def _table_name(suffix: str) -> str:
    return f"{os.environ.get('TABLE_PREFIX', DEFAULT_PREFIX)}-{suffix}"


class _Meta:
    billing_mode = "PAY_PER_REQUEST"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


class MatterIndex(GlobalSecondaryIndex):
    """Applications about the same matter (area + postcode of where the ASB happens), by date
    received, so the several-complainants rule can count people across applications. It carries
    who reported (hashed) and the status, so the look-up reads a page of the look-back window and
    never the cases themselves. (Replaces the keys-only index "matter": a projection cannot change.)"""

    class Meta:
        index_name = "matter-complainants"
        projection = IncludeProjection(["complainants", "status"])

    matter = UnicodeAttribute(hash_key=True)
    received_on = UnicodeAttribute(range_key=True)


class MatterOutcomeIndex(GlobalSecondaryIndex):
    """The outcome letters of case reviews about a matter, by the date sent: the newest restarts
    the qualifying period. Sparse: only cases whose outcome has been sent carry outcome_sent_on."""

    class Meta:
        index_name = "matter-outcomes"
        projection = KeysOnlyProjection()

    matter = UnicodeAttribute(hash_key=True)
    outcome_sent_on = UnicodeAttribute(range_key=True)


class AreaIndex(GlobalSecondaryIndex):
    """A SPOC's case list: an area's cases by date received, with what the list shows."""

    class Meta:
        index_name = "by-area"
        projection = IncludeProjection(["status", "deadlines", "basis", "channel", "appeal"])

    area = UnicodeAttribute(hash_key=True)
    received_on = UnicodeAttribute(range_key=True)


class AppealIndex(GlobalSecondaryIndex):
    """The appeals body's list: cases with an appeal, per area. Sparse: only they carry appeal_area."""

    class Meta:
        index_name = "appeals"
        projection = KeysOnlyProjection()

    appeal_area = UnicodeAttribute(hash_key=True)
    appeal_lodged_on = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex):
    """What the scheduled sweep reads: cases with something due, by when. Sparse: a case with
    nothing pending carries no due_area, so the sweep's cost grows with due work, not history."""

    class Meta:
        index_name = "due-checks"
        projection = KeysOnlyProjection()

    due_area = UnicodeAttribute(hash_key=True)
    next_check_at = UnicodeAttribute(range_key=True)


class CaseListIndex(GlobalSecondaryIndex):
    """A SPOC's case list in the order it is shown, one query per page: the case's list key
    (chalicelib.domain.case_list.list_key) sorts the overdue first, then those due soon, then by
    next deadline, then the cases waiting for nothing, newest first. It carries everything a row
    shows, names included, so the list never reads the cases. Cases stored before it existed are
    in it once `make backfill` has run (until then the list reads by-area)."""

    class Meta:
        index_name = "case-list"
        projection = IncludeProjection(["area", "status", "received_on", "deadlines", "basis", "channel", "appeal",
                                        "list_names"])

    list_area = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(range_key=True)


class CaseRecord(Model):
    """One Community Trigger case: the application, its state, deadlines and pre-assessment."""

    class Meta(_Meta):
        table_name = _table_name("cases")
        # DynamoDB's TTL deletes an expired case (expires_at); the stream's REMOVE record, with the
        # case as it was, lets chalicelib.retention delete the rest of the case's data.
        stream_view_type = "OLD_IMAGE"

    ref = UnicodeAttribute(hash_key=True)
    area = UnicodeAttribute()
    status = UnicodeAttribute()
    basis = UnicodeAttribute()  # victim | on_behalf | agency (a review an agency started itself)
    channel = UnicodeAttribute()  # online | phone | paper | agency
    received_at = UnicodeAttribute()  # UTC instant, ISO 8601
    received_on = UnicodeAttribute()  # Europe/London date the application arrived
    application = JSONAttribute()
    pre_assessment = JSONAttribute()
    deadlines = JSONAttribute()  # name -> {"due": date, "met_on": date | None}
    matter = UnicodeAttribute()  # hashed: see chalicelib.domain.partners.matter_key
    # Who reported in this application (victim and each report's reporter), normalised as the
    # threshold rule compares names and hashed: see chalicelib.partner_returns.complainant_ids.
    # None on cases stored before it existed: they count as unknown people.
    complainants = UnicodeSetAttribute(null=True)
    assessment_closed = BooleanAttribute(default=False)  # set by the SPOC's threshold decision
    returns_complete_notified = BooleanAttribute(default=False)
    # The steps' records, each written by the step that produces it.
    consent = JSONAttribute(null=True)
    # The acknowledgement as a recorded fact: when, how and by whom (the system's letter, or staff).
    acknowledgement = JSONAttribute(null=True)
    decision = JSONAttribute(null=True)
    meeting = JSONAttribute(null=True)
    draft_plan = JSONAttribute(null=True)  # the draft action plans sent for the victim's views, before the outcome
    outcome = JSONAttribute(null=True)  # findings, recommendations, the action plan and its progress
    outcome_sent_on = UnicodeAttribute(null=True)  # = outcome["sent_on"], for the sparse matter-outcomes index
    ending = JSONAttribute(null=True)  # closure, withdrawal or rejection, with the reason
    appeal = JSONAttribute(null=True)
    appeal_window_closes = UnicodeAttribute(null=True)  # last day to appeal the latest decision letter
    appeal_area = UnicodeAttribute(null=True)
    appeal_lodged_on = UnicodeAttribute(null=True)
    due_area = UnicodeAttribute(null=True)
    next_check_at = UnicodeAttribute(null=True)  # UTC instant the sweep must look at this case
    # The case list's keys and the names it shows (names only): derived from the case each time it
    # is saved (see serialize), so no step can forget them. None on cases not yet backfilled.
    list_area = UnicodeAttribute(null=True)
    list_key = UnicodeAttribute(null=True)
    list_names = JSONAttribute(null=True)  # {"applicant": name | None, "victim": name}
    # Retention (chalicelib.domain.retention): when DynamoDB deletes the ended case, recomputed by
    # every staff step (CaseWork._apply); None while open, appealed or held.
    expires_at = TTLAttribute(null=True)
    legal_hold = JSONAttribute(null=True)  # {"since": date, "by": actor, "reason"}: never deleted while set
    version = VersionAttribute()
    by_matter = MatterIndex()
    by_matter_outcome = MatterOutcomeIndex()
    by_area = AreaIndex()
    appeals = AppealIndex()
    due_checks = DueIndex()
    case_list = CaseListIndex()

    def refresh_list(self) -> None:
        """The list attributes from the case as it is: its next current deadline and its names."""
        from ..domain.case_list import current_deadlines, list_key, list_names

        pending = current_deadlines(self.deadlines, self.status, self.appeal)
        self.list_area = self.area
        self.list_key = list_key(pending[0][1] if pending else None, self.received_at, self.ref)
        self.list_names = list_names(self.application, self.basis)

    def serialize(self, null_check: bool = True) -> dict:
        # Every write of a whole case (a transaction's put, save, batch write) goes through here.
        self.refresh_list()
        return super().serialize(null_check=null_check)

    def check_soon(self, now: str) -> None:
        """Any change may create or move a deadline: the next sweep looks and sets the exact time."""
        self.due_area, self.next_check_at = self.area, now


class SearchTermRecord(Model):
    """What a case can be found by: one item per (term, case). The term is a keyed hash (HMAC-SHA256
    under a secret from the parameter store) of "<area>|<kind>|<normalised name or postcode>", so
    the table holds no name or postcode, cannot be reversed by hashing guesses without the secret,
    and a search looks only in the areas the person covers. Written in the transaction that creates
    the case. The item with term "#list-ready" and ref = an area says `make backfill` has given
    that area's older cases their list keys and terms."""

    class Meta(_Meta):
        table_name = _table_name("search-terms")

    term = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute(range_key=True)
    area = UnicodeAttribute()


class AuditEvent(Model):
    """Append-only history of a case: who did what, when, from which state to which."""

    class Meta(_Meta):
        table_name = _table_name("audit")

    ref = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)  # the case version the change produced
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute(null=True)
    detail = JSONAttribute(null=True)


class PrintQueueIndex(GlobalSecondaryIndex):
    """Letters waiting to be printed and posted, per area. Sparse: only letters in the queue carry print_area."""

    class Meta:
        index_name = "print-queue"
        projection = KeysOnlyProjection()

    print_area = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class RetryDueIndex(GlobalSecondaryIndex):
    """Letters whose delivery must be retried, per area, by when. Sparse: only pending letters carry retry_area."""

    class Meta:
        index_name = "retry-due"
        projection = AllProjection()

    retry_area = UnicodeAttribute(hash_key=True)
    retry_at = UnicodeAttribute(range_key=True)


class LetterRecord(Model):
    """A letter, rendered once and stored with the case before anything is sent (the outbox)."""

    class Meta(_Meta):
        table_name = _table_name("letters")
        # New letters are sent from this stream (chalicelib.outbox.LetterSender): the request that
        # stores them answers without waiting for SES.
        stream_view_type = "NEW_IMAGE"

    ref = UnicodeAttribute(hash_key=True)
    letter_id = UnicodeAttribute(range_key=True)  # "01", "02", ... in the order they were written
    area = UnicodeAttribute()
    step = UnicodeAttribute()  # the policy's letter step, e.g. "acknowledgement"
    template = UnicodeAttribute()
    recipient_role = UnicodeAttribute()  # applicant | victim | partner | spoc
    channel = UnicodeAttribute()  # email | post
    to_email = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()
    html = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | sent | print_queued | printed | failed | cancelled
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    print_area = UnicodeAttribute(null=True)
    retry_area = UnicodeAttribute(null=True)
    retry_at = UnicodeAttribute(null=True)
    # A partner request email: its body holds LINK_PLACEHOLDER, replaced by the signed link only
    # when it is sent, so no usable token is ever stored.
    link_request_id = UnicodeAttribute(null=True)
    # How many times a sender has claimed it: a claim is conditional on the count it saw, so two
    # senders holding the same copy (the stream's record, delivered twice) cannot both win, even
    # when the lease they would set is the due time they saw.
    claims = NumberAttribute(null=True)
    # What SES said happened to the email after it took it (chalicelib.receipts), from the event
    # with the latest time: delivered | soft_bounced | complained | bounced | rejected.
    delivery = UnicodeAttribute(null=True)
    delivery_at = UnicodeAttribute(null=True)  # the event's own time (UTC instant), not when it arrived
    delivery_reason = UnicodeAttribute(null=True)  # a few words ("address does not exist"), never an address
    # "<delivery_at>#<rank>": an event is recorded only if its key sorts after this (later, or as
    # late and graver), so late, repeated and out-of-order events cannot move the state back.
    delivery_key = UnicodeAttribute(null=True)
    # Set once, with the first bounce that could not be delivered: what was done about it
    # {"at", "spoc_letter", "post_letter" (None: no postal address, or not a letter to a person)}.
    bounce_followup = JSONAttribute(null=True)
    replaces_letter = UnicodeAttribute(null=True)  # a posted copy: the bounced email's letter id
    print_queue = PrintQueueIndex()
    retry_due = RetryDueIndex()


class IdempotencyRecord(Model):
    """Maps a client's Idempotency-Key (hashed) to the case it created, for 7 days."""

    class Meta(_Meta):
        table_name = _table_name("idempotency")

    key_hash = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    ref = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class EqualitiesRecord(Model):
    """The optional equalities answers, kept apart from the case so no case view or partner sees them."""

    class Meta(_Meta):
        table_name = _table_name("equalities")

    ref = UnicodeAttribute(hash_key=True)
    area = UnicodeAttribute()
    answers = JSONAttribute()


class PartnerRequestRecord(Model):
    """An information request to one partner agency. The link's token is never stored: only its
    SHA-256 (to check a presented token) and the nonce it was signed with (to send it again)."""

    class Meta(_Meta):
        table_name = _table_name("partner-requests")

    ref = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute(range_key=True)  # P01, P02, ...
    area = UnicodeAttribute()
    partner_name = UnicodeAttribute()
    partner_kind = UnicodeAttribute()
    email = UnicodeAttribute(null=True)  # None: named in the application but the area has no address for it
    named_in_application = BooleanAttribute(default=False)
    status = UnicodeAttribute()  # requested | no_address | returned | revoked
    due_on = UnicodeAttribute()
    expires_on = UnicodeAttribute()
    token_hash = UnicodeAttribute(null=True)
    nonce = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    returned_at = UnicodeAttribute(null=True)
    latest_version = NumberAttribute(default=0)
    version = VersionAttribute()


class PartnerReturnRecord(Model):
    """Every version of every partner's return is kept; the latest counts."""

    class Meta(_Meta):
        table_name = _table_name("partner-returns")

    ref = UnicodeAttribute(hash_key=True)
    request_version = UnicodeAttribute(range_key=True)  # "P01#0002"
    request_id = UnicodeAttribute()
    version = NumberAttribute()
    partner_name = UnicodeAttribute()
    submitted_at = UnicodeAttribute()
    answers = JSONAttribute()


class NoticeRecord(Model):
    """A reminder, alert, chaser, escalation or record the sweep made. Written with a condition
    that it does not exist yet, in the same transaction as its email: the claim that makes each
    effect happen once, and the record of it in the case's timeline."""

    class Meta(_Meta):
        table_name = _table_name("notices")

    ref = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    detail = JSONAttribute(null=True)


class StatsRecord(Model):
    """The published counts for one area and reporting year: one item, one read. Each count is
    added to in the same transaction as the case step that causes it. No personal data."""

    class Meta(_Meta):
        table_name = _table_name("stats")

    area = UnicodeAttribute(hash_key=True)
    year = NumberAttribute(range_key=True)
    applications = NumberAttribute(default=0)
    threshold_not_met = NumberAttribute(default=0)
    reviews_carried_out = NumberAttribute(default=0)
    reviews_with_recommendations = NumberAttribute(default=0)
    appeals_received = NumberAttribute(default=0)
    appeals_upheld = NumberAttribute(default=0)
    agency_reviews_started = NumberAttribute(default=0)
    # One entry per threshold decision in the year: working days from the completed application
    # (the data return's median). Appended with the decision, so the median is still one read.
    decision_working_days = ListAttribute(of=NumberAttribute, null=True)
    updated_at = UnicodeAttribute(null=True)


class ConsoleSessionRecord(Model):
    """A signed-in console session. Keyed by the SHA-256 of the cookie's random id, so what is
    stored cannot be replayed as a cookie. Holds who signed in (as the identity provider said at
    sign-in) and the session's CSRF secret. DynamoDB deletes it some time after expires_at; the
    code checks the idle and absolute limits itself."""

    class Meta(_Meta):
        table_name = _table_name("console-sessions")

    session_hash = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute()
    name = UnicodeAttribute()
    roles = UnicodeAttribute()  # space-separated, as Principal.to_context
    areas = UnicodeAttribute()
    csrf_secret = UnicodeAttribute()
    created_at = UnicodeAttribute()  # UTC instants, ISO 8601
    last_seen = UnicodeAttribute()
    expires_at = TTLAttribute()  # the earlier of the idle and the absolute end


class SubjectAccessExportRecord(Model):
    """A subject access export an administrator made: who made it, when, for whom (the requester's
    name) and why, which cases and roles it covered, and the export itself (gzipped JSON: letters
    make it long). It holds personal data, so DynamoDB deletes it after 30 days (expires_at); the
    code refuses it from then on too. Each case it covered has an audit event naming its id."""

    class Meta(_Meta):
        table_name = _table_name("subject-access-exports")

    export_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute()  # UTC instant, ISO 8601
    actor = UnicodeAttribute()  # Principal.actor: the administrator's name and subject
    requester = UnicodeAttribute()  # who asked (the data subject or their representative)
    reason = UnicodeAttribute()
    cases = JSONAttribute()  # [{"reference", "role"}]
    body = BinaryAttribute(legacy_encoding=False)  # gzip of the export's JSON
    expires_at = TTLAttribute()


class CaseViewRecord(Model):
    """Who looked at a case, and when: one item for each view of a case or one of its letters, by
    the console or the staff API (CaseWork.detail and CaseWork.letter write it, one PutItem).
    The case page shows the latest; a complaint or subject access request can be answered from
    it. Kept as long as the case's audit trail: no expiry."""

    class Meta(_Meta):
        table_name = _table_name("case-views")

    ref = UnicodeAttribute(hash_key=True)
    viewed = UnicodeAttribute(range_key=True)  # "<at>#<subject>#<what>": in time order
    at = UnicodeAttribute()  # UTC instant, ISO 8601 (as the audit trail's)
    actor = UnicodeAttribute()  # as the audit trail names people: "Pat SPOC (user-pat)"
    what = UnicodeAttribute()  # "case" | "letter:<letter id>"


ALL_TABLES: tuple[Type[Model], ...] = (CaseRecord, AuditEvent, LetterRecord, IdempotencyRecord, EqualitiesRecord,
                                       PartnerRequestRecord, PartnerReturnRecord, NoticeRecord, StatsRecord,
                                       SearchTermRecord, ConsoleSessionRecord, SubjectAccessExportRecord,
                                       CaseViewRecord)


def table_suffix(model: Type[Model]) -> str:
    """The part of a table's name after the prefix, e.g. "partner-requests"."""
    return model.Meta.table_name.removeprefix(os.environ.get("TABLE_PREFIX", DEFAULT_PREFIX) + "-")


def reset_connections() -> None:
    """PynamoDB caches a connection per model class; drop them after changing endpoint or credentials."""
    for model in ALL_TABLES:
        model._connection = None  # noqa: SLF001 - documented way to force a new connection
