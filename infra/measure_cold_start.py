"""Measure what a cold Lambda pays before and during its first application, in a fresh process.

    python -m infra.measure_cold_start     (prints milliseconds; AWS is moto in-process, so the
                                            AWS round-trips are not representative, the rest is)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.update({"AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                   "TABLE_PREFIX": "ct-measure"})
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def main() -> None:
    timings = {}
    t = time.perf_counter()
    import app  # noqa: F401 - what Lambda does at init
    timings["import app.py (Lambda init)"] = ms(t)

    t = time.perf_counter()
    from chalicelib import intake, openapi, wiring  # noqa: F401 - what the first POST imports
    timings["first request: import use case (pydantic, pynamodb, botocore)"] = ms(t)

    t = time.perf_counter()
    wiring.policies()
    timings["first request: load and check 5 policies (+ jinja2 template list)"] = ms(t)

    from moto import mock_aws

    with mock_aws():
        from chalicelib.adapters.tables import ALL_TABLES
        import boto3

        for model in ALL_TABLES:
            model.create_table(wait=True)
        for policy in wiring.policies().values():
            boto3.client("ses", region_name="eu-west-2").verify_email_identity(EmailAddress=policy.contacts.sender_email)
        from chalicelib.adapters.secrets import link_secret_name

        boto3.client("ssm", region_name="eu-west-2").put_parameter(
            Name=link_secret_name(), Value="measure-cold-start-secret-0123456789", Type="SecureString")
        from chalice.test import Client
        from chalicelib.clock import london_date, utc_now

        body = json.dumps(openapi.example_application(london_date(utc_now())))
        with Client(app.app) as client:
            for label in ("first POST /applications (moto)", "second POST /applications (moto)"):
                t = time.perf_counter()
                response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=body)
                assert response.status_code == 201, response.body
                timings[label] = ms(t)
    width = max(map(len, timings))
    for label, value in timings.items():
        print(f"{label:<{width}}  {value:>8.1f} ms")


if __name__ == "__main__":
    main()
