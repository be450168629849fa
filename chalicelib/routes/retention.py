"""Retention: when DynamoDB's TTL deletes an ended case (CaseRecord.expires_at, set by each staff
step from the area's retention_years), the cases table's stream delivers its REMOVE record here and
the rest of the case's data is deleted (chalicelib/retention.py). The published counts are kept.

`chalice local` runs no stream: `make run` plays TTL's part on its sweeps (infra/local_stack.py).
"""
from __future__ import annotations

import logging
import os

from chalice import Blueprint

bp = Blueprint(__name__)
log = logging.getLogger("app.retention")

# The cases table's stream exists only with the table: the template (infra/stack/retention.py)
# replaces this with Fn::GetAtt on the table. CASES_STREAM_ARN overrides it.
STREAM_ARN = os.environ.get("CASES_STREAM_ARN",
                            "arn:aws:dynamodb:eu-west-2:000000000000:table/cases/stream/replaced-by-the-template")


@bp.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON", name="case_retention")
def case_retention(event):
    """Answers with the records to be read again (ReportBatchItemFailures), if storage failed."""
    from chalicelib import wiring

    report = wiring.retention().handle_stream_records(event.to_dict().get("Records", []))
    if report.cases or report.failed:
        log.info("cases_deleted", extra={"count": report.cases, "failed": len(report.failed)})
    return report.batch_failures()
