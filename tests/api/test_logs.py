"""Nothing a person typed reaches the logs, including through Chalice's own error handler and the
local server's request log; partner-link tokens appear in no log line."""
from __future__ import annotations

import io
import json
import logging
from datetime import date

from chalicelib.logs import JsonFormatter
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)


def printed_logs():
    """What the root logger's JSON handler would print, as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    return stream, handler


def test_an_unexpected_error_is_logged_by_its_type_only(client, intake, monkeypatch):
    from app import app

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire: Sam Taylor, 12 Elm Road")

    monkeypatch.setattr(intake.repo, "create_case", broken)
    stream, handler = printed_logs()
    logging.getLogger().addHandler(handler)
    try:
        response = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                    body=json.dumps(example_application(TODAY)))
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500 and "Sam Taylor" not in response.body.decode()
    text = stream.getvalue()
    assert '"error_type": "RuntimeError"' in text
    assert "Sam Taylor" not in text and "Elm Road" not in text
    # Chalice prints through a handler of its own unless told not to: it would print the message.
    assert not app.log.handlers and app.log.propagate


def test_the_local_server_logs_routes_not_tokens_or_queries():
    from infra.local_api import redact

    assert redact("/partner/eyJhbGciOi.secret.token") == "/partner/{token}"
    assert redact("/partner/abc?x=1") == "/partner/{token}"
    assert redact("/stats?area=hart&year=2026") == "/stats"
    assert redact("/cases/CT-ABCD-EFGH/close") == "/cases/CT-ABCD-EFGH/close"
