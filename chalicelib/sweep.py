"""The scheduled sweep: nobody has to remember a deadline.

For each area it reads only what is due: cases through the sparse `due-checks` index (keyed by
the next time each needs looking at) and letters through the sparse `retry-due` index. For each
due effect it claims the effect's key with a conditional write, in the same transaction as the
email it causes (sent from the letters table's stream, as every letter is); a second sweep at the
same time, or a sweep run again after dying midway, finds the claim and does nothing twice. Emails
SES did not take, or the stream did not send, are sent again by the letter retry (`retry_letters`,
also on its own five-minute schedule), which claims each letter before sending it.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from .adapters.repository import CaseRepository
from .adapters.tables import CaseRecord, LetterRecord, NoticeRecord, PartnerRequestRecord
from .clock import iso, london_date
from .domain.case import calendar_for
from .domain.deadlines import Effect, OpenAction, OpenRequest, case_effects, due_now, next_check
from .domain.policy import Policy
from .letters import LetterRenderer
from .outbox import LINK_PLACEHOLDER, deliver, working_email

log = logging.getLogger(__name__)

MAX_LETTER_ATTEMPTS = 8  # 5 min ... 6 h apart: about 17 hours of trying before the SPOC is told


@dataclass
class SweepReport:
    cases_checked: int = 0
    effects: dict[str, int] = field(default_factory=dict)
    letters_retried: int = 0
    letters_failed: int = 0

    def count(self, kind: str) -> None:
        self.effects[kind] = self.effects.get(kind, 0) + 1


def notice_letter_id(key: str) -> str:
    """A letter id derived from the effect, so two sweeps can never store two emails for it."""
    return "n" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass
class Sweep:
    policies: dict[str, Policy]
    renderer: LetterRenderer
    repo: CaseRepository
    mailer: Any
    link_for: Callable[[LetterRecord], str] | None = None

    def run(self, now: datetime) -> SweepReport:
        report = SweepReport()
        for area, policy in sorted(self.policies.items()):
            for key in CaseRecord.due_checks.query(area, CaseRecord.next_check_at <= iso(now)):
                report.cases_checked += 1
                self.check_case(key.ref, policy, now, report)
            self.retry_letters(area, policy, now, report)
        log.info("sweep_done", extra={"count": report.cases_checked})
        return report

    # ---------------------------------------------------------------- cases

    def effects_for(self, case: CaseRecord, requests: list[PartnerRequestRecord], policy: Policy) -> list[Effect]:
        """What the case needs as it is now; the domain decides which stages are still current."""
        open_requests = [OpenRequest(r.request_id, r.partner_name, date.fromisoformat(r.due_on))
                         for r in requests if r.status == "requested"]
        actions = [OpenAction(a["id"], date.fromisoformat(a["due_on"]))
                   for a in (case.outcome or {}).get("actions", []) if a.get("status") == "open"]
        appeal_open = bool(case.appeal and case.appeal.get("status") in ("lodged", "acknowledged"))
        window = date.fromisoformat(case.appeal_window_closes) if case.appeal_window_closes else None
        return case_effects(status=case.status, deadlines=case.deadlines, requests=open_requests, actions=actions,
                            appeal_window_closes=window, appeal_open=appeal_open, policy=policy,
                            calendar=calendar_for(policy))

    def check_case(self, ref: str, policy: Policy, now: datetime, report: SweepReport) -> None:
        case = self.repo.get_case(ref)
        if case is None:
            return
        requests = self.repo.requests(ref)
        effects = self.effects_for(case, requests, policy)
        done = {n.key for n in self.repo.notices(ref)}
        refused = False
        for effect in due_now(effects, done, now):
            if self._perform(case, requests, policy, effect, now):
                report.count(effect.kind)
                done.add(effect.key)
            else:
                # Another sweep has it, or the case changed under us: look again next time, at the
                # case as it is then (a changed case may no longer want this effect at all).
                refused = True
        upcoming = now if refused else next_check(effects, done)
        self.repo.set_next_check(ref, iso(upcoming) if upcoming else None, only_if_version=case.version)

    def _perform(self, case: CaseRecord, requests: list[PartnerRequestRecord], policy: Policy, effect: Effect,
                 now: datetime) -> bool:
        letters = self._emails_for(case, requests, policy, effect, now)
        notice = NoticeRecord(case.ref, effect.key, kind=effect.kind, at=iso(now), detail={
            "deadline": effect.deadline, "due_on": effect.due_on.isoformat() if effect.due_on else None,
            "request": effect.request_id, "stage": effect.stage, "action": effect.action_id, "level": effect.level})
        if not self.repo.claim_notice(notice, letters, case_version=case.version):
            return False
        log.info("sweep_effect", extra={"ref": case.ref, "area": case.area, "step": effect.kind})
        return True

    def _emails_for(self, case: CaseRecord, requests: list[PartnerRequestRecord], policy: Policy, effect: Effect,
                    now: datetime) -> list[LetterRecord]:
        base = {"ref": case.ref, "area": policy.area}
        letter_id = notice_letter_id(effect.key)
        if effect.kind == "chase":
            request = next(r for r in requests if r.request_id == effect.request_id)
            rendered = self.renderer.render_email("partner_chaser", {
                **base, "contacts": policy.contacts, "partner_name": request.partner_name,
                "due_on": date.fromisoformat(request.due_on), "expires_on": date.fromisoformat(request.expires_on),
                "link": LINK_PLACEHOLDER, "stage": effect.stage, "timescales": policy.timescales})
            return [working_email(ref=case.ref, letter_id=letter_id, policy=policy, step=f"chase_{effect.stage}",
                                  role="partner", to=request.email, rendered=rendered, now=now,
                                  link_request_id=request.request_id)]
        if effect.kind in ("remind", "missed"):
            outstanding = [r.partner_name for r in requests if r.status == "requested"] if effect.deadline == "partner_return" else []
            rendered = self.renderer.render_email("spoc_deadline", {
                **base, "kind": "reminder" if effect.kind == "remind" else "missed", "deadline": effect.deadline,
                "due_on": effect.due_on, "status": case.status, "outstanding": outstanding})
        elif effect.kind == "escalate":
            action = next(a for a in case.outcome["actions"] if a["id"] == effect.action_id)
            period = (policy.timescales.action_escalate_line_manager if effect.level == "line_manager"
                      else policy.timescales.action_escalate_head_of_service)
            rendered = self.renderer.render_email("spoc_escalation", {
                **base, "action": {**action, "due_on": date.fromisoformat(action["due_on"])}, "level": effect.level,
                "overdue_days": (london_date(now) - date.fromisoformat(action["due_on"])).days,
                "policy_period": period.describe()})
        else:  # the appeal window closed: recorded in the timeline, nobody needs an email
            return []
        return [working_email(ref=case.ref, letter_id=letter_id, policy=policy, step=f"{effect.kind}_{effect.deadline}",
                              role="spoc", to=policy.contacts.spoc_email, rendered=rendered, now=now)]

    # ---------------------------------------------------------------- letters SES did not take

    def retry_all(self, now: datetime) -> SweepReport:
        """Only the letters due again, in every area (the five-minute letter_retry schedule)."""
        report = SweepReport()
        for area, policy in sorted(self.policies.items()):
            self.retry_letters(area, policy, now, report)
        return report

    def retry_letters(self, area: str, policy: Policy, now: datetime, report: SweepReport) -> None:
        for letter in LetterRecord.retry_due.query(area, LetterRecord.retry_at <= iso(now)):
            if (letter.attempts or 0) >= MAX_LETTER_ATTEMPTS:
                if self.repo.give_up_letter(letter):
                    report.letters_failed += 1
                    # Counted by the stack's "letters failed" alarm (infra/stack/monitoring.py): ids only.
                    log.warning("letter_failed", extra={"ref": letter.ref, "letter": letter.letter_id,
                                                        "step": letter.step})
                    if letter.step != "letter_failed":  # never a flag about a flag
                        self._flag_failed(letter, policy, now)
                continue
            report.letters_retried += 1
            deliver([letter], policy=policy, mailer=self.mailer, repo=self.repo, now=now, link_for=self.link_for)

    def _flag_failed(self, letter: LetterRecord, policy: Policy, now: datetime) -> None:
        key = f"letter_failed#{letter.letter_id}"
        rendered = self.renderer.render_email("spoc_letter_failed", {
            "ref": letter.ref, "area": policy.area, "first_tried_at": letter.created_at,
            "letter": {"id": letter.letter_id, "step": letter.step, "to": letter.recipient_role,
                       "subject": letter.subject, "attempts": letter.attempts, "last_error": letter.last_error or ""}})
        email = working_email(ref=letter.ref, letter_id=notice_letter_id(key), policy=policy, step="letter_failed",
                              role="spoc", to=policy.contacts.spoc_email, rendered=rendered, now=now)
        notice = NoticeRecord(letter.ref, key, kind="letter_failed", at=iso(now), detail={"letter": letter.letter_id})
        self.repo.claim_notice(notice, [email])  # sent from the stream, like every letter
