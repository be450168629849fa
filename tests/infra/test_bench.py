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


def test_the_letter_sender_line_counts_per_letter_once_the_stream_sends(app_client, monkeypatch):
    """Until chalicelib.outbox.send_stream_records exists the bench says why it skips the line; once
    it does, the bench hands it the application's new letters as stream records and counts its calls."""
    from chalicelib import outbox
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import example_application

    from infra.bench import letter_sender_calls, print_routes

    body = example_application(london_date(utc_now()))
    monkeypatch.delattr(outbox, "send_stream_records", raising=False)
    label, _, calls = letter_sender_calls(app_client, body)
    assert calls is None and "no send_stream_records" in label

    seen = []

    def send_stream_records(records):  # a stand-in: one read and one send per new email letter
        ses, ssm = boto3.client("ses", region_name="eu-west-2"), boto3.client("ssm", region_name="eu-west-2")
        for record in records:
            seen.append(record["dynamodb"]["Keys"])
            ssm.describe_parameters()
            ses.list_identities()

    monkeypatch.setattr(outbox, "send_stream_records", send_stream_records, raising=False)
    label, status, calls = letter_sender_calls(app_client, body)
    assert seen and all(set(keys) == {"ref", "letter_id"} for keys in seen)
    assert dict(calls.by_operation) == {"DescribeParameters": len(seen), "ListIdentities": len(seen)}
    assert f"({len(seen)} letters" in label
    print_routes([(label, status, calls)])  # prints 2.0 calls per letter; must not fail
