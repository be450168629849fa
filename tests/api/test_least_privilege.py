"""Each Lambda function's role grants what it uses and nothing more, by measurement.

The API test files below are run again (a pytest of their own) with tests/api/least_privilege.py
recording each AWS call and the function whose entry point made it; the scenarios in this file
add what those files never drive through the entry point (the five-minute letter retry, the
authorizer on its own). Then, for each function: every call it made is granted by its own
.chalice/policy-<name>.json, and every grant there was used by some call, except the few the
Lambda service itself uses (ALLOWED_UNUSED, each with its reason).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from least_privilege import CONFIG_NAMES, REPO, function_policy, grants, granted, policy_file, resolve

# The files whose flows are measured: a case through every step (applications, partners' returns,
# staff case work by API and console, appeals, print queue, subject access, statistics), the
# sweep's reminders and escalations, the letter stream, SES receipts. Left out: the fuzz and
# bad-input suites (refused requests), the OpenAPI and asset files (no AWS), and the cost probes.
SCENARIO_FILES = [
    "test_applications.py", "test_form_posts.py", "test_lifecycle.py", "test_partners.py", "test_staff.py",
    "test_case_list.py", "test_console_access.py", "test_console_auth.py", "test_console_cases.py",
    "test_console_office.py", "test_console_steps.py", "test_data_return.py", "test_stats.py", "test_previews.py",
    "test_findings_max.py", "test_letter_stream.py", "test_outbox_and_races.py", "test_receipts.py", "test_sweep.py",
    "test_retention.py", "test_link_rotation.py",
]
SCENARIOS_HERE = ["test_scenario_letter_retry_fails_gives_up_then_sends", "test_scenario_staff_auth_alone",
                  "test_scenario_console_sign_in_with_a_client_secret_from_the_parameter_store"]

# (function, statement Sid) -> why no test sees it used: the Lambda service makes these calls with
# the function's role, not our code.
ALLOWED_UNUSED = {
    **{(function, "Logs"): "Lambda writes the function's log" for function in CONFIG_NAMES},
    ("LetterSender", "LetterStream"): "Lambda's event source mapping reads the letters table's stream",
    ("LetterSender", "DeadLetters"): "the event source mapping's OnFailure destination: what it gives up on",
    ("SesReceipts", "DeadLetters"): "SNS invokes asynchronously: Lambda's DeadLetterQueue for what failed",
    # The sweep retries letters too (chalicelib/sweep.py run -> retry_letters) and a partner request's
    # link is signed when it is sent; no measured sweep finds a failed partner request to retry.
    ("DeadlineSweep", "ReadPartnerLinkSecret"): "signs the link of a partner request it retries",
    ("CaseRetention", "CaseStream"): "Lambda's event source mapping reads the cases table's stream",
    ("CaseRetention", "DeadLetterQueue"): "the event source mapping's OnFailure destination",
}


def start_measurement(out: Path) -> subprocess.Popen:
    """The measured files in a pytest of their own, started as soon as the session knows it will
    need them (tests/api/conftest.py pytest_collection_finish): it runs on the machine's other core
    while this session runs the rest, instead of adding minutes after it."""
    here = Path(__file__).resolve().parent
    args = [str(here / name) for name in SCENARIO_FILES] + [f"{here / Path(__file__).name}::{name}" for name in SCENARIOS_HERE]
    env = {**os.environ, "CT_RECORD_AWS_CALLS": str(out), "PYTHONPATH": os.pathsep.join([str(here), str(REPO)]),
           # As deployed: every email names the stack's configuration set (tests/conftest.py: the stack is ct-test).
           "SES_CONFIGURATION_SET": "ct-test-letters"}
    log = open(out.with_suffix(".log"), "w")  # noqa: SIM115 - read back when the run ends
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-x", "-p", "least_privilege", "-p", "no:randomly",
                             "-p", "no:cacheprovider", *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


RUN: dict[str, tuple[subprocess.Popen, Path]] = {}


def begin(tmp_dir: Path) -> None:
    if "measured" not in RUN:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        out = tmp_dir / "calls.json"
        RUN["measured"] = (start_measurement(out), out)


def _run_measured_files(tmp_dir: Path) -> dict[str, list[list[str]]]:
    begin(tmp_dir)  # not started yet when only this file's tests were collected after all
    process, out = RUN["measured"]
    returncode = process.wait(timeout=1800)
    log = out.with_suffix(".log").read_text()
    assert returncode == 0, log[-8000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, set[tuple[str, str]]]:
    used = _run_measured_files(tmp_path_factory.getbasetemp() / "least-privilege")
    return {function: {tuple(pair) for pair in pairs} for function, pairs in used.items()}


def _policy(function: str) -> dict:
    return function_policy(function)


@pytest.mark.slow  # runs the measured files again: minutes
@pytest.mark.parametrize("function", sorted(CONFIG_NAMES))
def test_every_call_a_function_makes_is_granted_by_its_own_policy(function, measured):
    policy_grants = grants(_policy(function))
    refused = sorted(p for p in measured.get(function, set()) if not granted(*p, policy_grants))
    assert refused == [], f"{function} needs these and .chalice/{policy_file(function).name} does not grant them"


@pytest.mark.slow  # runs the measured files again: minutes
@pytest.mark.parametrize("function", sorted(CONFIG_NAMES))
def test_every_grant_in_a_functions_policy_is_used(function, measured):
    import fnmatch

    used = measured.get(function, set())
    unused = sorted({(sid, action, pattern) for sid, action, pattern in grants(_policy(function))
                     if (function, sid) not in ALLOWED_UNUSED
                     and not any(a == action and fnmatch.fnmatchcase(r, pattern) for a, r in used)})
    assert unused == [], f"{function} is granted these and no scenario used them"


@pytest.mark.slow  # runs the measured files again: minutes
def test_the_measurement_saw_every_function_at_work(measured):
    # StaffAuth verifies tokens with the issuer's published keys, over HTTPS: no AWS call at all.
    assert set(measured) == set(CONFIG_NAMES) - {"StaffAuth"}, sorted(measured)
    assert ("ses:SendEmail", "arn:aws:ses:eu-west-2:123456789012:configuration-set/ct-test-letters") in measured["LetterSender"]


def test_resources_resolve_to_this_stacks_arns():
    # The recorder and the policies agree on names: a table the tests use is the stack's table.
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-cases"}) \
        == "arn:aws:dynamodb:eu-west-2:123456789012:table/ct-test-cases"
    from chalicelib.adapters.tables import CaseRecord

    assert CaseRecord.Meta.table_name == "ct-test-cases"


# ---------------------------------------------------------------- scenarios measured here (also plain tests)

TODAY = date(2026, 12, 21)


def _retry(client) -> dict:
    event = {"version": "0", "id": "retry", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": "", "region": "eu-west-2", "resources": [], "detail": {}}
    return client.lambda_.invoke("letter_retry", event).payload


def test_scenario_letter_retry_fails_gives_up_then_sends(intake, wired, clock, outbox, monkeypatch):
    """SES refuses (no sender verified yet): the stream's send fails, the retry fails again, a letter
    out of attempts is given up and the SPOC told; once the senders are verified the retry sends."""
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import clock as clocks
    from chalicelib.adapters.tables import LetterRecord
    from chalicelib.openapi import example_application
    from chalicelib.sweep import MAX_LETTER_ATTEMPTS

    monkeypatch.setattr(clocks, "utc_now", clock)  # the handler's now
    with Client(app) as client:
        answer = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                  body=json.dumps(example_application(TODAY)))
        assert answer.status_code == 201
        ref = answer.json_body["reference"]
        emails = [l for l in LetterRecord.query(ref) if l.channel == "email"]
        assert emails and all(l.status == "pending" and l.attempts == 1 for l in emails)

        clock.now += timedelta(minutes=6)
        assert _retry(client)["letters_retried"] == len(emails)
        assert outbox() == []

        first, *rest = emails
        LetterRecord.get(ref, first.letter_id).update(actions=[LetterRecord.attempts.set(MAX_LETTER_ATTEMPTS)])
        boto3.client("ses", region_name="eu-west-2").verify_email_identity(
            EmailAddress=wired.policies()[first.area].contacts.sender_email)
        clock.now += timedelta(hours=1)
        report = _retry(client)
        assert report["letters_failed"] == 1 and report["letters_retried"] == len(rest)
        assert LetterRecord.get(ref, first.letter_id).status == "failed"
        assert {LetterRecord.get(ref, l.letter_id).status for l in rest} <= {"sent", "cancelled"}
        assert any("could not be sent" in m.subject.lower() or ref in m.subject for m in outbox())


def test_scenario_staff_auth_alone(token, client):
    """The authorizer on its own: a good token is let through, a bad one refused (401)."""
    assert client.http.get("/cases", headers={"Authorization": token()}).status_code == 200
    assert client.http.get("/cases", headers={"Authorization": token(expired=True)}).status_code == 401


def test_scenario_console_sign_in_with_a_client_secret_from_the_parameter_store(key, wired, monkeypatch):
    """A confidential console client (OidcClientSecretParameter): the callback reads the secret from
    SSM and sends it to the token endpoint (client_secret_basic)."""
    import boto3
    from chalice.test import Client

    import test_console_auth as flow
    from app import app
    from chalicelib.oidc import OidcClient, OidcSettings

    name = "/community-trigger/ct-test/oidc-client-secret"  # the name the stack's parameter documents
    boto3.client("ssm", region_name="eu-west-2").put_parameter(Name=name, Value="s3cret", Type="SecureString")
    monkeypatch.setenv("OIDC_ISSUER", flow.ISSUER)
    monkeypatch.setenv("OIDC_CLIENT_ID", flow.CLIENT_ID)
    monkeypatch.setenv("OIDC_CLIENT_SECRET_PARAMETER", name)
    monkeypatch.delenv("OIDC_CLIENT_SECRET", raising=False)
    fake = flow.FakeProvider(key)
    posts = []

    def post(url, fields, headers):
        posts.append(headers)
        return fake.post(url, fields, headers)

    client = OidcClient(OidcSettings.from_environment(), fetch_json=fake.fetch_json, post=post,
                        keys_for=lambda uri: lambda kid: key.public_key())
    monkeypatch.setattr(wired, "oidc", lambda: client)
    with Client(app) as console:
        answer, session = flow.sign_in(console, fake)
    assert answer.status_code == 303 and session
    [headers] = posts
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == f"{flow.CLIENT_ID}:s3cret".encode()
