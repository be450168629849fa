"""Subject access requests (UK GDPR article 15), for administrators: find a person's cases, then
export everything held about them across the cases chosen, and record that it was done.

    find(work, principal, q)                      -> the cases a name, postcode or reference finds
    export(work, principal, chosen, requester=, reason=) -> the export's id (stored 30 days)
    read(principal, export_id)                    -> the export

The person is named case by case (`chosen` is [(reference, role)]: "victim" or "applicant"), since
a name alone cannot say which party someone is. An export holds that person's contact details, the
application without the other party's contact details, the letters sent to them, the partners'
returns about the case, the case's audit trail and notes, and, for the person affected only, the
equalities answers (the form asks them about the person affected). Each case gets an audit event
naming the export; the export itself is kept 30 days, then DynamoDB deletes it.
"""
from __future__ import annotations

import gzip
import json
import logging
import secrets
from datetime import timedelta
from typing import Any

from .auth import Principal
from .casework import BadQuery, CaseWork, Conflict, Forbidden, NotFound
from .clock import iso, london_date
from .letters import POSTING_DATE_MARK

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=30)
MAX_CASES = 25
MAX_BODY = 350_000  # under DynamoDB's 400 KB item limit, with room for the other attributes
ROLES = ("victim", "applicant")
REQUESTER_MAX, REASON_MAX = 200, 1000
ACTION = "subject_access_export"


class ExportTooLarge(Exception):
    """The chosen cases hold more than one stored export can: choose fewer cases."""


def require_admin(principal: Principal) -> None:
    # Not has_role: that lets an admin act as any role; here only the admin role itself may.
    if "admin" not in principal.roles:
        raise Forbidden("subject access")


def people(row: dict[str, Any]) -> list[dict[str, str]]:
    """Who a case is about, as the list shows them: the person affected, and the applicant when
    someone else applied for them. A victim who applied is one person (role victim)."""
    out = [{"role": "victim", "name": row.get("victim_name") or "(no name)"}]
    if row.get("basis") == "on_behalf":
        out.append({"role": "applicant", "name": row.get("applicant_name") or "(no name)"})
    return out


def find(work: CaseWork, principal: Principal, q: str) -> list[dict[str, Any]]:
    """The cases a surname, full name, postcode or reference finds, in every area the admin
    covers. Email addresses and phone numbers are not indexed (the search terms are keyed hashes
    of names and postcodes only), so they cannot be searched. Raises Forbidden, BadQuery."""
    require_admin(principal)
    if "@" in q:
        raise BadQuery("Email addresses cannot be searched: search by the person's name or postcode")
    rows = work.case_list(principal, q=q, limit=100)["cases"]
    return [{**row, "people": people(row)} for row in rows]


def _letter_roles(basis: str, role: str) -> set[str]:
    """The letters' recipient roles that are this person: a victim who applied themselves is
    written to as the applicant."""
    if role == "victim" and basis == "victim":
        return {"applicant", "victim"}
    return {role}


def _gather(work: CaseWork, case: Any, role: str) -> dict[str, Any]:
    from .adapters.tables import EqualitiesRecord

    if case.basis != "on_behalf":
        role = "victim"  # no separate applicant: someone who applied for themselves, or an agency's review
    application = dict(case.application or {})
    person = application.get(role) or (application.get("victim") if role == "applicant" and case.basis == "victim"
                                       else None)
    other = "applicant" if role == "victim" else "victim"
    withheld = []
    if other in application and case.basis == "on_behalf":
        application.pop(other)  # another person's contact details: not theirs to receive
        withheld.append(f"the {other}'s details")
    equalities = None
    if role == "victim":
        try:
            equalities = EqualitiesRecord.get(case.ref, consistent_read=True).answers
        except EqualitiesRecord.DoesNotExist:
            equalities = None
    elif case.basis == "on_behalf":
        withheld.append("the equalities answers (they are about the person affected)")
    mine = _letter_roles(case.basis, role)
    audit = work.repo.audit(case.ref)
    returns = work.repo.latest_returns(case.ref)
    return {
        "reference": case.ref, "area": case.area, "status": case.status, "basis": case.basis,
        "channel": case.channel, "received_at": case.received_at, "role": role,
        "person": person, "application": application, "equalities": equalities, "withheld": withheld,
        "decisions": {name: getattr(case, name) for name in ("consent", "acknowledgement", "decision", "meeting",
                                                             "draft_plan", "outcome", "ending", "appeal")},
        "letters": [{"id": l.letter_id, "to": l.recipient_role, "step": l.step, "channel": l.channel,
                     "to_email": l.to_email, "status": l.status, "created_at": l.created_at, "sent_at": l.sent_at,
                     "subject": l.subject, "text": l.text.replace(POSTING_DATE_MARK, "(not posted yet)")}
                    for l in work.repo.letters(case.ref) if l.recipient_role in mine],
        "partner_returns": [{"request": r.request_id, "partner": r.partner_name, "submitted_at": r.submitted_at,
                             "version": r.version, "answers": r.answers} for r in returns.values()],
        "audit": [{"at": e.at, "actor": e.actor, "action": e.action, "from": e.from_status, "to": e.to_status,
                   "detail": e.detail} for e in audit],
        "notes": [{"at": e.at, "by": e.actor, "text": (e.detail or {}).get("note")} for e in audit
                  if e.action == "add_note"],
    }


def export(work: CaseWork, principal: Principal, chosen: list[tuple[str, str]], *, requester: str,
           reason: str) -> str:
    """Gather, store (30 days) and record the export; its id. Raises Forbidden (not an admin, or a
    case outside their areas), NotFound, ExportTooLarge, Conflict (a case kept changing)."""
    from .adapters.tables import AuditEvent, SubjectAccessExportRecord

    require_admin(principal)
    now = work.clock()
    cases = []
    for ref, role in chosen:
        work.check_access(principal, ref, "admin")
        case = work.repo.get_case(ref)
        if case is None:
            raise NotFound(ref)
        cases.append(_gather(work, case, role))
    export_id = secrets.token_urlsafe(18)
    body = {"export_id": export_id, "made_at": iso(now), "made_by": principal.actor, "requester": requester,
            "reason": reason, "kept_until": london_date(now + KEEP_FOR).isoformat(), "cases": cases}
    packed = gzip.compress(json.dumps(body, ensure_ascii=False, sort_keys=True).encode(), mtime=0)
    if len(packed) > MAX_BODY:
        raise ExportTooLarge()
    SubjectAccessExportRecord(export_id, created_at=iso(now), actor=principal.actor, requester=requester,
                              reason=reason, cases=[{"reference": c["reference"], "role": c["role"]} for c in cases],
                              body=packed, expires_at=now + KEEP_FOR).save(
        condition=SubjectAccessExportRecord.export_id.does_not_exist())
    for c in cases:
        _record(work, principal, c["reference"], AuditEvent,
                detail={"export_id": export_id, "role": c["role"], "reason": reason})
    log.info("subject_access_export", extra={"count": len(cases)})
    return export_id


def _record(work: CaseWork, principal: Principal, ref: str, audit_model: Any, detail: dict[str, Any]) -> None:
    """An audit event on the case, saved with it (the event's number is the case's next version),
    retried if a step changes the case at the same moment."""
    from pynamodb.exceptions import TransactWriteError

    for _ in range(3):
        case = work.repo.get_case(ref)
        if case is None:
            raise NotFound(ref)
        event = audit_model(ref, (case.version or 0) + 1, at=iso(work.clock()), actor=principal.actor, action=ACTION,
                            from_status=case.status, to_status=case.status, detail=detail)
        try:
            work.repo.save_step(case=case, audit=event, letters=[], items=[], counts=None)
            return
        except TransactWriteError:
            continue
    raise Conflict("The case kept changing while the export was recorded; try again", case.status, case.version)


def read(principal: Principal, export_id: str, now: Any) -> dict[str, Any]:
    """A stored export (an admin only); NotFound once it has expired, even before DynamoDB deletes it."""
    from .adapters.tables import SubjectAccessExportRecord

    require_admin(principal)
    try:
        record = SubjectAccessExportRecord.get(export_id, consistent_read=True)
    except SubjectAccessExportRecord.DoesNotExist:
        raise NotFound(export_id) from None
    if record.expires_at <= now:
        raise NotFound(export_id)
    return json.loads(gzip.decompress(record.body))
