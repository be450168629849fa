"""`make sweep AT=2026-12-24T09:00`: run the scheduled deadline sweep once, as EventBridge would
at that time (London time unless an offset is given), against the stack `make run` started.

It goes through the app's own scheduled handler, so working hours apply: a time outside
Monday-Friday 07:00-19:59 London is skipped, as it would be in AWS. DynamoDB's TTL is then played at
the same time (DynamoDB Local has none): cases whose retention period has passed by then are deleted
with all their data (infra.local_stack.expire_cases), so `make sweep AT=2033-01-01T09:00` shows it."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from infra.local_stack import AWS_ENV  # noqa: F401 - points AWS at the local moto server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--at", default="", help="e.g. 2026-12-24T09:00 (London time); default now")
    args = parser.parse_args()
    if args.at:
        when = datetime.fromisoformat(args.at)
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo("Europe/London"))
    else:
        when = datetime.now(timezone.utc)
    event = {"version": "0", "id": "make-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
             "region": "eu-west-2", "resources": [], "detail": {}}
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        result = client.lambda_.invoke("deadline_sweep", event).payload
    print(f"sweep at {when.isoformat()} ({event['time']} UTC): {json.dumps(result)}")
    from infra.local_stack import expire_cases

    deleted = expire_cases(when)
    print(f"retention at {when.isoformat()}: {len(deleted)} case(s) deleted{': ' + ', '.join(deleted) if deleted else ''}")


if __name__ == "__main__":
    main()
