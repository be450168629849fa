from __future__ import annotations

from typing import Iterator

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


@pytest.fixture
def aws() -> Iterator[None]:
    from chalicelib import wiring
    from chalicelib.adapters.tables import ALL_TABLES, reset_connections

    with mock_aws():
        reset_connections()
        for model in ALL_TABLES:
            model.create_table(wait=True)
        yield
        reset_connections()
        wiring.reset()


@pytest.fixture
def verified_senders(aws) -> None:
    import boto3

    from chalicelib import wiring

    ses = boto3.client("ses", region_name="eu-west-2")
    for policy in wiring.policies().values():
        ses.verify_email_identity(EmailAddress=policy.contacts.sender_email)


@pytest.fixture
def intake(aws, clock):
    """The real use case with a fixed clock, installed where the app looks for it."""
    from chalicelib import wiring
    from chalicelib.adapters.mailer import SesMailer
    from chalicelib.adapters.repository import CaseRepository
    from chalicelib.intake import Intake

    service = Intake(policies=wiring.policies(), renderer=wiring.renderer(), repo=CaseRepository(),
                     mailer=SesMailer(), clock=clock)
    wiring.intake.cache_clear()
    original = wiring.intake
    wiring.intake = lambda: service  # type: ignore[assignment]
    yield service
    wiring.intake = original  # type: ignore[assignment]


@pytest.fixture
def client(intake, verified_senders):
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


@pytest.fixture
def outbox(aws):
    """What SES was asked to send, as moto recorded it."""

    def messages() -> list:
        return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)

    return messages
