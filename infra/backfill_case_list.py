"""`make backfill`: give every case stored before the case list and search existed its list keys,
names and search terms (and, if ended, the time retention deletes it), then mark each area ready (the list then reads the case-list index instead
of by-area). Idempotent: run it again at any time, e.g. after rotating the partner-link secret.
Against `make run` by default; with AWS credentials and TABLE_PREFIX=<stack name> (and LOCAL=0)
against a deployed stack (it scans the cases table once: the credentials need dynamodb:Scan on it,
which the API's own role does not have)."""
from __future__ import annotations

import os
import sys

if os.environ.get("LOCAL", "1") == "1":
    from infra.local_stack import AWS_ENV  # noqa: F401 - points AWS at the local moto server


def main() -> int:
    from chalicelib import wiring
    from chalicelib.case_index import backfill

    report = backfill(wiring.policies(), log=print)
    print(f"{report.cases} case(s) read, {report.updated} given list keys, {report.terms} search term(s) written, "
          f"{report.expiries} deletion time(s) set; "
          f"ready: {', '.join(report.areas)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
