"""Starts the stack exactly as `make run` does (python -m infra.local_stack) on free ports, then
uses it over HTTP like an applicant's browser and a person reading the outbox would."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from chalicelib.clock import london_date, utc_now
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.letters import long_date

from .conftest import call, free_port, sent  # noqa: F401 - shared with the browser tests

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def test_banner_prints_every_url(stack):
    assert stack["api"] in stack["banner"]
    assert stack["outbox"] in stack["banner"]


def test_openapi_example_is_acknowledged_by_email_with_the_right_dates(stack):
    status, spec = call("GET", f"{stack['api']}/openapi.json")
    assert status == 200
    examples = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    example = examples["victim"]["value"]

    status, receipt = call("POST", f"{stack['api']}/applications", example, {"Idempotency-Key": "e2e-1"})
    answered = time.monotonic()
    assert status == 201, receipt
    ref = receipt["reference"]
    # Answered before any email went: the letters are sent from DynamoDB Local's stream, within seconds.
    assert {letter["status"] for letter in receipt["letters"]} == {"pending"}
    arrived = sent(stack["outbox"], lambda m: ref in m["subject"] and m["to"] == [example["victim"]["email"]])
    assert arrived and time.monotonic() - answered < 5, "the acknowledgement reached the outbox within 5 seconds"

    # Derbyshire (England): 5 and 15 working days from today's London date.
    calendar = WorkingCalendar("ENG")
    today = london_date(utc_now())
    decision = calendar.working_days_after(today, 15)
    assert receipt["acknowledgement_due"] == calendar.working_days_after(today, 5).isoformat()
    assert receipt["decision_due"] == decision.isoformat()

    messages = sent(stack["outbox"], lambda m: ref in m["subject"] and m["to"] == [example["victim"]["email"]])
    assert len(messages) == 1
    [email] = messages
    assert email["to"] == [example["victim"]["email"]]
    assert long_date(decision) in email["body"]

    # The outbox page a person opens lists it too.
    with urllib.request.urlopen(stack["outbox"], timeout=10) as response:
        assert ref in response.read().decode()


def test_a_simulated_bounce_shows_on_the_case_and_queues_the_letter_for_post(stack):
    """The outbox page's Simulate bounce hands the app's SES-events handler a hard bounce of the
    acknowledgement: the letter shows it, a copy waits in the print queue and the SPOC is emailed."""
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    status, receipt = call("POST", f"{stack['api']}/applications", example)
    assert status == 201, receipt
    ref = receipt["reference"]
    [ack] = sent(stack["outbox"], lambda m: ref in m["subject"] and m["to"] == [example["victim"]["email"]])
    request = urllib.request.Request(f"{stack['outbox']}/messages/{ack['n']}/bounce", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as redirect:  # 303 to the console (urllib will not follow a POST's)
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    assert redirect.value.code == 303 and f"/console/cases/{ref}" in redirect.value.headers["Location"]
    _, case = call("GET", f"{stack['outbox']}/cases/{ref}.json")
    bounced = [l for l in case["letters"] if l["delivery"] == "bounced"]
    assert [l["step"] for l in bounced] == ["acknowledgement"]
    [posted] = [l for l in case["letters"] if l["replaces"] == bounced[0]["id"]]
    assert posted["channel"] == "post" and posted["status"] == "print_queued"
    with urllib.request.urlopen(f"{stack['outbox']}/print-queue.json", timeout=10) as response:
        assert ref in {q["ref"] for q in json.load(response)}
    assert sent(stack["outbox"], lambda m: ref in m["subject"] and "bounced" in m["subject"].lower())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_retry_with_the_same_key_gives_one_case(stack):
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    first = call("POST", f"{stack['api']}/applications", example, {"Idempotency-Key": "e2e-retry"})
    second = call("POST", f"{stack['api']}/applications", example, {"Idempotency-Key": "e2e-retry"})
    assert first[0] == second[0] == 201
    assert first[1]["reference"] == second[1]["reference"]
    ref = first[1]["reference"]
    to_applicant = sent(stack["outbox"], lambda m: m["to"] == [example["victim"]["email"]] and ref in m["subject"])
    time.sleep(1.5)  # the stream has had time to send a second one, if there were one
    assert len(sent(stack["outbox"], lambda m: m["to"] == [example["victim"]["email"]] and ref in m["subject"])) == 1
    assert len(to_applicant) == 1


def test_five_mistakes_give_five_field_errors(stack):
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    body = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    body["victim"]["email"] = "nope"
    body["victim"]["address"]["postcode"] = "12345"
    body["incidents"][0]["how_reported"] = "carrier pigeon"
    body["incidents"][1]["happened_on"] = "2026-13-01"
    body["declaration"] = False
    status, problem = call("POST", f"{stack['api']}/applications", body)
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {
        "victim.email", "victim.address.postcode", "incidents[0].how_reported", "incidents[1].happened_on", "declaration"}


def test_an_unlawful_policy_stops_start_up_naming_file_and_field(tmp_path):
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    hart = tmp_path / "policies" / "hart.toml"
    hart.write_text(hart.read_text().replace("lookback_months = 6", "lookback_months = 9", 1))
    env = {**os.environ, "CT_RESOURCE_ROOT": str(tmp_path), "PORT": str(free_port()),
           "MOTO_PORT": str(free_port()), "OUTBOX_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "infra.local_stack"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "hart.toml: threshold.lookback_months" in result.stderr
    assert "six months" in result.stderr


def test_staff_sign_in_with_the_development_issuer(stack):
    """The API fetches the issuer's keys over HTTP (JWKS) and checks a token from `make token`."""
    env = {**os.environ, "OUTBOX_PORT": stack["outbox"].rsplit(":", 1)[1]}
    token = subprocess.run([sys.executable, "-m", "infra.dev_issuer", "--role", "spoc", "--area", "derbyshire"],
                           cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.strip()
    status, body = call("GET", f"{stack['api']}/cases", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and "cases" in body
    status, _ = call("GET", f"{stack['api']}/cases")
    assert status == 401
    status, _ = call("GET", f"{stack['api']}/cases", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
    assert status == 401


def test_make_sweep_sends_each_reminder_once(stack):
    """`make sweep AT=...` drives the scheduled handler against the running stack."""
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    _, receipt = call("POST", f"{stack['api']}/applications", example)
    ref = receipt["reference"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "TABLE_PREFIX"}
    env.update({"PORT": stack["api"].rsplit(":", 1)[1], "OUTBOX_PORT": stack["outbox"].rsplit(":", 1)[1],
                "MOTO_PORT": stack["moto_port"], "DYNAMODB_PORT": stack["dynamodb_port"]})
    from datetime import date as _date

    from chalicelib.domain.calendar import WorkingCalendar

    decision_due = _date.fromisoformat(receipt["decision_due"])
    calendar = WorkingCalendar("ENG")
    day_before = decision_due
    while True:
        day_before = _date.fromordinal(day_before.toordinal() - 1)
        if calendar.is_working_day(day_before):
            break
    def reminders_sent():
        # Every open case on the shared stack gets its reminders and chasers too (hundreds of emails).
        return sent(stack["outbox"], lambda m: ref in m["subject"] and "threshold decision" in m["subject"].lower(),
                    seconds=60)

    for n in range(2):  # twice: the second finds nothing new
        result = subprocess.run([sys.executable, "-m", "infra.sweep", "--at", f"{day_before}T09:30"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        if n == 0:
            assert reminders_sent(), "the first sweep's reminder reached the outbox"
    reminders = reminders_sent()
    assert reminders, "no reminder reached the outbox; the stack's output ends:\n" + "".join(stack["output"][-40:])
    time.sleep(1.5)  # a second sweep's reminder would have been sent by now
    assert len(sent(stack["outbox"], lambda m: ref in m["subject"] and "threshold decision" in m["subject"].lower())) == 1
    assert len(reminders) == 1 and reminders[0]["subject"].startswith("Reminder")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed here; .ci/run installs Debian's chromium")
def test_the_widget_on_a_plain_page_shows_the_same_numbers_as_the_json(stack, tmp_path):
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    call("POST", f"{stack['api']}/applications", example)
    _, data = call("GET", f"{stack['api']}/stats?area=derbyshire")
    page = tmp_path / "council.html"
    page.write_text(f"""<!doctype html><html lang="en"><head><title>Council</title>
<style>table {{ border: 5px solid red; }} caption {{ color: red; }}</style></head><body>
<h1>Community Trigger</h1>
<script src="{stack['api']}/stats/widget.js" data-area="derbyshire"></script>
<pre id="seen"></pre>
<script>
  // The test's own probe (not part of the embed): copy what the widget drew into the page.
  setTimeout(function () {{
    var host = document.querySelector(".community-trigger-stats");
    var table = host && host.shadowRoot && host.shadowRoot.querySelector("table");
    document.getElementById("seen").textContent = table
      ? Array.from(table.querySelectorAll("caption, th, td")).map(function (c) {{ return c.textContent; }}).join("|")
      + "|outside:" + getComputedStyle(table).borderTopStyle
      : "NO TABLE";
  }}, 1500);
</script></body></html>""")
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000", "--dump-dom",
                             page.as_uri()], capture_output=True, text=True, timeout=120)
    seen = result.stdout.split('<pre id="seen">', 1)[1].split("</pre>", 1)[0]
    assert seen != "NO TABLE" and seen, result.stderr[-2000:]
    cells = seen.split("|")
    assert cells[0].startswith("Community Trigger (ASB case review) figures: Derbyshire")
    year = data["years"][0]
    row = cells[cells.index(year["label"]):][:1 + len(data["labels"])]
    assert row == [year["label"], *[str(year["counts"][name]) for name in data["labels"]]]
    assert int(row[1]) >= 1
    assert cells[-1] == "outside:none"  # the page's red table borders did not reach inside the widget
