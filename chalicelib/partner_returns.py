"""Use cases for partner agencies: create their information requests, show the return form
behind a secure link, and store each return, recomputing the threshold assessment from every
source. A partner sees only the people, addresses and period it is asked about: never the
equalities answers, the application's other content, or other partners' returns."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from pynamodb.exceptions import TransactWriteError

from .adapters.mailer import LetterCancelled, MailError
from .adapters.repository import CaseRepository
from .adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord, PartnerReturnRecord
from .clock import iso, london_date
from .domain.calendar import months_period_start
from .domain.case import ENDED, LetterPlan, calendar_for
from .domain.partners import (PlannedRequest, complainant_entry, lookback_period, names_body, parse_complainant_entry,
                               plan_partner_requests)
from .domain.policy import Policy
from .domain.threshold import Assessment, Report, assess
from .domain.threshold import _person as person_key  # the rule's own name comparison
from .letters import LetterRenderer
from .outbox import LINK_PLACEHOLDER, Person, compose_letters, working_email
from .partner_links import LinkRefused, LinkSigner, hashes_match, new_nonce, token_hash
from .schemas import PartnerReturnIn, validate_return

log = logging.getLogger(__name__)

MAX_RACE_RETRIES = 5
FORM_SCALARS = ("responder_name", "responder_role", "reports_held", "under_investigation",
                "vulnerability_markers", "risk_assessments", "additional_information")
REPORT_FIELDS = ("reference", "date_received", "incident_date", "reporting_party", "perpetrator", "overview",
                 "how_received", "hate_motivated", "action_taken", "action_detail")


# ---------------------------------------------------------------- links


@dataclass
class Links:
    """Makes the partner link for a request: signer (keys from the partner-link secret) + public URL."""

    signer_factory: Callable[[], LinkSigner]
    base_url: str

    def token_for(self, request: PartnerRequestRecord) -> str:
        """The link already sent for this request if a key still held signed it (so a chaser repeats
        it), else one signed with the newest key."""
        tokens = self.signer_factory().tokens(request.ref, request.request_id, date.fromisoformat(request.expires_on),
                                              request.nonce or "")
        return next((t for t in tokens if hashes_match(t, request.token_hash)), tokens[0])

    def url_for(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/partner/{token}"


def link_for_letter(links: Links, repo: CaseRepository) -> Callable[[LetterRecord], str]:
    """At send time: sign the link, remember its hash, and hand back the URL. Any failure is a
    send failure (the email stays pending), never an error after the case is stored."""

    def make(letter: LetterRecord) -> str:
        try:
            request = repo.get_request(letter.ref, letter.link_request_id)
            if request is None or request.status in ("revoked", "closed"):
                raise LetterCancelled("LinkRevoked" if request is None or request.status == "revoked" else "RequestClosed")
            token = links.token_for(request)
            stored = request.token_hash
            # A stored hash this token does not match: the link sent before was signed with a key
            # rotated out since, so it no longer opens; this send carries its replacement.
            repo.record_token_hash(request, token_hash(token), replacing=stored if stored != token_hash(token) else None)
            return links.url_for(token)
        except MailError:
            raise
        except Exception as exc:  # noqa: BLE001 - parameter store or DynamoDB trouble: retry later
            raise MailError(f"LinkUnavailable:{type(exc).__name__}") from exc

    return make


# ---------------------------------------------------------------- creating requests at acknowledgement


def request_records(planned: list[PlannedRequest], *, ref: str, policy: Policy, now: datetime) -> list[PartnerRequestRecord]:
    return [
        PartnerRequestRecord(
            ref, p.request_id, area=policy.id, partner_name=p.name, partner_kind=p.kind, email=p.email,
            named_in_application=p.named_in_application, status="requested" if p.email else "no_address",
            due_on=p.due_on.isoformat(), expires_on=p.expires_on.isoformat(), nonce=new_nonce(),
            created_at=iso(now), latest_version=0,
        )
        for p in planned
    ]


def request_emails(records: list[PartnerRequestRecord], *, ref: str, policy: Policy, renderer: LetterRenderer,
                   now: datetime, applied_on: date, first_id: int) -> list[LetterRecord]:
    start, end = lookback_period(applied_on, policy.threshold.lookback_months)
    emails = []
    for record in records:
        if not record.email:
            continue
        rendered = renderer.render_email("partner_request", {
            "ref": ref, "area": policy.area, "contacts": policy.contacts, "partner_name": record.partner_name,
            "due_on": date.fromisoformat(record.due_on), "expires_on": date.fromisoformat(record.expires_on),
            "period_start": start, "period_end": end, "link": LINK_PLACEHOLDER,
            "threshold": policy.threshold, "timescales": policy.timescales,
        })
        emails.append(working_email(ref=ref, letter_id=f"{first_id + len(emails):02d}", policy=policy,
                                    step="partner_request", role="partner", to=record.email, rendered=rendered,
                                    now=now, link_request_id=record.request_id))
    return emails


def plan_requests_for(application: dict[str, Any], policy: Policy, acknowledged_on: date) -> list[PlannedRequest]:
    reported_to = [i.get("reported_to", "") for i in application.get("incidents", [])]
    return plan_partner_requests(policy, reported_to, acknowledged_on, calendar_for(policy))


# ---------------------------------------------------------------- the assessment from every source


def reports_from_application(application: dict[str, Any]) -> list[Report]:
    return [
        Report(happened_on=date.fromisoformat(i["happened_on"]), reported_on=date.fromisoformat(i["reported_on"]),
               reported_by=i["reported_by"], reported_to=i["reported_to"], how_reported=i["how_reported"],
               hate_motivated=bool(i.get("hate_motivated")), officer_type=i.get("officer_type"),
               agency_reference=i.get("agency_reference"), description=i.get("description"))
        for i in application.get("incidents", [])
    ]


def reports_from_return(partner_name: str, answers: dict[str, Any]) -> list[Report]:
    """A partner's record of a report is a formal complaint to that body; when it does not say how
    it was received, it is taken as made in writing, by phone or at the office (which all count)."""
    out = []
    for r in answers.get("reports", []):
        received = date.fromisoformat(r["date_received"])
        happened = date.fromisoformat(r["incident_date"]) if r.get("incident_date") else received
        out.append(Report(happened_on=happened, reported_on=received, reported_by=r["reporting_party"],
                          reported_to=partner_name, how_reported=r.get("how_received") or "writing",
                          hate_motivated=bool(r.get("hate_motivated")), source=f"partner:{partner_name}",
                          agency_reference=r.get("reference"), description=r.get("overview")))
    return out


def person_id(matter: str, name: str) -> str | None:
    """Who someone is, for the several-complainants rule: their name normalised exactly as the rule
    compares names, hashed with the matter (so the index holds no name, and the same name cannot
    be linked across places). None for a blank name (the rule ignores those)."""
    normalised = person_key(name or "")
    if not normalised:
        return None
    return hashlib.sha256(f"{matter}|{normalised}".encode()).hexdigest()


def complainant_ids(application: dict[str, Any], matter: str, assessment: Assessment) -> set[str]:
    """Who made qualifying complaints in an application, as stored on the case at intake for the
    matter index: "<person hash>|<date of that person's latest qualifying complaint here>" (see
    complainant_entry). `assessment` is the application's own, whose findings follow its
    incidents in order; someone whose reports here all failed to qualify is not stored."""
    latest: dict[str, date] = {}
    for incident, finding in zip(application.get("incidents", []), assessment.reports):
        pid = person_id(matter, incident.get("reported_by", ""))
        if pid and finding.counts:
            reported = date.fromisoformat(incident["reported_on"])
            latest[pid] = max(latest.get(pid, reported), reported)
    return {complainant_entry(pid, on) for pid, on in latest.items()}


@dataclass(frozen=True)
class MatterHistory:
    other_complainants: list[str]  # entries of other applications in the window, as stored (complainant_entry)
    counts_after: date | None  # the latest previous review's outcome letter about the same matter
    matter: str = ""

    def complainants_for(self, reports: list[Report]) -> list[tuple[str, date | None]]:
        """The other people, as `assess` is given them, with their latest qualifying complaint's date:
        anyone who also reported in this application is given by the name used here, so the rule
        counts them once."""
        names = {person_id(self.matter, r.reported_by): r.reported_by for r in reports}
        out = []
        for entry in self.other_complainants:
            pid, on = parse_complainant_entry(entry)
            out.append((names.get(pid, pid), on))
        return out


def matter_history(repo: CaseRepository, case_ref: str | None, matter: str, applied_on: date,
                   policy: Policy) -> MatterHistory:
    # No other application received before the look-back began can hold a complaint inside it.
    since = months_period_start(applied_on, policy.threshold.lookback_months).isoformat()
    # Once this many other people are known the rule is met whoever else reported, so the look-up
    # reads no further; an area without the rule needs none.
    enough = policy.threshold.separate_complainants_needed or 0
    people, last_outcome = repo.matter_history(matter, case_ref, since, enough=enough)
    return MatterHistory(people, date.fromisoformat(last_outcome) if last_outcome else None, matter)


def assess_case(case: CaseRecord, policy: Policy, returns: dict[str, PartnerReturnRecord],
                history: MatterHistory) -> Assessment:
    applied_on = date.fromisoformat(case.received_on)
    reports = reports_from_application(case.application)
    for record in returns.values():
        reports.extend(reports_from_return(record.partner_name, record.answers))
    return assess(reports, applied_on, policy.threshold, other_complainants=history.complainants_for(reports),
                  counts_after=history.counts_after)


# ---------------------------------------------------------------- the form


@dataclass
class Posted:
    answers: Any  # the return in the API's shape (a dict, unless a JSON client sent something else)
    fields: dict[str, str] | None  # the HTML form's fields as typed, to show them again; None for JSON
    action: str  # "submit", or "add_report" from the form's second button

    @property
    def is_form(self) -> bool:
        return self.fields is not None


def _report_field(name: str) -> tuple[int, str] | None:
    """reports-<row>-<field> -> (row, field); rows are ASCII numbers below the cap (else a 400)."""
    from .inputs import row_index

    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "reports" or parts[2] not in REPORT_FIELDS:
        return None
    return row_index(parts[1], field=name), parts[2]


def form_field_allowed(name: str) -> bool:
    """Strict field names: the form's questions, its report rows, and its button."""
    return name in FORM_SCALARS or name == "action" or _report_field(name) is not None


def report_rows(fields: dict[str, str]) -> int:
    """How many report rows the page showed (the highest row posted, plus one)."""
    return 1 + max((row[0] for name in fields for row in [_report_field(name)] if row), default=0)


def form_to_answers(fields: dict[str, str]) -> dict[str, Any]:
    """Flat form fields -> the return's shape. Report rows left wholly blank are dropped; each kept
    row remembers its position on the page so its errors land next to it."""
    answers: dict[str, Any] = {k: fields.get(k, "") for k in FORM_SCALARS}
    rows: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        row = _report_field(key)
        if row is not None:
            rows.setdefault(row[0], {})[row[1]] = value
    reports, positions = [], []
    for index in sorted(rows):
        row = rows[index]
        if not any(str(v).strip() for v in row.values()):
            continue
        row["hate_motivated"] = row.get("hate_motivated") == "yes"
        reports.append({k: row.get(k, "") for k in REPORT_FIELDS if k != "hate_motivated"} | {"hate_motivated": row["hate_motivated"]})
        positions.append(index)
    answers["reports"] = reports
    answers["__positions__"] = positions
    return answers


def answers_to_form(answers: dict[str, Any]) -> dict[str, str]:
    values = {k: _form_value(answers.get(k)) for k in FORM_SCALARS}
    for i, report in enumerate(answers.get("reports", [])):
        for field in REPORT_FIELDS:
            value = report.get(field)
            values[f"reports-{i}-{field}"] = ("yes" if value else "") if field == "hate_motivated" else _form_value(value)
    return values


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def form_field(path: str, positions: list[int]) -> str:
    """API error path -> the form field's name/id: reports[1].overview -> reports-<row>-overview."""
    if path.startswith("reports[") and "]." in path:
        index, field = path[len("reports["):].split("].", 1)
        row = positions[int(index)] if index.isdigit() and int(index) < len(positions) else int(index)
        return f"reports-{row}-{field}"
    if path.startswith("reports[") or path == "reports":
        return "reports-0-date_received"
    return path


# ---------------------------------------------------------------- the service


@dataclass
class Page:
    status: int
    html: str


@dataclass
class Stored:
    ref: str
    request_id: str
    version: int
    submitted_at: str
    unchanged: bool = False


class ReturnClosed(Exception):
    """The threshold decision is made: returns can no longer be sent or changed."""

    def __init__(self, policy: Policy | None = None):
        self.policy = policy
        super().__init__("closed")


@dataclass
class PartnerReturns:
    policies: dict[str, Policy]
    renderer: LetterRenderer
    repo: CaseRepository
    links: Links
    clock: Callable[[], datetime]
    css_url: str = "/assets/partner.css"

    # -- who is asking

    def authorise(self, token: str) -> tuple[PartnerRequestRecord, CaseRecord, Policy]:
        """Every check a link must pass, in order; LinkRefused(reason) otherwise. Stores nothing."""
        claims = self.links.signer_factory().read(token)
        request = self.repo.get_request(claims.ref, claims.request_id)
        if request is None or not hashes_match(token, request.token_hash):
            raise LinkRefused("invalid")  # signed by us, but not the link issued for this request
        policy = self.policies.get(request.area)
        if request.status == "revoked":
            raise LinkRefused("revoked", policy)
        case = self.repo.get_case(request.ref)
        if case is None or policy is None:
            raise LinkRefused("invalid")
        if case.status in ENDED:
            raise LinkRefused("case_closed", policy)  # closed, withdrawn or rejected: nothing more to send
        if london_date(self.clock()) > date.fromisoformat(request.expires_on):
            raise LinkRefused("expired", policy)
        return request, case, policy

    # -- pages

    def error_page(self, reason: str, policy: Policy | None = None) -> Page:
        status = {"invalid": 404, "expired": 410, "revoked": 410, "case_closed": 410, "closed": 409}[reason]
        html = self.renderer.render_page("link_error", {
            "reason": reason, "contacts": policy.contacts if policy else None,
            "area": policy.area if policy else None, "css_url": self.css_url})
        return Page(status, html)

    def form_page(self, token: str, *, status: int = 200, values: dict[str, str] | None = None,
                  rows: int | None = None, errors: list[dict[str, str]] | None = None,
                  positions: list[int] | None = None) -> Page:
        request, case, policy = self.authorise(token)
        if case.assessment_closed or request.status == "closed":
            raise ReturnClosed(policy)
        if values is None and request.latest_version:
            values = answers_to_form(self.repo.latest_returns(case.ref)[request.request_id].answers)
        values = values or {}
        if rows is None:
            rows = report_rows(values)
        errors = errors or []
        error_for = {form_field(e["field"], positions or []): e["message"] for e in errors}
        return Page(status, self.renderer.render_page("partner_return", {
            **self._page_context(request, case, policy, token),
            "values": values, "report_rows": rows, "errors": errors, "error_for": error_for,
            "error_anchor": {e["field"]: form_field(e["field"], positions or []) for e in errors},
            "version": request.latest_version or None, "last_submitted_at": request.returned_at,
        }))

    def _page_context(self, request: PartnerRequestRecord, case: CaseRecord, policy: Policy, token: str) -> dict[str, Any]:
        application = case.application
        victim = application["victim"]
        address = victim.get("address") or {}
        individuals = [{"name": victim["name"], "role": "victim",
                        "address_lines": [v for v in (address.get("line1"), address.get("line2"), address.get("town"),
                                                      address.get("postcode")) if v]}]
        location = application.get("asb_location") or {}
        if location.get("description") or location.get("postcode"):
            individuals.append({"name": "Where the behaviour happens", "role": "asb_location",
                                "address_lines": [v for v in (location.get("description"), location.get("postcode")) if v]})
        body = next((b for b in policy.partners if b.name == request.partner_name), None)
        incidents = [
            {"happened_on": date.fromisoformat(i["happened_on"]), "reported_on": date.fromisoformat(i["reported_on"]),
             "agency_reference": i.get("agency_reference")}
            for i in application.get("incidents", [])
            if (names_body(i.get("reported_to", ""), body) if body else
                i.get("reported_to", "").strip().casefold() == request.partner_name.casefold())
        ]
        start, end = lookback_period(date.fromisoformat(case.received_on), policy.threshold.lookback_months)
        return {"ref": case.ref, "area": policy.area, "contacts": policy.contacts, "partner_name": request.partner_name,
                "due_on": date.fromisoformat(request.due_on), "expires_on": date.fromisoformat(request.expires_on),
                "period_start": start, "period_end": end, "individuals": individuals, "incidents": incidents,
                "action_url": self.links.url_for(token), "css_url": self.css_url}

    def confirmation_page(self, token: str, stored: Stored) -> Page:
        request, case, policy = self.authorise(token)
        return Page(201 if not stored.unchanged else 200, self.renderer.render_page("partner_confirmation", {
            "ref": case.ref, "area": policy.area, "contacts": policy.contacts, "partner_name": request.partner_name,
            "version": stored.version, "submitted_at": stored.submitted_at,
            "due_on": date.fromisoformat(request.due_on), "link_url": self.links.url_for(token), "css_url": self.css_url}))

    # -- storing a return

    def submit(self, token: str, answers: dict[str, Any]) -> Stored:
        """Validate and store a new version of this partner's return; recompute the assessment.
        Raises LinkRefused, ReturnClosed or ReturnInvalid (with every problem)."""
        request, case, policy = self.authorise(token)
        if case.assessment_closed or request.status == "closed":
            raise ReturnClosed(policy)
        if isinstance(answers, dict):
            answers = {k: v for k, v in answers.items() if k != "__positions__"}
        valid: PartnerReturnIn = validate_return(answers, today=london_date(self.clock()))
        stored_answers = valid.model_dump(mode="json")
        for _ in range(MAX_RACE_RETRIES):
            request, case, policy = self.authorise(token)
            if case.assessment_closed or request.status == "closed":
                raise ReturnClosed(policy)
            latest = self.repo.latest_returns(case.ref)
            mine = latest.get(request.request_id)
            if mine is not None and mine.answers == stored_answers:
                # A double-click or a browser re-posting the page: nothing new to keep.
                return Stored(case.ref, request.request_id, mine.version, mine.submitted_at, unchanged=True)
            try:
                return self._store(request, case, policy, latest, stored_answers)
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                log.info("partner_return_retry", extra={"ref": case.ref})
        raise RuntimeError("the case kept changing while a return was stored")

    def _store(self, request: PartnerRequestRecord, case: CaseRecord, policy: Policy,
               latest: dict[str, PartnerReturnRecord], answers: dict[str, Any]) -> Stored:
        now = self.clock()
        version = (request.latest_version or 0) + 1
        record = PartnerReturnRecord(case.ref, f"{request.request_id}#{version:04d}", request_id=request.request_id,
                                     version=version, partner_name=request.partner_name, submitted_at=iso(now),
                                     answers=answers)
        latest = {**latest, request.request_id: record}
        applied_on = date.fromisoformat(case.received_on)
        history = matter_history(self.repo, case.ref, case.matter, applied_on, policy)
        before = (case.pre_assessment or {}).get("result")
        assessment = assess_case(case, policy, latest, history)

        request.status, request.latest_version, request.returned_at = "returned", version, iso(now)
        case.pre_assessment = assessment.to_dict()
        case.check_soon(iso(now))  # this partner needs no more chasing
        outstanding = [r for r in self.repo.requests(case.ref)
                       if r.request_id != request.request_id and r.status in ("requested", "no_address")]
        letters: list[LetterRecord] = []
        if not outstanding and not case.returns_complete_notified:
            case.returns_complete_notified = True
            letters.append(self._returns_complete_email(case, policy, latest, assessment, now))
            letters.extend(self._information_complete_update(case, policy, now, first_id=int(letters[0].letter_id) + 1))
        audit = AuditEvent(case.ref, (case.version or 0) + 1, at=iso(now), actor=f"partner: {request.partner_name}",
                           action="partner_return" if version == 1 else "partner_return_amended",
                           from_status=case.status, to_status=case.status,
                           detail={"request": request.request_id, "version": version,
                                   "assessment_before": before, "assessment_after": assessment.result})
        self.repo.store_return(case=case, request=request, record=record, audit=audit, letters=letters)
        log.info("partner_return_stored", extra={"ref": case.ref, "area": policy.id, "status": assessment.result})
        return Stored(case.ref, request.request_id, version, record.submitted_at)

    def _information_complete_update(self, case: CaseRecord, policy: Policy, now: datetime,
                                     first_id: int) -> list[LetterRecord]:
        """The applicant (and victim) are kept informed: the information stage is complete, and the
        decision is due by its date (2025 guidance). Only for those who asked to be kept informed."""
        application = case.application or {}
        if not application.get("keep_informed", True):
            return []
        on_behalf = case.basis == "on_behalf"
        victim = Person.from_contact(application["victim"])
        applicant = Person.from_contact(application["applicant"]) if on_behalf and application.get("applicant") else victim
        decision = (case.deadlines or {}).get("threshold_decision", {}).get("due")
        return compose_letters(
            plans=[LetterPlan("update", to) for to in (["applicant", "victim"] if on_behalf else ["applicant"])],
            policy=policy, renderer=self.renderer, ref=case.ref, now=now, letter_date=london_date(now),
            people={"applicant": applicant, "victim": victim}, on_behalf=on_behalf, deadlines={},
            assessment_meeting=None, first_id=first_id,
            extra={"update": {"stage": "information_complete",
                              "decision_due": date.fromisoformat(decision) if decision else None}})

    def _returns_complete_email(self, case: CaseRecord, policy: Policy, latest: dict[str, PartnerReturnRecord],
                                assessment: Assessment, now: datetime) -> LetterRecord:
        decision = (case.deadlines or {}).get("threshold_decision", {}).get("due")
        rendered = self.renderer.render_email("spoc_returns_complete", {
            "ref": case.ref, "area": policy.area, "assessment": assessment.to_dict(),
            "returns": [{"partner_name": r.partner_name, "version": r.version, "submitted_at": r.submitted_at}
                        for r in sorted(latest.values(), key=lambda r: r.request_id)],
            "decision_due": date.fromisoformat(decision) if decision else None,
        })
        next_id = len(self.repo.letters(case.ref)) + 1
        return working_email(ref=case.ref, letter_id=f"{next_id:02d}", policy=policy, step="returns_complete",
                             role="spoc", to=policy.contacts.spoc_email, rendered=rendered, now=now)

