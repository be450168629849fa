"""Sends email through Amazon SES. Locally, AWS_ENDPOINT_URL points it at moto server."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol


class Mailer(Protocol):
    def send(self, *, sender: str, to: str, reply_to: str, subject: str, html: str, text: str) -> str: ...


class MailError(Exception):
    """SES refused or could not be reached; the letter stays pending and is retried."""


class LetterCancelled(MailError):
    """The email must not go at all (its partner request was closed or its link withdrawn): retrying
    cannot help, so it is cancelled rather than retried and reported as failed."""


@dataclass
class SesMailer:
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-2")
    _client: Any = None

    def _ses(self) -> Any:
        if self._client is None:
            from .clients import client  # only paid for by what sends mail

            self._client = client("ses", self.region)
        return self._client

    def send(self, *, sender: str, to: str, reply_to: str, subject: str, html: str, text: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._ses().send_email(
                Source=sender,
                Destination={"ToAddresses": [to]},
                ReplyToAddresses=[reply_to],
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            raise MailError(code) from exc
        return response["MessageId"]
