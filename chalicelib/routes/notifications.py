"""What SES reports about the emails it took (delivery, bounce, complaint, reject), from the SES
configuration set's event destination, an SNS topic. The work is chalicelib.receipts'."""
from __future__ import annotations

import logging

from chalice import Blueprint

bp = Blueprint(__name__)
log = logging.getLogger("app.notifications")

# chalice needs a topic here; `chalice package` would make an ARN from this name, and
# infra/resources.json (infra/build_template.py) replaces it by a Ref to the stack's own topic.
SES_EVENTS_TOPIC = "community-trigger-ses-events"


@bp.on_sns_message(topic=SES_EVENTS_TOPIC, name="ses_receipts")
def ses_receipts(event):
    """One SES event. In process (tests, `make run`'s "Simulate bounce"): call
    `ses_receipts({"Records": [{"Sns": {"Message": json, "Subject": None, "MessageAttributes": {}}}]}, None)`."""
    from chalicelib import wiring

    return {"outcome": wiring.receipts().handle(event.message)}
