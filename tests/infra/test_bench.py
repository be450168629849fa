"""`make bench` counts the AWS calls a request makes: the counter must see them (a bench that
silently counted nothing would report every route as free), and the bench must start."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from infra.aws_calls import count_aws_calls, provision, setup_spec
from infra.bench import _fresh_app_state, post_application

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_client():
    from chalice.test import Client

    import app

    spec = setup_spec()
    with mock_aws():
        provision(spec)
        _fresh_app_state()
        try:
            with Client(app.app) as client:
                yield client
        finally:
            _fresh_app_state()


def test_one_application_is_counted_with_its_transaction(app_client):
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import example_application

    real = BaseClient._make_api_call
    with count_aws_calls() as calls:
        response = post_application(app_client, example_application(london_date(utc_now())), "test-counter")
    assert response.status_code == 201, response.body
    assert calls.by_operation["TransactWriteItems"] == 1  # the case, its audit event, letters... in one write
    assert calls.total == sum(calls.by_operation.values()) >= 2
    assert BaseClient._make_api_call is real  # counting stops with the block


def test_calls_from_plain_boto3_clients_and_failed_calls_count_too(app_client):
    ssm = boto3.client("ssm", region_name="eu-west-2")
    with count_aws_calls() as calls:
        with pytest.raises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name="/no/such/parameter")
        ssm.describe_parameters()
    assert dict(calls.by_operation) == {"GetParameter": 1, "DescribeParameters": 1}


def test_the_bench_starts():
    result = subprocess.run([sys.executable, "-m", "infra.bench", "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--sweep-sizes" in result.stdout and "--package" in result.stdout


def test_the_letter_sender_line_counts_what_sending_an_applications_letters_costs(app_client):
    """The bench hands the real sender the application's new letters as stream records and counts
    its calls: one SES send for each email, each claimed and marked sent around it."""
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import example_application

    from infra.bench import letter_sender_calls, print_routes

    label, status, calls = letter_sender_calls(app_client, example_application(london_date(utc_now())))
    assert calls is not None, label
    sent = calls.by_operation["SendEmail"]
    assert sent >= 2 and f"({sent} letters" in label  # the acknowledgement, the partners', the SPOC's
    assert calls.by_operation["UpdateItem"] >= 2 * sent  # claim, then sent
    print_routes([(label, status, calls)])  # the per-letter line; must not fail
