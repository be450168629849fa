"""Count the AWS calls code makes, and set moto up the way the benchmark's fresh processes need.

    with count_aws_calls() as calls:
        client.http.post("/applications", ...)
    calls.total, calls.by_operation   # e.g. 6, {"TransactWriteItems": 1, "SendEmail": 3, ...}

Every AWS call, whoever makes it (boto3 clients for SES and Secrets Manager, and the botocore sessions PynamoDB
opens per model), goes through botocore's BaseClient._make_api_call, so one patch there sees them all.
Nothing here imports chalicelib at module level: the cold-start probes import this before the app.
"""
from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")


@dataclass
class AwsCalls:
    by_operation: Counter = field(default_factory=Counter)
    # Items read: Count (items returned) and ScannedCount (items DynamoDB looked at) over Query and
    # Scan responses, and one per GetItem that found an item.
    returned: int = 0
    scanned: int = 0
    got: int = 0
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def describe(self) -> str:
        return ", ".join(f"{op} {n}" for op, n in sorted(self.by_operation.items(), key=lambda kv: (-kv[1], kv[0])))

    def _record(self, operation: str, params: dict[str, Any], response: dict[str, Any] | None) -> None:
        self.by_operation[operation] += 1
        self.log.append((operation, params))
        if response is None:
            return
        if operation in ("Query", "Scan"):
            self.returned += response.get("Count", 0)
            self.scanned += response.get("ScannedCount", 0)
        elif operation == "GetItem" and response.get("Item"):
            self.got += 1
        elif operation == "BatchGetItem":
            self.got += sum(len(items) for items in response.get("Responses", {}).values())


@contextlib.contextmanager
def count_aws_calls() -> Iterator[AwsCalls]:
    """Every botocore API call made inside the block (failed ones too: a refused condition is a call)."""
    from botocore.client import BaseClient

    calls = AwsCalls()
    real = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        response = None
        try:
            response = real(self, operation_name, api_params)
            return response
        finally:
            calls._record(operation_name, api_params, response)

    BaseClient._make_api_call = counting
    try:
        yield calls
    finally:
        BaseClient._make_api_call = real


# ---------------------------------------------------------------- setting moto up without warming the app


def setup_spec(extra_tables: list[dict[str, Any]] = (), extra_senders: list[str] = ()) -> dict[str, Any]:
    """What provisioning moto means for this app, as plain AWS calls: each table's CreateTable (and
    TTL) exactly as PynamoDB makes them, the link secret, the areas' sender addresses. Recorded here
    (this imports the app) so a fresh process can replay it with its own botocore session, leaving
    the app's imports and caches as cold as Lambda's."""
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.adapters.secrets import link_secret_id
    from chalicelib.adapters.tables import ALL_TABLES, reset_connections

    with mock_aws(), count_aws_calls() as calls:
        reset_connections()
        for model in ALL_TABLES:
            model.create_table(wait=False)
        reset_connections()
    replay = [(op, params) for op, params in calls.log if op in ("CreateTable", "UpdateTimeToLive")]
    return {
        "dynamodb": replay + [("CreateTable", t) for t in extra_tables],
        "secretsmanager": [("CreateSecret", {"Name": link_secret_id(),
                                             "SecretString": "bench-secret-for-partner-links-0123456789"})],
        "ses": [("VerifyEmailIdentity", {"EmailAddress": a})
                for a in sorted({p.contacts.sender_email for p in wiring.policies().values()} | set(extra_senders))],
    }


def provision(spec: dict[str, Any], region: str = "eu-west-2") -> None:
    """Replay setup_spec inside mock_aws, through a botocore session of its own (so the app's and
    boto3's default sessions have loaded nothing)."""
    import boto3

    session = boto3.session.Session(region_name=region)
    for service, calls in spec.items():
        client = session.client(service)
        for operation, params in calls:
            client._make_api_call(operation, params)  # noqa: SLF001 - replaying recorded calls as they were


# The floor's own table and sender: a small PynamoDB model, created in the same set-up as the app's.
FLOOR_TABLE = {"TableName": "bench-floor", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
FLOOR_SENDER = "floor@bench.example"


def cold_start_spec() -> dict[str, Any]:
    """Everything a fresh probe process needs, worked out here so that process imports none of the app
    before it is measured: the set-up calls, the example application and the table prefix."""
    import os

    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import example_application

    return {"env": {"TABLE_PREFIX": os.environ["TABLE_PREFIX"]},
            "setup": setup_spec([FLOOR_TABLE], [FLOOR_SENDER]),
            "application": example_application(london_date(utc_now()))}


if __name__ == "__main__":  # python -m infra.aws_calls: print cold_start_spec() as JSON (run by infra.bench)
    import json
    import os
    import sys
    from pathlib import Path

    os.environ.update({"AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    os.environ.setdefault("TABLE_PREFIX", "ct-measure")
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(json.dumps(cold_start_spec()))
