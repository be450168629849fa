"""One JSON object per log line, with only the fields we allow: references, areas, states,
event names, error codes. Applicants' personal data never reaches the logs."""
from __future__ import annotations

import json
import logging
import sys

# Extra fields that may be logged; anything else passed in `extra` is dropped.
ALLOWED_FIELDS = frozenset({
    "ref", "area", "status", "step", "letter", "error", "retry_at", "pre_assessment",
    "method", "path", "status_code", "duration_ms", "error_type", "count", "failed",
})
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname, "logger": record.name, "event": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and key in ALLOWED_FIELDS:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__  # the type only: messages may carry input
        return json.dumps(entry, default=str)


# Libraries whose DEBUG output includes whole requests (applications, letters): never below WARNING.
QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "pynamodb", "s3transfer")


def configure(level: int = logging.INFO) -> None:
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    for existing in list(root.handlers):  # Lambda's default handler prints raw messages
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
