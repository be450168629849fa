"""A letter the outbox gives up on is logged once, as one line the stack's metric filter counts
(the council's "letters failed" alarm), with nothing personal in it."""
from __future__ import annotations

import io
import json
import logging
from datetime import date

from chalicelib.adapters.tables import LetterRecord
from chalicelib.logs import JsonFormatter
from chalicelib.openapi import example_application
from infra.stack import monitoring

TODAY = date(2026, 12, 21)


def sweep_at(client, when: str) -> None:
    client.lambda_.invoke("deadline_sweep", {
        "version": "0", "id": "test", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": when, "region": "eu-west-2", "resources": [], "detail": {}})


def test_a_letter_given_up_on_logs_one_letter_failed_line_the_alarm_counts(intake, aws, clock):
    """No verified sender: SES refuses every attempt until the outbox gives up."""
    from chalice.test import Client

    from app import app

    application = example_application(TODAY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        with Client(app) as client:
            response = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                        body=json.dumps(application))
            ref = response.json_body["reference"]
            # Christmas and New Year: the retries run on every day, bank holiday or not.
            for when in ("2026-12-21T10:06:00Z", "2026-12-21T10:20:00Z", "2026-12-21T12:00:00Z",
                         "2026-12-22T09:00:00Z", "2026-12-24T09:00:00Z", "2026-12-25T09:00:00Z",
                         "2026-12-28T09:00:00Z", "2026-12-31T09:00:00Z", "2027-01-01T09:00:00Z"):
                sweep_at(client, when)
    finally:
        logging.getLogger().removeHandler(handler)
    failed = {l.letter_id: l for l in LetterRecord.query(ref) if l.status == "failed"}
    assert failed
    lines = [line for line in stream.getvalue().splitlines()
             if monitoring.json_filter_matches(monitoring.LETTER_FAILED_PATTERN, line)]
    # one line per letter given up on, however many sweeps see it afterwards
    assert sorted(json.loads(line)["letter"] for line in lines) == sorted(failed)
    for line in lines:
        entry = json.loads(line)
        assert entry["ref"] == ref and set(entry) <= {"level", "logger", "event", "ref", "letter", "step"}
        for value in (application["victim"]["name"], application["victim"]["email"], "Elm Road",
                      failed[entry["letter"]].subject):
            assert value not in line
