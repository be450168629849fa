"""Measure what a cold Lambda pays before and during its first application, in a fresh process.

    python -m infra.measure_cold_start            # one cold start, broken down (milliseconds)
    python -m infra.measure_cold_start app SPEC   # JSON: import app, first and second POST /applications
    python -m infra.measure_cold_start floor SPEC # JSON: the same libraries imported, then two rounds of
                                                  # one PynamoDB put, one SES send, one Secrets Manager read

AWS is moto in-process, so the AWS round-trips are not representative; the rest is. moto itself
imports boto3, botocore and cryptography, so in these processes those are loaded before anything is
timed (infra.bench times the imports alone in clean processes). Both probes set moto up by replaying
the same recorded calls (SPEC: `python -m infra.aws_calls` > file) through a botocore session of
their own, so nothing the app or the floor measures has been loaded or parsed before.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.update({"AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                   "TABLE_PREFIX": "ct-measure"})
for _name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# BENCH_PACKAGE_DIR: the unzipped deployment package, first on the path (app, chalicelib and the
# libraries it ships: what Lambda runs), for the app and the floor alike; boto3 and moto from the venv.
if os.environ.get("BENCH_PACKAGE_DIR"):
    sys.path.insert(0, os.environ["BENCH_PACKAGE_DIR"])

FLOOR_LIBRARIES = ("chalice", "pydantic", "pynamodb.models", "pynamodb.attributes", "jinja2", "boto3", "botocore",
                   "holidays")


def ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def load_spec(path: str | None) -> dict:
    if path:
        return json.loads(Path(path).read_text())
    import subprocess

    out = subprocess.run([sys.executable, "-m", "infra.aws_calls"], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def probe_app(spec: dict) -> dict:
    os.environ.update(spec["env"])
    from moto import mock_aws

    from infra.aws_calls import provision

    result = {}
    t = time.perf_counter()
    import app  # what Lambda does at init

    result["import"] = ms(t)
    body = json.dumps(spec["application"])
    with mock_aws():
        provision(spec["setup"])
        for label in ("first", "second"):
            t = time.perf_counter()
            # API Gateway's proxy event, handed to the handler as Lambda does (the deployment package
            # has no chalice.test, so this works from the package too)
            response = app.app(api_gateway_event("POST", "/applications", body, {
                "Content-Type": "application/json", "Idempotency-Key": f"bench-{label}"}), LambdaContext())
            result[label] = ms(t)
            assert response["statusCode"] == 201, response["body"]
    return result


class LambdaContext:
    function_name = "bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:bench"
    log_group_name = log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_gateway_event(method: str, path: str, body: str, headers: dict[str, str]) -> dict:
    return {"resource": path, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                               "requestId": "bench", "identity": {"sourceIp": "127.0.0.1"}},
            "body": body, "isBase64Encoded": False}


def probe_floor(spec: dict) -> dict:
    """The least any function doing this work could pay: the same libraries, one put, one send, one read."""
    import importlib

    from moto import mock_aws

    from infra.aws_calls import FLOOR_SENDER, FLOOR_TABLE, provision

    result = {}
    t = time.perf_counter()
    for name in FLOOR_LIBRARIES:
        importlib.import_module(name)
    result["import"] = ms(t)

    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.models import Model

    class FloorItem(Model):
        class Meta:
            table_name = FLOOR_TABLE["TableName"]
            region = "eu-west-2"

        pk = UnicodeAttribute(hash_key=True)
        body = UnicodeAttribute()

    secret = spec["setup"]["secretsmanager"][0][1]["Name"]
    with mock_aws():
        provision(spec["setup"])
        import boto3

        clients = {}
        for label in ("first", "second"):
            t = time.perf_counter()
            FloorItem(f"item-{label}", body="a small item").save()
            ses = clients.get("ses") or clients.setdefault("ses", boto3.client("ses", region_name="eu-west-2"))
            ses.send_email(Source=FLOOR_SENDER, Destination={"ToAddresses": ["someone@bench.example"]},
                           Message={"Subject": {"Data": "Floor"}, "Body": {"Text": {"Data": "One email."}}})
            manager = clients.get("secretsmanager") or clients.setdefault(
                "secretsmanager", boto3.client("secretsmanager", region_name="eu-west-2"))
            manager.get_secret_value(SecretId=secret)
            result[label] = ms(t)
    return result


def breakdown(spec: dict) -> None:
    os.environ.update(spec["env"])
    timings = {}
    from moto import mock_aws

    from infra.aws_calls import provision

    t = time.perf_counter()
    import app  # noqa: F401 - what Lambda does at init
    timings["import app.py (Lambda init)"] = ms(t)

    t = time.perf_counter()
    from chalicelib import intake, openapi, wiring  # noqa: F401 - what the first POST imports
    timings["first request: import use case (pydantic, pynamodb)"] = ms(t)

    t = time.perf_counter()
    wiring.policies()
    timings["first request: load and check the policies (+ jinja2 template list)"] = ms(t)

    body = json.dumps(spec["application"])
    with mock_aws():
        provision(spec["setup"])
        from chalice.test import Client

        with Client(app.app) as client:
            for label in ("first POST /applications (moto)", "second POST /applications (moto)"):
                t = time.perf_counter()
                response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=body)
                assert response.status_code == 201, response.body
                timings[label] = ms(t)
    width = max(map(len, timings))
    for label, value in timings.items():
        print(f"{label:<{width}}  {value:>8.1f} ms")


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("app", "floor"):
        spec = load_spec(argv[1] if len(argv) > 1 else None)
        print(json.dumps((probe_app if argv[0] == "app" else probe_floor)(spec)))
    else:
        breakdown(load_spec(argv[0] if argv else None))


if __name__ == "__main__":
    main(sys.argv[1:])
