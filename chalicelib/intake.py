"""Use case: an application arrives (online form, or staff typing in a phone/paper one).

request -> validate -> plan (state, deadlines, letters) -> pre-assess -> one transaction
(case + audit + letters + equalities + idempotency) -> answer. The letters are sent afterwards,
from the letters table's stream: the applicant waits for no email.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from .adapters.repository import CaseRepository, CountChange, Created, IdempotencyKey, NewCase
from .adapters.tables import AuditEvent, CaseRecord, EqualitiesRecord, LetterRecord, PartnerRequestRecord
from .case_index import default_secret, term_records
from .clock import iso, london_date
from .domain.case import IntakePlan, Status, calendar_for, plan_intake
from .domain.partners import matter_key
from .domain.policy import Policy
from .domain.reference import new_reference
from .domain.stats import reporting_year_of, step_counts
from .domain.threshold import Assessment, Report, assess
from .letters import LetterRenderer
from .outbox import Person, compose_letters, working_email
from .partner_returns import complainant_ids, matter_history, plan_requests_for, request_emails, request_records
from .schemas import ApplicationIn, validate_application

log = logging.getLogger(__name__)

ONLINE_ACTOR = "applicant (online form)"


class BadIdempotencyKey(ValueError):
    pass


def idempotency_key(header: str | None, body: dict[str, Any]) -> IdempotencyKey | None:
    if header is None:
        return None
    if not (1 <= len(header) <= 255) or not header.isprintable():
        raise BadIdempotencyKey("Idempotency-Key must be 1 to 255 printable characters")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return IdempotencyKey(
        key_hash=hashlib.sha256(header.encode()).hexdigest(),
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def reports_from(app: ApplicationIn) -> list[Report]:
    return [
        Report(happened_on=i.happened_on, reported_on=i.reported_on, reported_by=i.reported_by,
               reported_to=i.reported_to, how_reported=i.how_reported, hate_motivated=i.hate_motivated,
               officer_type=i.officer_type, agency_reference=i.agency_reference, description=i.description)
        for i in app.incidents
    ]


@dataclass
class Intake:
    policies: dict[str, Policy]
    renderer: LetterRenderer
    repo: CaseRepository
    clock: Callable[[], datetime]
    make_reference: Callable[[], str] = new_reference
    secret: Callable[[], bytes] = default_secret  # the search terms' key (see chalicelib.case_index)

    def submit(self, body: Any, *, idempotency_header: str | None, channel: str = "online",
               actor: str = ONLINE_ACTOR, acknowledge: bool = True) -> Created:
        """Validate and store an application; raises ApplicationInvalid with every problem.
        `acknowledge=False`: staff entering a paper or phone application acknowledge it themselves
        and record that as a step; the system sends no acknowledgement letter."""
        now = self.clock()
        today = london_date(now)
        app = validate_application(body, today=today, areas=set(self.policies))
        key = idempotency_key(idempotency_header, body)
        policy = self.policies[app.area]
        calendar = calendar_for(policy)
        plan = plan_intake(on_behalf=app.on_behalf, consent_given=app.victim_consent == "given",
                           received_on=today, policy=policy, calendar=calendar)
        matter = matter_key(policy.id, app.matter_postcode)
        history = matter_history(self.repo, None, matter, today, policy)
        reports = reports_from(app)
        assessment = assess(reports, today, policy.threshold, other_complainants=history.complainants_for(reports),
                            counts_after=history.counts_after)
        stored_application = app.model_dump(mode="json", exclude={"equalities"})
        planned = plan_requests_for(stored_application, policy, today) if plan.status == Status.ACKNOWLEDGED else []
        victim = Person.from_contact(stored_application["victim"])
        applicant = Person.from_contact(stored_application["applicant"]) if app.on_behalf and app.applicant else victim
        deadlines = {name: {"due": due.isoformat(), "met_on": None} for name, due in plan.deadlines.items()}
        acknowledgement = None
        letter_plans = plan.letters
        if plan.status == Status.ACKNOWLEDGED:
            if acknowledge:
                deadlines["acknowledge"]["met_on"] = today.isoformat()  # the acknowledgement goes out now
                acknowledgement = {"on": today.isoformat(), "how": "letter", "by": "system"}
            else:
                letter_plans = tuple(p for p in plan.letters if p.step != "acknowledgement")

        secret = self.secret()

        def build(ref: str) -> NewCase:
            case = CaseRecord(
                ref, area=policy.id, status=plan.status.value, basis=app.basis, channel=channel,
                received_at=iso(now), received_on=today.isoformat(), application=stored_application,
                pre_assessment=assessment.to_dict(), deadlines=deadlines, matter=matter,
                complainants=complainant_ids(stored_application, matter, assessment) or None,
                acknowledgement=acknowledgement,
            )
            case.check_soon(iso(now))
            audit = AuditEvent(ref, 1, at=iso(now), actor=actor, action=plan.step, from_status=None,
                               to_status=plan.status.value,
                               detail={"channel": channel, "pre_assessment": assessment.result})
            letters = compose_letters(
                plans=letter_plans, policy=policy, renderer=self.renderer, ref=ref, now=now,
                letter_date=today, people={"applicant": applicant, "victim": victim},
                on_behalf=app.on_behalf, deadlines=plan.deadlines, assessment_meeting=plan.assessment_meeting)
            requests = request_records(planned, ref=ref, policy=policy, now=now)
            letters += request_emails(requests, ref=ref, policy=policy, renderer=self.renderer, now=now,
                                      applied_on=today, first_id=len(letters) + 1)
            letters.append(self._spoc_email(ref, policy, plan, assessment, requests, today, now, len(letters) + 1))
            equalities = None
            if app.equalities and any(app.equalities.model_dump().values()):
                equalities = EqualitiesRecord(ref, area=policy.id, answers=app.equalities.model_dump(exclude_none=True))
            counts = CountChange(policy.id, reporting_year_of(today, policy.area.reporting_year),
                                 step_counts(plan.step), iso(now))
            return NewCase(case=case, audit=audit, letters=letters, equalities=equalities, requests=requests,
                           counts=counts, terms=term_records(secret, ref, policy.id, stored_application))

        created = self.repo.create_case(build, self.make_reference, key, now)
        if created.replayed:
            log.info("application_replayed", extra={"ref": created.case.ref, "area": created.case.area})
            return created
        log.info("application_received", extra={"ref": created.case.ref, "area": policy.id,
                                                 "status": created.case.status, "pre_assessment": assessment.result})
        return created  # the letters go out from the table's stream (chalicelib.outbox.LetterSender)

    def _spoc_email(self, ref: str, policy: Policy, plan: IntakePlan, assessment: Assessment,
                    requests: list[PartnerRequestRecord], today: date, now: datetime, letter_id: int) -> LetterRecord:
        rendered = self.renderer.render_email("spoc_new_application", {
            "ref": ref, "area": policy.area, "status": plan.status.value, "received_on": today,
            "deadlines": dict(plan.deadlines), "assessment": assessment.to_dict(),
            "requests": [{"name": r.partner_name, "email": r.email, "due_on": date.fromisoformat(r.due_on),
                          "status": r.status} for r in requests],
        })
        return working_email(ref=ref, letter_id=f"{letter_id:02d}", policy=policy, step="new_application",
                             role="spoc", to=policy.contacts.spoc_email, rendered=rendered, now=now)


def receipt(created: Created) -> dict[str, Any]:
    """What the applicant is told at once: the reference, the state and the dates."""
    case = created.case
    deadlines = case.deadlines or {}
    return {
        "reference": case.ref,
        "status": case.status,
        "area": case.area,
        "received_on": case.received_on,
        "acknowledgement_due": deadlines.get("acknowledge", {}).get("due"),
        "decision_due": deadlines.get("threshold_decision", {}).get("due"),
        "letters": [
            {"to": letter.recipient_role, "channel": letter.channel, "status": letter.status,
             "subject": letter.subject}
            for letter in created.letters
            if letter.recipient_role in ("applicant", "victim")  # not the partner and SPOC emails
        ],
    }

