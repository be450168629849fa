"""Sending letters after the request has answered.

    letter_sender  the letters table's DynamoDB Stream: each new letter, sent once (claimed first)
    letter_retry   every five minutes: letters SES did not take, or the stream did not send, again

`chalice local` runs neither: `make run` polls DynamoDB Local's stream and calls the same sender,
and runs the retry on a timer (infra/local_stack.py).
"""
from __future__ import annotations

import logging
import os

from chalice import Blueprint, Rate

bp = Blueprint(__name__)
log = logging.getLogger("app.letters")

# The stream belongs to the letters table, whose ARN exists only once the stack does: the template
# (infra/resources.json) replaces this with Fn::GetAtt on the table. LETTERS_STREAM_ARN overrides it.
STREAM_ARN = os.environ.get("LETTERS_STREAM_ARN",
                            "arn:aws:dynamodb:eu-west-2:000000000000:table/letters/stream/replaced-by-the-template")


@bp.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON", name="letter_sender")
def letter_sender(event):
    """Answers with the records to be read again (ReportBatchItemFailures), if storage failed."""
    from chalicelib import wiring

    report = wiring.sender().send_stream_records(event.to_dict().get("Records", []))
    if report.sent or report.failed:
        log.info("letters_sent", extra={"count": report.sent, "failed": len(report.failed)})
    return report.batch_failures()


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="letter_retry")
def letter_retry(event):
    """Letters are emails as much as letters: they go at any hour, not only in working hours."""
    from chalicelib import wiring
    from chalicelib.clock import utc_now

    report = wiring.sweep().retry_all(utc_now())
    return {"letters_retried": report.letters_retried, "letters_failed": report.letters_failed}
