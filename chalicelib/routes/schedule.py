"""The scheduled working-day deadline sweep. `chalice local` never runs schedules: `make run`
drives the same handler on a timer, and `make sweep AT=...` runs it once at any time."""
from __future__ import annotations

import logging

from chalice import Blueprint, Cron

bp = Blueprint(__name__)
log = logging.getLogger("app.schedule")


# EventBridge cron is UTC: hourly 06:00-19:00 UTC, Monday to Friday, covers 07:00-19:00 London in
# both GMT and BST. The handler decides by London time.
@bp.schedule(Cron("0", "6-19", "?", "*", "MON-FRI", "*"), name="deadline_sweep")
def deadline_sweep(event):
    """Takes "now" from the event, so any date can be driven (tests, `make sweep AT=...`)."""
    from datetime import datetime, timezone

    from chalicelib import wiring
    from chalicelib.domain.deadlines import in_working_hours

    now = datetime.fromisoformat(event.time.replace("Z", "+00:00")) if event.time else datetime.now(timezone.utc)
    if not in_working_hours(now):
        log.info("sweep_skipped_outside_working_hours")
        return {"skipped": True}
    report = wiring.sweep().run(now)
    return {"skipped": False, "cases_checked": report.cases_checked, "effects": report.effects,
            "letters_retried": report.letters_retried, "letters_failed": report.letters_failed}
