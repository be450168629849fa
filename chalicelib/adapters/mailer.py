"""Sends email through Amazon SES. Locally, AWS_ENDPOINT_URL points it at moto server."""
from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

# SES message tags: names and values of at most 256 of these characters. A value that does not fit
# (no reference or letter id of ours today, but the tags must never make a send fail) is sent as
# TAG_ENCODED + its URL-safe base64, whose alphabet is exactly this one.
_TAG_SAFE = re.compile(r"[A-Za-z0-9_-]{1,256}")
TAG_ENCODED = "b64-"


def tag_value(value: str) -> str:
    """A value as an SES message tag can carry it (see decode_tag)."""
    if _TAG_SAFE.fullmatch(value) and not value.startswith(TAG_ENCODED):
        return value
    return TAG_ENCODED + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_tag(value: str) -> str:
    """What tag_value was given. Raises ValueError for an encoded value that is not base64."""
    if not value.startswith(TAG_ENCODED):
        return value
    data = value.removeprefix(TAG_ENCODED)
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()


class Mailer(Protocol):
    def send(self, *, sender: str, to: str, reply_to: str, subject: str, html: str, text: str,
             tags: Mapping[str, str] | None = None) -> str:
        """Send one email; the MessageId. `tags` name the letter, so SES's delivery and bounce events
        (published through the configuration set) can be matched to it."""


class MailError(Exception):
    """SES refused or could not be reached; the letter stays pending and is retried."""


class LetterCancelled(MailError):
    """The email must not go at all (its partner request was closed or its link withdrawn): retrying
    cannot help, so it is cancelled rather than retried and reported as failed."""


@dataclass
class SesMailer:
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-2")
    # The configuration set whose event destination publishes deliveries, bounces and complaints
    # (infra/build_template.py); unset locally and in tests, where nothing publishes them.
    configuration_set: str | None = field(default_factory=lambda: os.environ.get("SES_CONFIGURATION_SET") or None)
    _client: Any = None

    def _ses(self) -> Any:
        if self._client is None:
            from .clients import client  # only paid for by what sends mail

            self._client = client("ses", self.region)
        return self._client

    def send(self, *, sender: str, to: str, reply_to: str, subject: str, html: str, text: str,
             tags: Mapping[str, str] | None = None) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, Any] = {}
        if self.configuration_set:
            extra["ConfigurationSetName"] = self.configuration_set
        if tags:
            extra["Tags"] = [{"Name": tag_value(name), "Value": tag_value(value)} for name, value in tags.items()]
        try:
            response = self._ses().send_email(
                Source=sender,
                Destination={"ToAddresses": [to]},
                ReplyToAddresses=[reply_to],
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
                },
                **extra,
            )
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            raise MailError(code) from exc
        return response["MessageId"]
