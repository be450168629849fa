"""Use cases for staff: the SPOC works a case from application to closure; the appeals body
handles appeals. Every step goes through `_apply`: check the person may act for the case's area,
check the step is allowed from the case's state, change the case, and store the change, its
audit event and its letters in one transaction guarded by the case's version (optimistic
locking: a second, stale edit gets a Conflict and changes nothing). Letters are then sent."""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from pynamodb.exceptions import TransactWriteError

from .adapters.repository import CaseRepository, CountChange
from .adapters.tables import AuditEvent, CaseRecord, LetterRecord
from .auth import Principal
from .case_index import BadCursor, default_secret, term_records  # noqa: F401 - BadCursor: what case_list raises
from .clock import iso, london_date
from .domain.case import (IllegalStep, LetterPlan, Status, allowed_steps, calendar_for, completed_on, due_after,
                          next_status, stage_due)
from .domain.deadlines import deadline_current
from .domain.policy import Policy
from .domain.retention import case_expiry
from .domain.stats import reporting_year_of, step_appends, step_counts, working_days_to_decision, year_bounds
from .letters import LetterRenderer, date_posted
from .outbox import Person, compose_letters
from .partner_links import new_nonce
from .partner_returns import plan_requests_for, request_emails, request_records
from .receipts import delivery_view
from .staff_schemas import (
    AcknowledgementIn,
    ActionUpdateIn,
    AgencyReviewIn,
    AppealDecisionIn,
    AppealIn,
    CloseIn,
    ConsentIn,
    DecisionIn,
    DraftPlanIn,
    MeetingIn,
    OutcomeIn,
    RejectIn,
    StaffInvalid,
    WithdrawIn,
)
from .staff_schemas import LegalHoldIn, LegalHoldLiftIn

log = logging.getLogger(__name__)

# Set while a step runs as a preview (CaseWork.preview): _apply then renders and returns the letters
# instead of storing the change. A context variable, so concurrent requests never see each other's.
_PREVIEW: ContextVar[bool] = ContextVar("casework_preview", default=False)

SOON_WORKING_DAYS = 3
DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # rows per page of the case list


def reporting_year(basis: str, year: int | None, today: date) -> tuple[date, date]:
    """The area's reporting year (financial, named by its first year, or calendar); without a
    year, the one containing today."""
    return year_bounds(year if year is not None else reporting_year_of(today, basis), basis)


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


class BadQuery(Exception):
    """What was typed in the search box cannot be a reference, a postcode or a name."""


class Conflict(Exception):
    """The case changed since it was read, or the step is not allowed from its state."""

    def __init__(self, message: str, current_status: str, version: int | None):
        self.current_status = current_status
        self.version = version
        super().__init__(message)


@dataclass
class Change:
    """What a step does besides moving the state: letters to send and items to write with it."""

    letters: list[LetterPlan]
    letter_context: dict[str, Any]
    detail: dict[str, Any]
    extra_items: list[Any]  # new items written with the step (new letters are stored as new, once)
    updated: list[Any] = field(default_factory=list)  # existing items the step changes (requests, cancelled emails)


def _deadline(case: CaseRecord, name: str, due: date | None = None, met_on: date | None = None) -> None:
    deadlines = dict(case.deadlines or {})
    entry = dict(deadlines.get(name) or {"due": None, "met_on": None})
    if due is not None:
        entry["due"] = due.isoformat()
    if met_on is not None and not entry.get("met_on"):
        entry["met_on"] = met_on.isoformat()
    deadlines[name] = entry
    case.deadlines = deadlines


def _appeal_open(appeal: dict[str, Any] | None) -> bool:
    return bool(appeal and appeal.get("status") in ("lodged", "acknowledged"))


def _appeal_allowed(appeal: dict[str, Any] | None) -> bool:
    """Whether the case's latest decision can still be appealed, as far as its appeals go: one
    appeal per decision. None yet, or the last one upheld (its decision was replaced by a new
    one, with a window of its own). An appeal decided not upheld ends the process for that
    decision: the appeals body's decision is the last word (the Ombudsman's complaint routes remain)."""
    return not appeal or appeal.get("status") == "upheld"


def open_deadlines(case_deadlines: dict[str, Any] | None, status: str,
                   appeal: dict[str, Any] | None) -> list[tuple[str, date]]:
    """The deadlines the case still waits for in its present state (a withdrawn case's threshold
    decision is not 'overdue': it will never be made)."""
    from .domain.case_list import current_deadlines

    return current_deadlines(case_deadlines, status, appeal)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def retention_of(case: CaseRecord, policy: Policy) -> tuple[date | None, datetime | None]:
    """(the day the case is deleted, the TTL instant), or (None, None): not ended, appealed or held."""
    return case_expiry(case.status, ending=case.ending, decision=case.decision, appeal=case.appeal,
                       appeal_window_closes=case.appeal_window_closes, legal_hold=case.legal_hold,
                       retention_years=policy.area.retention_years)


def _both(on_behalf: bool) -> list[str]:
    """Decision letters go to the applicant, with a copy to the victim when someone applied for them."""
    return ["applicant", "victim"] if on_behalf else ["applicant"]


def _everyone(case: CaseRecord) -> list[str]:
    """Who is kept informed of each stage: the applicant and, where someone else applied, the victim
    (2025 guidance). A review an agency started has no applicant: the victim is told."""
    if case.basis == "agency":
        return ["victim"]
    return _both(case.basis == "on_behalf")


def _updates_wanted(case: CaseRecord) -> bool:
    """Progress updates between the decisions (not the decision letters themselves) go only to those
    who asked to be kept informed; the application's keep_informed answer is that choice."""
    return bool((case.application or {}).get("keep_informed", True))



def _meeting_dict(meeting: MeetingIn) -> dict[str, Any]:
    return meeting.model_dump(mode="json")


def _meeting_ctx(meeting: dict[str, Any] | None) -> dict[str, Any] | None:
    if not meeting:
        return None
    return {"date": date.fromisoformat(meeting["date"]), "time": meeting["time"], "place": meeting.get("place"),
            "online": meeting.get("online", False), "chair": meeting["chair"], "agencies": meeting["agencies"],
            "victim_invited": meeting["victim_invited"]}


@dataclass
class CaseWork:
    policies: dict[str, Policy]
    renderer: LetterRenderer
    repo: CaseRepository
    clock: Callable[[], datetime]
    # The secret the search terms are hashed with and cursors signed with (the partner-link secret).
    secret: Callable[[], bytes] = field(default=default_secret)
    _ready: set[str] = field(default_factory=set, repr=False)  # areas whose older cases are backfilled

    # ---------------------------------------------------------------- reading

    def _load(self, principal: Principal, ref: str, *roles: str) -> tuple[CaseRecord, Policy]:
        case = self.repo.get_case(ref)
        if case is None:
            raise NotFound(ref)
        if not principal.covers(case.area) or not principal.has_role(*roles):
            raise Forbidden(ref)
        return case, self.policies[case.area]

    def check_access(self, principal: Principal, ref: str, *roles: str) -> None:
        """Before reading what was sent: someone without access learns nothing, not even the rules."""
        self._load(principal, ref, *roles)

    def case_list(self, principal: Principal, *, status: str | None = None, due: str | None = None,
                  area: str | None = None, q: str | None = None, limit: int = DEFAULT_LIMIT,
                  cursor: str | None = None) -> dict[str, Any]:
        """"My cases": the cases of the person's areas, overdue first, then due soon, then by next
        deadline, then newest; a page of `limit` (at most 100) and the cursor of the next page (None
        at the end). `q` searches instead: a reference (any case of my areas), a surname or full name
        of the applicant or victim, or the victim's or the behaviour's postcode. Raises Forbidden
        (not a SPOC, or an area not theirs), BadCursor, BadQuery."""
        from .case_index import ListFilter, decode_cursor, encode_cursor, read_legacy, read_list, ready_areas, row, search
        from .domain.case_list import classify_query

        if not principal.has_role("spoc"):
            raise Forbidden("list")
        areas = [a for a in sorted(self.policies) if principal.covers(a) and (area is None or a == area)]
        if area is not None and not areas:
            raise Forbidden(area)
        limit = max(1, min(MAX_LIMIT, limit))
        today = london_date(self.clock())
        flt = ListFilter(status, due, today, {a: calendar_for(self.policies[a]).working_days_after(today, SOON_WORKING_DAYS)
                                              for a in areas})
        if q is not None:
            kind = classify_query(q)
            if kind is None:
                raise BadQuery("Type a case reference, a postcode, or a name of at least two letters")
            if kind[0] == "reference":
                case = self.repo.get_case(kind[1])
                found = [row(case, today, flt.soon[case.area])] if case is not None and case.area in areas else []
                return {"cases": [line for line in found if flt.keeps(line)], "next_cursor": None}
            return {"cases": search(self.secret(), areas, kind[0], kind[1], flt, limit), "next_cursor": None}
        missing = [a for a in areas if a not in self._ready]
        if missing:
            self._ready |= ready_areas(missing)  # once ready, always ready: asked again only until then
        legacy = any(a not in self._ready for a in areas)
        scope = ["legacy" if legacy else "list", areas, status, due, limit]
        at = decode_cursor(self.secret(), cursor, scope)["at"] if cursor else {}
        cases, positions = (read_legacy if legacy else read_list)(areas, flt, limit, at)
        return {"cases": cases, "next_cursor": encode_cursor(self.secret(), {"scope": scope, "at": positions})
                if positions is not None else None}

    def list_cases(self, principal: Principal, *, status: str | None = None, due: str | None = None,
                   area: str | None = None) -> list[dict[str, Any]]:
        """Every matching case, all pages (for reports over a bounded set, e.g. the overdue)."""
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.case_list(principal, status=status, due=due, area=area, limit=MAX_LIMIT, cursor=cursor)
            out += page["cases"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out

    def deadline_report(self, principal: Principal, area: str, year: int | None) -> dict[str, Any]:
        """Per area and reporting year: each deadline met on time, met late, missed or still
        pending, counted over the cases received that year; and the cases overdue now."""
        if area not in self.policies:
            raise NotFound(area)
        if not principal.has_role("spoc", "appeals") or not principal.covers(area):
            raise Forbidden(area)
        policy = self.policies[area]
        today = london_date(self.clock())
        start, end = reporting_year(policy.area.reporting_year, year, today)
        counts: dict[str, dict[str, int]] = {}
        for item in CaseRecord.by_area.query(area, CaseRecord.received_on.between(start.isoformat(), end.isoformat())):
            for raw_name, d in (item.deadlines or {}).items():
                if not d.get("due"):
                    continue
                name = "action" if raw_name.startswith("action_") else raw_name
                due, met_on = date.fromisoformat(d["due"]), d.get("met_on")
                if met_on:
                    result = "met" if date.fromisoformat(met_on) <= due else "met_late"
                elif not deadline_current(raw_name, Status(item.status), _appeal_open(item.appeal)):
                    result = "ended"  # the case left that stage without it (withdrawn, rejected, closed)
                else:
                    result = "missed" if due < today else "pending"
                bucket = counts.setdefault(name, {"met": 0, "met_late": 0, "missed": 0, "pending": 0, "ended": 0})
                bucket[result] += 1
        overdue = [{"reference": c["reference"], "status": c["status"], "overdue": c["overdue"]}
                   for c in self.list_cases(Principal(principal.subject, principal.name, frozenset({"spoc"}),
                                                      frozenset({area})), due="overdue")]
        return {"area": area, "reporting_year": {"basis": policy.area.reporting_year, "from": start.isoformat(),
                                                 "to": end.isoformat()},
                "deadlines": counts, "overdue_now": overdue, "generated_on": today.isoformat()}

    def _viewed(self, principal: Principal, ref: str, what: str) -> None:
        """Every look at a case is in its record of views: who, when, what (after the access check)."""
        self.repo.record_view(ref, at=iso(self.clock()), subject=principal.subject, actor=principal.actor, what=what)

    def detail(self, principal: Principal, ref: str) -> dict[str, Any]:
        case, policy = self._load(principal, ref, "spoc", "appeals")
        self._viewed(principal, ref, "case")
        returns = self.repo.latest_returns(ref)
        audit = self.repo.audit(ref)
        return {
            "reference": case.ref, "area": case.area, "status": case.status, "version": case.version,
            "channel": case.channel, "received_at": case.received_at, "received_on": case.received_on,
            "next_steps": allowed_steps(Status(case.status)),
            "application": case.application,  # the equalities answers are stored apart and never shown here
            "deadlines": case.deadlines, "pre_assessment": case.pre_assessment,
            "consent": case.consent, "acknowledgement": case.acknowledgement, "decision": case.decision,
            "meeting": case.meeting, "draft_plan": case.draft_plan, "outcome": case.outcome,
            "ending": case.ending, "appeal": case.appeal, "appeal_window_closes": case.appeal_window_closes,
            "assessment_closed": case.assessment_closed,
            # When the case and all its data are deleted (None: not ended, appealed, or held).
            "retention": {"deletes_on": _iso(retention_of(case, policy)[0]), "legal_hold": case.legal_hold,
                          "years": policy.area.retention_years},
            "partner_requests": [{
                "id": r.request_id, "partner": r.partner_name, "kind": r.partner_kind, "email": r.email,
                "status": r.status, "due_on": r.due_on, "expires_on": r.expires_on, "latest_version": r.latest_version,
                "return": returns[r.request_id].answers if r.request_id in returns else None,
            } for r in self.repo.requests(ref)],
            "letters": [{"id": l.letter_id, "to": l.recipient_role, "step": l.step, "template": l.template,
                         "channel": l.channel, "status": l.status, "created_at": l.created_at, "sent_at": l.sent_at,
                         "attempts": l.attempts, "delivery": delivery_view(l), "replaces_letter": l.replaces_letter}
                        for l in self.repo.letters(ref)],
            "timeline": [{"at": e.at, "actor": e.actor, "action": e.action, "from": e.from_status, "to": e.to_status,
                          "detail": e.detail} for e in audit],
            "notes": [{"at": e.at, "by": e.actor, "text": (e.detail or {}).get("note")} for e in audit
                      if e.action == "add_note"],
            # What the scheduled sweep did: reminders, missed-deadline alerts, chasers, escalations.
            "notices": [{"at": n.at, "kind": n.kind, "key": n.key, "detail": n.detail} for n in self.repo.notices(ref)],
            # Who looked at the case and its letters lately (this view included), newest first.
            "views": [{"at": v.at, "by": v.actor, "what": v.what} for v in self.repo.recent_views(ref)],
        }

    def letter(self, principal: Principal, ref: str, letter_id: str) -> dict[str, Any]:
        """One letter as its recipient saw it (a partner's email shows a placeholder where its secret
        link was: the link is never stored). A posted letter not yet printed shows today's date."""
        self._load(principal, ref, "spoc", "appeals")
        try:
            letter = LetterRecord.get(ref, letter_id, consistent_read=True)
        except LetterRecord.DoesNotExist:
            raise NotFound(f"{ref} letter {letter_id}") from None
        self._viewed(principal, ref, f"letter:{letter.letter_id}")
        today = london_date(self.clock())
        return {"reference": ref, "letter_id": letter.letter_id, "to": letter.recipient_role, "step": letter.step,
                "channel": letter.channel, "to_email": letter.to_email, "status": letter.status,
                "created_at": letter.created_at, "sent_at": letter.sent_at, "subject": letter.subject,
                "html": date_posted(letter.html, today), "text": date_posted(letter.text, today),
                "delivery": delivery_view(letter), "replaces_letter": letter.replaces_letter}

    def print_queue(self, principal: Principal) -> list[dict[str, Any]]:
        if not principal.has_role("spoc"):
            raise Forbidden("print queue")
        out = []
        today = london_date(self.clock())
        for area_id in sorted(a for a in self.policies if principal.covers(a)):
            for key in LetterRecord.print_queue.query(area_id):
                letter = LetterRecord.get(key.ref, key.letter_id)
                # Shown dated as it will be if printed today; the date is fixed when it is marked printed.
                out.append({"reference": letter.ref, "letter_id": letter.letter_id, "area": area_id,
                            "to": letter.recipient_role, "subject": letter.subject, "queued_at": letter.created_at,
                            "html": date_posted(letter.html, today)})
        return out

    def appeals(self, principal: Principal) -> list[dict[str, Any]]:
        if not principal.has_role("appeals"):
            raise Forbidden("appeals")
        out = []
        for area_id in sorted(a for a in self.policies if principal.covers(a)):
            for key in CaseRecord.appeals.query(area_id):
                case = self.repo.get_case(key.ref)
                if case is not None:
                    deadlines = case.deadlines or {}
                    out.append({"reference": case.ref, "area": area_id, "status": case.status, "appeal": case.appeal,
                                "appeal_window_closes": case.appeal_window_closes,
                                "acknowledge_by": (deadlines.get("appeal_acknowledge") or {}).get("due"),
                                "decide_by": (deadlines.get("appeal_decision") or {}).get("due")})
        return out

    def appealable(self, principal: Principal) -> list[dict[str, Any]]:
        """Cases whose latest decision can still be appealed (the window open, no appeal open), in
        the person's areas. Read from the sparse due-checks index, not a scan: a case with an open
        window carries a check for the day it closes (the sweep's appeal_window_closed), so the
        cost is the areas' open work, never their history."""
        from .domain.case import APPEALABLE

        if not principal.has_role("appeals"):
            raise Forbidden("appeals")
        today = london_date(self.clock()).isoformat()
        out = []
        for area_id in sorted(a for a in self.policies if principal.covers(a)):
            refs = sorted({key.ref for key in CaseRecord.due_checks.query(area_id)})
            for case in (CaseRecord.batch_get(refs) if refs else []):
                if (case.appeal_window_closes and case.appeal_window_closes >= today and _appeal_allowed(case.appeal)
                        and Status(case.status) in APPEALABLE):
                    against = {Status.THRESHOLD_NOT_MET: "threshold_decision", Status.REJECTED: "rejection"}.get(
                        Status(case.status), "review_outcome")
                    out.append({"reference": case.ref, "area": area_id, "status": case.status, "against": against,
                                "appeal_window_closes": case.appeal_window_closes})
        return sorted(out, key=lambda c: (c["appeal_window_closes"], c["reference"]))

    # ---------------------------------------------------------------- previews

    def preview(self, principal: Principal, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a step as a dry run: the same checks and validation, and the letters it would send,
        rendered; nothing is written and nothing is sent. `action` calls one step method."""
        token = _PREVIEW.set(True)
        try:
            return action()
        finally:
            _PREVIEW.reset(token)

    # ---------------------------------------------------------------- the generic step

    def _apply(self, principal: Principal, ref: str, step: str, roles: tuple[str, ...], expected_version: int | None,
               change: Callable[[CaseRecord, Policy, date], Change]) -> dict[str, Any]:
        case, policy = self._load(principal, ref, *roles)
        if expected_version is not None and expected_version != case.version:
            raise Conflict("The case has changed since you loaded it; reload it and try again", case.status, case.version)
        from_status = Status(case.status)
        try:
            to_status = next_status(step, from_status)
        except IllegalStep as exc:
            raise Conflict(f"You cannot {step.replace('_', ' ')} when the case is {from_status.value.replace('_', ' ')}",
                           case.status, case.version) from exc
        now = self.clock()
        today = london_date(now)
        done = change(case, policy, today)
        case.status = to_status.value
        # Every step that ends, reopens, appeals or holds a case goes through here: its deletion
        # date (DynamoDB's TTL) is recomputed from what the case now is.
        case.expires_at = retention_of(case, policy)[1]
        case.check_soon(iso(now))
        letters = self._letters(case, policy, done, today, now)
        if _PREVIEW.get():
            # Everything the step would send, rendered exactly as it will be; nothing is stored or sent.
            sent = letters + [i for i in done.extra_items if isinstance(i, LetterRecord)]
            return {"reference": ref, "step": step, "status": to_status.value, "letters": [
                {"to": l.recipient_role, "step": l.step, "channel": l.channel, "to_email": l.to_email,
                 "subject": l.subject, "html": date_posted(l.html, today), "text": date_posted(l.text, today)}
                for l in sent]}
        audit = AuditEvent(ref, (case.version or 0) + 1, at=iso(now), actor=principal.actor, action=step,
                           from_status=from_status.value, to_status=to_status.value, detail=done.detail)
        counts = CountChange(case.area, reporting_year_of(today, policy.area.reporting_year),
                             step_counts(step, done.detail), iso(now), step_appends(step, done.detail))
        try:
            self.repo.save_step(case=case, audit=audit, letters=letters + [i for i in done.extra_items if isinstance(i, LetterRecord)],
                                items=[i for i in done.extra_items if not isinstance(i, LetterRecord)] + done.updated,
                                counts=counts)
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            current = self.repo.get_case(ref)
            raise Conflict("Someone else changed the case at the same time; reload it and try again",
                           current.status if current else from_status.value, current.version if current else None) from exc
        log.info("case_step", extra={"ref": ref, "area": case.area, "step": step, "status": case.status})
        return {"reference": ref, "status": case.status, "version": case.version,
                "letters": [{"to": l.recipient_role, "step": l.step, "channel": l.channel, "status": l.status}
                            for l in letters]}

    def _letters(self, case: CaseRecord, policy: Policy, done: Change, today: date, now: datetime) -> list[LetterRecord]:
        if not done.letters:
            return []
        application = case.application
        victim = Person.from_contact(application["victim"])
        on_behalf = case.basis == "on_behalf"
        applicant = Person.from_contact(application["applicant"]) if on_behalf and application.get("applicant") else victim
        deadlines = {name: date.fromisoformat(d["due"]) for name, d in (case.deadlines or {}).items() if d.get("due")}
        extra = dict(done.letter_context)
        if case.basis == "agency":  # no application: the letters say who started the review
            extra.setdefault("agency_review", {"agency": application["started_by"]["agency"]})
        return compose_letters(plans=done.letters, policy=policy, renderer=self.renderer, ref=case.ref, now=now,
                               letter_date=today, people={"applicant": applicant, "victim": victim}, on_behalf=on_behalf,
                               deadlines=deadlines, assessment_meeting=None,
                               first_id=len(self.repo.letters(case.ref)) + 1, extra=extra)

    # ---------------------------------------------------------------- the steps

    def record_consent(self, principal: Principal, ref: str, data: ConsentIn, version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            calendar = calendar_for(policy)
            case.consent = {"received_on": data.received_on.isoformat(), "evidence": data.evidence, "note": data.note,
                            "recorded_on": today.isoformat()}
            # The application is complete from today: its clock starts now, and it is acknowledged now.
            _deadline(case, "acknowledge", due=due_after(today, policy.timescales.acknowledge, calendar), met_on=today)
            _deadline(case, "threshold_decision", due=due_after(today, policy.timescales.threshold_decision, calendar))
            case.acknowledgement = {"on": today.isoformat(), "how": "letter", "by": "system"}
            existing = len(self.repo.letters(case.ref))
            requests = self._new_requests(case, policy, today, existing)
            return Change([LetterPlan("victim_confirmation", "victim"), LetterPlan("acknowledgement", "applicant")],
                          {}, {"evidence": data.evidence}, requests)

        return self._apply(principal, ref, "record_consent", ("spoc",), version, change)

    def _new_requests(self, case: CaseRecord, policy: Policy, today: date, existing_letters: int,
                      letters_before: int = 2) -> list[Any]:
        """Partner requests for a newly complete application, with their emails; the step's own
        letters (`letters_before` of them) take the next ids, the partner emails follow them."""
        planned = plan_requests_for(case.application, policy, today)
        requests = request_records(planned, ref=case.ref, policy=policy, now=self.clock())
        emails = request_emails(requests, ref=case.ref, policy=policy, renderer=self.renderer, now=self.clock(),
                                applied_on=today, first_id=existing_letters + letters_before + 1)
        return [*requests, *emails]

    def record_acknowledgement(self, principal: Principal, ref: str, data: AcknowledgementIn,
                               version: int | None) -> dict[str, Any]:
        """Staff acknowledged a paper or phone application themselves (by hand, by phone, in a letter
        the system did not send): the fact and its date are recorded and the deadline is met."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if case.acknowledgement:
                raise Conflict(f"The application was already acknowledged on {case.acknowledgement['on']}",
                               case.status, case.version)
            if data.acknowledged_on < date.fromisoformat(case.received_on):
                raise StaffInvalid([{"field": "acknowledged_on",
                                     "message": "The acknowledgement cannot be before the application was received "
                                                f"({case.received_on})"}])
            case.acknowledgement = {"on": data.acknowledged_on.isoformat(), "how": data.how, "by": principal.actor,
                                    "note": data.note}
            _deadline(case, "acknowledge", met_on=data.acknowledged_on)
            return Change([], {}, {"acknowledged_on": data.acknowledged_on.isoformat(), "how": data.how}, [])

        return self._apply(principal, ref, "record_acknowledgement", ("spoc",), version, change)

    def decide_threshold(self, principal: Principal, ref: str, data: DecisionIn, version: int | None) -> dict[str, Any]:
        step = {"met": "decide_met", "not_met": "decide_not_met",
                "accepted_below_threshold": "decide_accepted_below_threshold"}[data.decision]

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            calendar = calendar_for(policy)
            # For the data return's median; a decision made again after an upheld appeal is not timed.
            days = working_days_to_decision(case.deadlines, case.received_on, today, calendar, after_appeal=bool(case.appeal))
            timed = {} if days is None else {"working_days_to_decision": days}
            case.decision = {"outcome": data.decision, "reasons": data.reasons, "senior_officer": data.senior_officer,
                             "decided_on": today.isoformat(), "pre_assessment": (case.pre_assessment or {}).get("result")}
            case.assessment_closed = True  # partners can no longer amend their returns
            _deadline(case, "threshold_decision", met_on=today)
            closed = self._close_requests(case)  # nobody is chased for information after the decision
            ctx: dict[str, Any] = {"decision": {"outcome": data.decision, "reasons": data.reasons, "decided_on": today}}
            if data.decision == "not_met":
                window_end = due_after(today, policy.appeals.window, calendar)
                case.appeal_window_closes = window_end.isoformat()
                ctx["appeal_deadline"] = window_end
                return Change([LetterPlan("threshold_not_met", to) for to in _everyone(case)], ctx,
                              {"decision": data.decision, **timed}, [], closed)
            # Capped at the area's overall maximum to the findings, if it has one.
            meeting_due = stage_due("review_meeting", today, policy, calendar,
                                    completed_on(case.received_on, case.consent, case.deadlines))
            _deadline(case, "review_meeting", due=meeting_due)
            ctx["meeting_due"] = meeting_due
            if data.meeting:
                case.meeting = _meeting_dict(data.meeting)
                ctx["meeting"] = _meeting_ctx(case.meeting)
            return Change([LetterPlan("threshold_met", to) for to in _everyone(case)], ctx,
                          {"decision": data.decision, "meeting_arranged": bool(data.meeting), **timed}, [], closed)

        result = self._apply(principal, ref, step, ("spoc",), version, change)
        if data.decision != "not_met" and data.meeting and not _PREVIEW.get():
            # Letter 5 already gives the date; record the scheduling as its own step without a second letter.
            result = self._schedule(principal, ref, data.meeting, None, send_letter=False)
        return result

    def open_agency_review(self, principal: Principal, data: AgencyReviewIn) -> dict[str, Any]:
        """An agency starts a case review itself, seeing the threshold is met, with no application
        (2025 statutory guidance). The case is recorded as agency-started, goes straight to the review
        stage, and the victim is told; it is counted as a review, not as an application."""
        from .domain.partners import matter_key
        from .domain.reference import new_reference

        if data.area not in self.policies:
            raise StaffInvalid([{"field": "area", "message": f"We do not run the Community Trigger for area '{data.area}'"}])
        if not principal.has_role("spoc") or not principal.covers(data.area):
            raise Forbidden(data.area)
        policy = self.policies[data.area]
        calendar = calendar_for(policy)
        now = self.clock()
        today = london_date(now)
        victim = data.victim.model_dump(mode="json")
        application = {"basis": "agency", "victim": victim, "incidents": [], "keep_informed": True,
                       "asb_location": data.asb_location.model_dump(mode="json") if data.asb_location else None,
                       "summary": data.summary, "started_by": {"agency": data.agency, "officer": data.officer}}
        postcode = (data.asb_location.postcode if data.asb_location and data.asb_location.postcode
                    else data.victim.address.postcode)
        meeting_due = due_after(today, policy.timescales.review_meeting, calendar)
        ref = new_reference()
        while self.repo.get_case(ref) is not None:  # the store's condition is the real guard
            ref = new_reference()
        case = CaseRecord(ref, area=policy.id, status=Status.REVIEW_PENDING.value, basis="agency", channel="agency",
                          received_at=iso(now), received_on=today.isoformat(), application=application,
                          pre_assessment={"result": "met", "assessed_on": today.isoformat(), "rules": [
                              {"rule": "agency_started", "outcome": "pass",
                               "reason": f"{data.agency} started the review, seeing the threshold is met: {data.reasons}"}],
                              "reports": [], "qualifying_occasions": []},
                          deadlines={"review_meeting": {"due": meeting_due.isoformat(), "met_on": None}},
                          matter=matter_key(policy.id, postcode), assessment_closed=True,
                          decision={"outcome": "agency_started", "reasons": data.reasons, "senior_officer": data.officer,
                                    "decided_on": today.isoformat(), "pre_assessment": None})
        case.check_soon(iso(now))
        person = Person.from_contact(victim)
        letters = compose_letters(plans=[LetterPlan("agency_review_started", "victim")], policy=policy,
                                  renderer=self.renderer, ref=ref, now=now, letter_date=today,
                                  people={"applicant": person, "victim": person}, on_behalf=False, deadlines={},
                                  assessment_meeting=None,
                                  extra={"agency_review": {"agency": data.agency, "reasons": data.reasons,
                                                           "meeting_due": meeting_due}})
        if _PREVIEW.get():  # the victim's letter, rendered; no case is made and nothing is sent
            return {"reference": ref, "step": "open_agency_review", "status": case.status, "letters": [
                {"to": l.recipient_role, "step": l.step, "channel": l.channel, "to_email": l.to_email,
                 "subject": l.subject, "html": date_posted(l.html, today), "text": date_posted(l.text, today)}
                for l in letters]}
        audit = AuditEvent(ref, 1, at=iso(now), actor=principal.actor, action="open_agency_review", from_status=None,
                           to_status=case.status, detail={"agency": data.agency, "channel": "agency"})
        counts = CountChange(policy.id, reporting_year_of(today, policy.area.reporting_year),
                             step_counts("open_agency_review"), iso(now))
        self.repo.create_staff_case(case=case, audit=audit, letters=letters, counts=counts,
                                    terms=term_records(self.secret(), ref, policy.id, application))
        log.info("case_step", extra={"ref": ref, "area": policy.id, "step": "open_agency_review", "status": case.status})
        return {"reference": ref, "status": case.status, "version": case.version,
                "letters": [{"to": l.recipient_role, "step": l.step, "channel": l.channel, "status": l.status}
                            for l in letters]}

    def schedule_meeting(self, principal: Principal, ref: str, data: MeetingIn, version: int | None) -> dict[str, Any]:
        return self._schedule(principal, ref, data, version, send_letter=True)

    def _schedule(self, principal: Principal, ref: str, data: MeetingIn, version: int | None, *,
                  send_letter: bool) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            rescheduled = case.meeting["date"] if case.meeting and case.status == Status.MEETING_SCHEDULED else None
            case.meeting = _meeting_dict(data)
            _deadline(case, "outcome_letter", due=stage_due("outcome_letter", data.date, policy, calendar_for(policy),
                                                            completed_on(case.received_on, case.consent, case.deadlines)))
            letters = [LetterPlan("meeting_arranged", to) for to in _everyone(case)] if send_letter else []
            return Change(letters, {"meeting": _meeting_ctx(case.meeting)},
                          {"meeting_on": data.date.isoformat(), "agencies": len(data.agencies),
                           **({"rescheduled_from": rescheduled} if rescheduled else {})}, [])

        return self._apply(principal, ref, "schedule_meeting", ("spoc",), version, change)

    def _check_held_on(self, case: CaseRecord, held_on: date) -> None:
        """A meeting cannot be recorded as held before the day it was arranged for: reschedule first."""
        scheduled = date.fromisoformat(case.meeting["date"]) if case.meeting else None
        if scheduled and held_on < scheduled:
            raise StaffInvalid([{"field": "held_on", "message":
                                 f"The meeting was arranged for {scheduled.isoformat()}; a meeting held earlier "
                                 "must first be rescheduled to the day it was held"}])

    def send_draft_plan(self, principal: Principal, ref: str, data: DraftPlanIn, version: int | None) -> dict[str, Any]:
        """After the meeting: the draft action plan goes to the applicant (and victim) for their views by
        a date, before the final plan and outcome letter (2025 guidance). Sending a revised draft again
        is allowed; each one is kept."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            calendar = calendar_for(policy)
            self._check_held_on(case, data.held_on)
            respond_by = data.respond_by or due_after(today, policy.timescales.draft_plan_response, calendar)
            if respond_by <= today:
                raise StaffInvalid([{"field": "respond_by", "message": "The date to respond by must be after today"}])
            actions = [{"id": f"A{n}", **a.model_dump(mode="json")} for n, a in enumerate(data.actions, start=1)]
            # The case keeps the latest draft in full and when each was sent; every draft's whole text is
            # in its letter, so revisions never grow the case past what one item can hold.
            sent = [*(case.draft_plan or {}).get("sent", []), {"on": today.isoformat(), "respond_by": respond_by.isoformat()}]
            case.draft_plan = {"held_on": data.held_on.isoformat(), "sent": sent, "latest": {
                "findings": data.findings, "recommendations": data.recommendations, "actions": actions}}
            drafts = sent
            _deadline(case, "review_meeting", met_on=data.held_on)
            deadlines = dict(case.deadlines or {})
            deadlines["draft_plan_response"] = {"due": respond_by.isoformat(), "met_on": None}
            # The outcome letter follows the views: its timescale counts from the response date.
            deadlines["outcome_letter"] = {"due": due_after(respond_by, policy.timescales.outcome_letter, calendar).isoformat(),
                                           "met_on": None}
            case.deadlines = deadlines
            ctx = {"draft_plan": {"held_on": data.held_on, "respond_by": respond_by, "findings": data.findings,
                                  "recommendations": data.recommendations, "revision": len(drafts),
                                  "actions": [{"description": a.description, "agency": a.agency,
                                               "lead_officer": a.lead_officer, "due_on": a.due_on} for a in data.actions]},
                   "meeting": _meeting_ctx(case.meeting)}
            return Change([LetterPlan("draft_plan", to) for to in _everyone(case)], ctx,
                          {"held_on": data.held_on.isoformat(), "respond_by": respond_by.isoformat(),
                           "revision": len(drafts), "actions": len(actions)}, [])

        return self._apply(principal, ref, "send_draft_plan", ("spoc",), version, change)

    def record_outcome(self, principal: Principal, ref: str, data: OutcomeIn, version: int | None) -> dict[str, Any]:
        step = "record_outcome_actions" if data.actions else "record_outcome_no_further_action"

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            calendar = calendar_for(policy)
            self._check_held_on(case, data.held_on)
            draft = case.draft_plan or {}
            if draft and data.held_on.isoformat() != draft.get("held_on"):
                raise StaffInvalid([{"field": "held_on", "message":
                                     f"The draft plan said the meeting was held on {draft['held_on']}; use that date"}])
            actions = [{"id": f"A{n}", **a.model_dump(mode="json"), "status": "open", "progress": []}
                       for n, a in enumerate(data.actions, start=1)]
            case.outcome = {"held_on": data.held_on.isoformat(), "findings": data.findings,
                            "recommendations": data.recommendations, "actions": actions,
                            "not_recommended": [n.model_dump() for n in data.not_recommended], "sent_on": today.isoformat(),
                            "views_on_draft": data.views_on_draft}
            case.outcome_sent_on = today.isoformat()  # the sparse index of outcome letters per matter
            _deadline(case, "review_meeting", met_on=data.held_on)
            if draft:
                _deadline(case, "draft_plan_response", met_on=today)
                _deadline(case, "outcome_letter", met_on=today)
            else:
                _deadline(case, "outcome_letter", due=due_after(data.held_on, policy.timescales.outcome_letter, calendar),
                          met_on=today)
            for action in actions:
                _deadline(case, f"action_{action['id']}", due=date.fromisoformat(action["due_on"]))
            window_end = due_after(today, policy.appeals.window, calendar)
            case.appeal_window_closes = window_end.isoformat()
            if not data.actions:
                case.ending = {"kind": "closed", "reason": "Case review held; no further action", "on": today.isoformat()}
            latest_draft = (draft.get("sent") or [None])[-1]
            ctx = {"outcome": {"held_on": data.held_on, "findings": data.findings, "recommendations": data.recommendations,
                               "actions": [{"description": a.description, "agency": a.agency, "lead_officer": a.lead_officer,
                                            "due_on": a.due_on, "victim_agreed": a.victim_agreed} for a in data.actions],
                               "not_recommended": [n.model_dump() for n in data.not_recommended],
                               "views_on_draft": data.views_on_draft,
                               "draft_sent_on": date.fromisoformat(latest_draft["on"]) if latest_draft else None},
                   "appeal_deadline": window_end, "meeting": _meeting_ctx(case.meeting)}
            letter_step = "outcome_actions" if data.actions else "outcome_no_further_action"
            return Change([LetterPlan(letter_step, to) for to in _everyone(case)], ctx,
                          {"actions": len(actions), "recommendations": len(data.recommendations),
                           "held_on": data.held_on.isoformat()}, [])

        return self._apply(principal, ref, step, ("spoc",), version, change)

    def update_action(self, principal: Principal, ref: str, action_id: str, data: ActionUpdateIn,
                      version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            outcome = dict(case.outcome or {})
            actions = [dict(a) for a in outcome.get("actions", [])]
            match = next((a for a in actions if a["id"] == action_id), None)
            if match is None:
                raise NotFound(f"{ref} action {action_id}")
            previous = match["status"]
            match["status"] = data.status
            match["progress"] = [*match.get("progress", []), {"on": today.isoformat(), "status": data.status,
                                                              "note": data.note, "by": principal.actor}]
            outcome["actions"] = actions
            case.outcome = outcome
            letters: list[LetterPlan] = []
            if data.status in ("done", "not_viable"):
                _deadline(case, f"action_{action_id}", met_on=today)
                if previous != data.status and _updates_wanted(case):
                    letters = [LetterPlan("update", to) for to in _everyone(case)]
            ctx = {"update": {"stage": "action_progress", "action": {
                "description": match["description"], "agency": match["agency"], "status": data.status,
                "due_on": date.fromisoformat(match["due_on"])},
                "open_actions": sum(1 for a in actions if a["status"] == "open")}}
            return Change(letters, ctx, {"action": action_id, "status": data.status}, [])

        return self._apply(principal, ref, "update_action", ("spoc",), version, change)

    def close(self, principal: Principal, ref: str, data: CloseIn, version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            outcome = dict(case.outcome or {})
            actions = [dict(a) for a in outcome.get("actions", [])]
            still_open = [a for a in actions if a.get("status") == "open"]
            if still_open and data.open_actions != "hand_to_agencies":
                raise StaffInvalid([{"field": "open_actions", "message":
                                     f"{len(still_open)} action{'s are' if len(still_open) != 1 else ' is'} still open "
                                     f"({', '.join(a['id'] for a in still_open)}): record {'them' if len(still_open) != 1 else 'it'} "
                                     f"as done or not viable, or choose to hand {'them' if len(still_open) != 1 else 'it'} "
                                     "to the agencies' normal work and say why"}])
            handed = []
            for action in still_open:
                action["status"] = "handed_over"
                action["progress"] = [*action.get("progress", []), {"on": today.isoformat(), "status": "handed_over",
                                                                    "note": data.handover_reason, "by": principal.actor}]
                _deadline(case, f"action_{action['id']}", met_on=today)
                handed.append({"description": action["description"], "agency": action["agency"],
                               "lead_officer": action["lead_officer"]})
            if still_open:
                outcome["actions"] = actions
                case.outcome = outcome
            case.ending = {"kind": "closed", "reason": data.reason, "on": today.isoformat(),
                           "handed_over": [a["id"] for a in still_open], "handover_reason": data.handover_reason}
            return Change([LetterPlan("closed", to) for to in _everyone(case)],
                          {"closure": {"reason": data.reason, "on": today, "handed_over": handed,
                                       "handover_reason": data.handover_reason if handed else None}},
                          {"open_actions_at_closure": [a["id"] for a in still_open],
                           "handed_to_agencies": bool(still_open)}, [], self._close_requests(case))

        return self._apply(principal, ref, "close", ("spoc",), version, change)

    def withdraw(self, principal: Principal, ref: str, data: WithdrawIn, version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            case.ending = {"kind": "withdrawn", "reason": data.reason, "note": data.note, "on": today.isoformat()}
            case.assessment_closed = True
            return Change([LetterPlan("withdrawn", to) for to in _everyone(case)],
                          {"withdrawal": {"reason": data.reason, "note": data.note}}, {"reason": data.reason},
                          [], self._close_requests(case))

        return self._apply(principal, ref, "withdraw", ("spoc",), version, change)

    def reject(self, principal: Principal, ref: str, data: RejectIn, version: int | None) -> dict[str, Any]:
        """A rejection is a decision not to review: like a threshold-not-met decision it can be appealed
        to the appeals body within the window, and the letter gives the last day."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            case.ending = {"kind": "rejected", "reason": data.reason, "note": data.note, "on": today.isoformat(),
                           "while": case.status}
            case.assessment_closed = True
            window_end = due_after(today, policy.appeals.window, calendar_for(policy))
            case.appeal_window_closes = window_end.isoformat()
            return Change([LetterPlan("rejected", to) for to in _everyone(case)],
                          {"rejection": {"reason": data.reason, "note": data.note}, "appeal_deadline": window_end},
                          {"reason": data.reason}, [], self._close_requests(case))

        return self._apply(principal, ref, "reject", ("spoc",), version, change)

    def _close_requests(self, case: CaseRecord) -> list[Any]:
        """Partner requests still open end with the stage they belong to (a decision, or the case
        ending), in the same transaction: nobody is chased again and their links show that the
        case is closed. Emails about them still waiting to be sent are cancelled."""
        changed: list[Any] = []
        closed_ids = set()
        for request in self.repo.requests(case.ref):
            if request.status in ("requested", "no_address"):  # a returned one stays returned, as a record
                request.status = "closed"
                changed.append(request)
                closed_ids.add(request.request_id)
        for letter in self.repo.letters(case.ref):
            if letter.status == "pending" and letter.recipient_role == "partner" and letter.link_request_id in closed_ids:
                letter.status, letter.retry_area, letter.retry_at = "cancelled", None, None
                letter.last_error = "The request was closed before the email was sent"
                changed.append(letter)
        return changed

    def _reopen_requests(self, case: CaseRecord, policy: Policy, today: date, letters_before: int) -> list[Any]:
        """An upheld appeal sends the case back to assessment: requests closed unanswered are issued
        again with a new due date and a new link (the old one stays refused), or made anew if the
        case never had any (a rejection while consent was awaited)."""
        existing = self.repo.requests(case.ref)
        if not existing:
            return self._new_requests(case, policy, today, len(self.repo.letters(case.ref)), letters_before)
        calendar = calendar_for(policy)
        due_on = due_after(today, policy.timescales.partner_return, calendar)
        expires_on = due_after(due_on, policy.timescales.partner_link_grace, calendar)
        reopened = []
        for request in existing:
            if request.status == "closed":
                request.status = "requested" if request.email else "no_address"
                request.due_on, request.expires_on = due_on.isoformat(), expires_on.isoformat()
                request.nonce, request.token_hash = new_nonce(), None
                reopened.append(request)
        emails = request_emails(reopened, ref=case.ref, policy=policy, renderer=self.renderer, now=self.clock(),
                                applied_on=date.fromisoformat(case.received_on),
                                first_id=len(self.repo.letters(case.ref)) + letters_before + 1)
        return [*reopened, *emails]  # the requests are saved over (version-checked), the emails are new

    # ---------------------------------------------------------------- appeals (the appeals body)

    def lodge_appeal(self, principal: Principal, ref: str, data: AppealIn, version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if _appeal_open(case.appeal):
                raise Conflict("An appeal is already open for this case", case.status, case.version)
            if not _appeal_allowed(case.appeal):
                raise Conflict("This decision has already been appealed and the appeal was not upheld", case.status,
                               case.version)
            expected = {Status.THRESHOLD_NOT_MET: "threshold_decision", Status.REJECTED: "rejection"}.get(
                Status(case.status), "review_outcome")
            if data.against != expected:
                raise Conflict(f"This case's latest decision is its {expected.replace('_', ' ')}", case.status, case.version)
            if not case.appeal_window_closes:
                raise Conflict("This case's latest decision has no appeal window open", case.status, case.version)
            if data.lodged_on > date.fromisoformat(case.appeal_window_closes):
                raise Conflict(f"The appeal window closed on {case.appeal_window_closes}", case.status, case.version)
            calendar = calendar_for(policy)
            decide_by = due_after(data.lodged_on, policy.appeals.decide, calendar)
            case.appeal = {"against": data.against, "lodged_on": data.lodged_on.isoformat(), "grounds": data.grounds,
                           "status": "lodged", "decide_by": decide_by.isoformat(), "upheld": None, "reasons": None}
            case.appeal_area, case.appeal_lodged_on = case.area, data.lodged_on.isoformat()
            _deadline(case, "appeal_acknowledge", due=due_after(data.lodged_on, policy.appeals.acknowledge, calendar))
            _deadline(case, "appeal_decision", due=decide_by)
            return Change([], {}, {"against": data.against}, [])

        return self._apply(principal, ref, "lodge_appeal", ("appeals",), version, change)

    def _appeal_ctx(self, case: CaseRecord) -> dict[str, Any]:
        a = case.appeal or {}
        return {"appeal": {"against": a.get("against"), "lodged_on": date.fromisoformat(a["lodged_on"]),
                           "decide_by": date.fromisoformat(a["decide_by"]), "upheld": a.get("upheld"),
                           "reasons": a.get("reasons")}}

    def acknowledge_appeal(self, principal: Principal, ref: str, version: int | None) -> dict[str, Any]:
        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if not case.appeal or case.appeal.get("status") != "lodged":
                raise Conflict("There is no newly lodged appeal to acknowledge", case.status, case.version)
            case.appeal = {**case.appeal, "status": "acknowledged", "acknowledged_on": today.isoformat()}
            _deadline(case, "appeal_acknowledge", met_on=today)
            return Change([LetterPlan("appeal_acknowledgement", to) for to in _everyone(case)],
                          self._appeal_ctx(case), {}, [])

        return self._apply(principal, ref, "acknowledge_appeal", ("appeals",), version, change)

    def decide_appeal(self, principal: Principal, ref: str, data: AppealDecisionIn, version: int | None) -> dict[str, Any]:
        case, _ = self._load(principal, ref, "appeals")
        if not data.upheld:
            step = "decide_appeal_not_upheld"
        elif case.status == Status.THRESHOLD_NOT_MET:
            step = "uphold_appeal_threshold"
        elif case.status == Status.REJECTED:
            still_needs_consent = (case.ending or {}).get("while") == Status.AWAITING_CONSENT.value
            step = "uphold_appeal_rejection_awaiting_consent" if still_needs_consent else "uphold_appeal_rejection"
        else:
            step = "uphold_appeal_outcome"

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if not case.appeal or case.appeal.get("status") not in ("lodged", "acknowledged"):
                raise Conflict("There is no open appeal to decide", case.status, case.version)
            case.appeal = {**case.appeal, "status": "upheld" if data.upheld else "not_upheld", "upheld": data.upheld,
                           "reasons": data.reasons, "decided_on": today.isoformat()}
            _deadline(case, "appeal_acknowledge", met_on=today)
            _deadline(case, "appeal_decision", met_on=today)
            letters = [LetterPlan("appeal_decision", to) for to in _everyone(case)]
            extra: list[Any] = []
            if data.upheld:
                calendar = calendar_for(policy)
                case.appeal_window_closes = None
                deadlines = dict(case.deadlines or {})
                if step in ("uphold_appeal_threshold", "uphold_appeal_rejection"):
                    # A fresh threshold decision: partners may add to their returns again, and those
                    # who had not answered are asked again.
                    case.assessment_closed = False
                    case.decision = None
                    case.ending = None
                    case.returns_complete_notified = False
                    deadlines["threshold_decision"] = {"due": due_after(today, policy.timescales.threshold_decision,
                                                                        calendar).isoformat(), "met_on": None}
                    case.deadlines = deadlines
                    extra = self._reopen_requests(case, policy, today, len(letters))
                elif step == "uphold_appeal_rejection_awaiting_consent":
                    case.ending = None
                    case.assessment_closed = False
                else:
                    case.ending = None
                    deadlines["review_meeting"] = {"due": due_after(today, policy.timescales.review_meeting,
                                                                    calendar).isoformat(), "met_on": None}
                    case.deadlines = deadlines
            return Change(letters, self._appeal_ctx(case), {"upheld": data.upheld}, extra)

        return self._apply(principal, ref, step, ("appeals",), version, change)

    # ---------------------------------------------------------------- letters and links

    def mark_printed(self, principal: Principal, ref: str, letter_id: str) -> dict[str, Any]:
        case, _ = self._load(principal, ref, "spoc")
        letter = next((l for l in self.repo.letters(ref) if l.letter_id == letter_id), None)
        if letter is None or letter.status != "print_queued":
            raise NotFound(f"{ref} letter {letter_id} in the print queue")
        now = self.clock()
        printed_on = london_date(now)
        self.repo.mark_printed(letter, iso(now), html=date_posted(letter.html, printed_on),
                               text=date_posted(letter.text, printed_on))
        return {"reference": ref, "letter_id": letter_id, "status": "printed", "dated": printed_on.isoformat()}

    def partner_request(self, principal: Principal, ref: str, request_id: str, action: str, data: Any,
                        version: int | None) -> dict[str, Any]:
        """Work one partner request while the threshold is assessed: `resend` the email with the same
        link; `reissue` a new link (the old one stops working), optionally with a new due date; or
        give an `address` (a partner the policy does not know, or a corrected address) and send it.
        Each is in the case's timeline; the email is stored with the change and sent after it."""
        step = {"resend": "resend_partner_request", "reissue": "reissue_partner_link",
                "address": "add_partner_address"}[action]

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            request = self.repo.get_request(ref, request_id)
            if request is None:
                raise NotFound(f"{ref} request {request_id}")
            calendar = calendar_for(policy)
            allowed = {"resend": ("requested",), "reissue": ("requested", "revoked"),
                       "address": ("no_address", "requested", "revoked")}[action]
            if request.status not in allowed:
                raise Conflict(f"The request to {request.partner_name} is {request.status.replace('_', ' ')}: it cannot "
                               f"be {'sent again' if action == 'resend' else 'given a new link'}", case.status, case.version)
            if action == "address":
                request.email = data.email
            if action in ("reissue", "address"):
                if not request.email:
                    raise Conflict(f"There is no address for {request.partner_name}: add one first", case.status,
                                   case.version)
                due = getattr(data, "due_on", None) or date.fromisoformat(request.due_on)
                if getattr(data, "due_on", None) is not None and due <= today:
                    raise StaffInvalid([{"field": "due_on", "message": "The new due date must be after today"}])
                if due <= today:  # the old date has passed: a fresh period from today
                    due = due_after(today, policy.timescales.partner_return, calendar)
                request.due_on = due.isoformat()
                request.expires_on = due_after(due, policy.timescales.partner_link_grace, calendar).isoformat()
                request.nonce, request.token_hash, request.status = new_nonce(), None, "requested"
            emails = request_emails([request], ref=case.ref, policy=policy, renderer=self.renderer, now=self.clock(),
                                    applied_on=date.fromisoformat(case.received_on),
                                    first_id=len(self.repo.letters(case.ref)) + 1)
            return Change([], {}, {"request": request_id, "partner": request.partner_name, "due_on": request.due_on},
                          emails, [request])

        return self._apply(principal, ref, step, ("spoc",), version, change)

    def place_legal_hold(self, principal: Principal, ref: str, data: LegalHoldIn, version: int | None) -> dict[str, Any]:
        """The area's SPOC or an administrator stops the case being deleted (litigation, a complaint,
        the Ombudsman): it is kept, whatever its retention date, until the hold is lifted."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if case.legal_hold:
                raise Conflict(f"The case is already on legal hold (since {case.legal_hold.get('since')})",
                               case.status, case.version)
            case.legal_hold = {"since": today.isoformat(), "by": principal.actor, "reason": data.reason}
            return Change([], {}, {"reason": data.reason}, [])

        return self._apply(principal, ref, "place_legal_hold", ("spoc", "admin"), version, change)

    def lift_legal_hold(self, principal: Principal, ref: str, data: LegalHoldLiftIn, version: int | None) -> dict[str, Any]:
        """The hold ends: the deletion date is worked out again (a date already passed deletes the
        case within a day or two)."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            if not case.legal_hold:
                raise Conflict("The case is not on legal hold", case.status, case.version)
            held = case.legal_hold
            case.legal_hold = None
            return Change([], {}, {"reason": data.reason, "held_since": held.get("since")}, [])

        return self._apply(principal, ref, "lift_legal_hold", ("spoc", "admin"), version, change)

    def add_note(self, principal: Principal, ref: str, data: Any, version: int | None) -> dict[str, Any]:
        """A staff note, kept in the case's audit trail (who wrote it and when); partners never see it."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            return Change([], {}, {"note": data.text}, [])

        return self._apply(principal, ref, "add_note", ("spoc", "appeals"), version, change)

    def mark_many_printed(self, principal: Principal, letters: list[Any]) -> dict[str, Any]:
        """Mark several letters from the print queue as posted; each is reported on its own."""
        if not principal.has_role("spoc"):
            raise Forbidden("print queue")
        from .inputs import ITEM_ID, REF

        results = []
        for item in letters:
            if not (REF.fullmatch(item.reference) and ITEM_ID.fullmatch(item.letter_id)):
                results.append({"reference": item.reference, "letter_id": item.letter_id, "status": "not_in_your_queue"})
                continue  # cannot exist: no read
            try:
                done = self.mark_printed(principal, item.reference, item.letter_id)
                results.append({"reference": item.reference, "letter_id": item.letter_id, "status": done["status"],
                                "dated": done["dated"]})
            except (NotFound, Forbidden):
                results.append({"reference": item.reference, "letter_id": item.letter_id, "status": "not_in_your_queue"})
        return {"letters": results}

    def revoke_partner_link(self, principal: Principal, ref: str, request_id: str) -> dict[str, Any]:
        """Stop a partner's link working (sent to the wrong person, say), in the case's timeline."""

        def change(case: CaseRecord, policy: Policy, today: date) -> Change:
            request = self.repo.get_request(ref, request_id)
            if request is None:
                raise NotFound(f"{ref} request {request_id}")
            request.status = "revoked"
            return Change([], {}, {"request": request_id, "partner": request.partner_name}, [], [request])

        self._apply(principal, ref, "revoke_partner_link", ("spoc",), None, change)
        log.info("partner_link_revoked", extra={"ref": ref, "step": request_id})
        return {"reference": ref, "request_id": request_id, "status": "revoked"}
