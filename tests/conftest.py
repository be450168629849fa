"""Shared fixtures. AWS is moto's in-process mock: no network, no account.

The environment is set before anything imports chalicelib, because the table names and region
are read when the models are defined."""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.update({
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_PREFIX": "ct-test",
    "PUBLIC_API_URL": "https://ct.example.test/api",
})
# mock_aws ignores clients pointed at a custom endpoint: make sure none is.
for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[name]

import pytest  # noqa: E402


class FixedClock:
    """A clock a test can set and move; every use case reads time only through it."""

    def __init__(self, at: datetime):
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso_text: str) -> None:
        self.now = datetime.fromisoformat(iso_text).astimezone(timezone.utc)


@pytest.fixture
def clock() -> FixedClock:
    # Monday 21 December 2026, 10:00 in London: deadlines run across Christmas.
    return FixedClock(datetime(2026, 12, 21, 10, 0, tzinfo=timezone.utc))
