"""The applicant's form and the partner page in a real browser (Debian's Chromium driven by
Playwright), against the stack as `make run` starts it. axe-core checks every page and error
state; screenshots of each final page are kept in test-artifacts/."""
from __future__ import annotations

import json
import re
import shutil
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from .browsing import ARTIFACTS, CHROMIUM, NO_CHROMIUM, keep, no_axe_violations
from .conftest import REPO, call, sent

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
TODAY = date.today()


def no_axe_violations_without_js(browser, page, label: str) -> None:
    """axe is JavaScript, so it cannot run in a page with scripts off: check the same HTML in a
    page where only the form's own script is blocked, so the no-JavaScript state is what is checked."""
    checker = browser.new_page()
    checker.route("**/form.js", lambda route: route.abort())
    checker.set_content(page.content())
    no_axe_violations(checker, label)
    checker.close()


def eid(name: str) -> str:
    return "#" + name.replace("[", "-").replace("]", "").replace(".", "-")


def fill_date(page, name: str, day: date) -> None:
    page.fill(eid(f"{name}.day"), str(day.day))
    page.fill(eid(f"{name}.month"), str(day.month))
    page.fill(eid(f"{name}.year"), str(day.year))


def fill_person(page, who: str, name: str, email: str) -> None:
    page.fill(eid(f"{who}.name"), name)
    page.fill(eid(f"{who}.address.line1"), "12 Elm Road")
    page.fill(eid(f"{who}.address.town"), "Matlock")
    page.fill(eid(f"{who}.address.postcode"), "DE4 3AG")
    page.fill(eid(f"{who}.email"), email)
    page.check(eid(f"{who}.preferred_contact"))  # "email", the first choice, has the group's id


def fill_incident(page, i: int, days_ago: int) -> None:
    happened = TODAY - timedelta(days=days_ago)
    fill_date(page, f"incidents[{i}].happened_on", happened)
    page.fill(eid(f"incidents[{i}].description"), f"Loud music and shouting, night {i + 1}")
    page.fill(eid(f"incidents[{i}].reported_by"), "Sam Taylor")
    fill_date(page, f"incidents[{i}].reported_on", happened)
    page.fill(eid(f"incidents[{i}].reported_to"), "Derbyshire Constabulary")
    page.select_option(eid(f"incidents[{i}].how_reported"), "phone")


def fill_application(page, *, incidents: int = 3, on_behalf: bool = False) -> None:
    if on_behalf:
        page.check("#basis-on_behalf")
        fill_person(page, "applicant", "Alex Morgan", "alex.morgan@example.org")
        page.check("#applicant-relationship")  # the first choice
        page.check("#victim_consent-to_follow")
    else:
        page.check("#basis")  # "victim", the first choice
    fill_person(page, "victim", "Sam Taylor", "sam.taylor@example.com")
    page.fill(eid("summary"), "Loud music and threats from the flat above, most nights.")
    for i in range(incidents):
        if i > 0:
            page.click('button[value="add_incident"]')
        fill_incident(page, i, 10 + i * 9)
    page.check(eid("declaration"))
    page.check(eid("information_sharing_consent"))


def emails_to(stack, address: str, reference: str) -> list[dict]:
    return sent(stack["outbox"], lambda m: m["to"] == [address] and reference in m["subject"])


def send_and_confirm(page) -> str:
    page.click('button[value="check"]')
    page.get_by_role("button", name=re.compile("Send application")).click()
    heading = page.locator("h1, h2").filter(has_text=re.compile("received|sent", re.I)).first
    heading.wait_for()
    reference = re.search(r"CT-[A-Z0-9]{4}-[A-Z0-9]{4}", page.content()).group(0)
    return reference


def test_start_page_explains_the_threshold_and_passes_axe(page, stack):
    page.goto(f"{stack['form']}/hart/")
    text = page.inner_text("main")
    assert "hate" in text.lower()  # Hart: one hate incident is enough
    no_axe_violations(page, "start page")
    keep(page, "start-hart")
    page.get_by_role("link", name=re.compile("Start now")).click()
    assert page.url.endswith("/hart/apply.html")


def test_apply_for_myself_with_javascript(page, stack):
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    no_axe_violations(page, "empty form")
    fill_application(page)
    reference = send_and_confirm(page)
    no_axe_violations(page, "confirmation")
    keep(page, "confirmation-myself")
    assert emails_to(stack, "sam.taylor@example.com", reference)


def test_apply_on_behalf_of_someone(page, stack):
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    assert page.is_hidden(eid("applicant.name"))  # revealed only for "on behalf"
    fill_application(page, on_behalf=True)
    reference = send_and_confirm(page)
    assert "consent" in page.inner_text("main").lower()
    keep(page, "confirmation-on-behalf")
    assert emails_to(stack, "alex.morgan@example.org", reference)


def test_eight_incidents(page, stack):
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    fill_application(page, incidents=8)
    reference = send_and_confirm(page)
    keep(page, "confirmation-eight-incidents")
    spoc = subprocess_token(stack)
    status, case = call("GET", f"{stack['api']}/cases/{reference}", headers={"Authorization": f"Bearer {spoc}"})
    assert status == 200 and len(case["application"]["incidents"]) == 8


def test_validation_errors_then_success(page, stack):
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    fill_application(page)
    page.fill(eid("victim.email"), "not-an-email")
    page.fill(eid("incidents[0].reported_on.day"), "31")
    page.fill(eid("incidents[0].reported_on.month"), "2")
    page.click('button[value="check"]')
    page.get_by_role("button", name=re.compile("Send application")).click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "name@example.com" in summary.inner_text()
    no_axe_violations(page, "form with errors (JavaScript)")
    keep(page, "errors-javascript")
    page.click(f'.error-summary a[href="{eid("victim.email")}"]')
    page.fill(eid("victim.email"), "sam.taylor@example.com")
    fill_date(page, "incidents[0].reported_on", TODAY - timedelta(days=10))
    reference = send_and_confirm(page)
    assert reference


def test_without_javascript_the_api_answers_with_pages(page_without_js, browser, stack):
    page = page_without_js
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    assert page.is_visible(eid("applicant.name"))  # nothing is hidden without the script
    fill_application(page, incidents=2)  # the second incident comes from a round trip to the API
    assert page.input_value(eid("victim.name")) == "Sam Taylor"  # kept through the round trip
    page.fill(eid("summary"), "")
    page.click('button[value="check"]')
    assert page.locator(".error-summary").is_visible()
    assert page.input_value(eid("victim.email")) == "sam.taylor@example.com"  # everything typed is kept
    no_axe_violations_without_js(browser, page, "form with errors (no JavaScript)")
    keep(page, "errors-no-javascript")
    page.fill(eid("summary"), "Loud music and threats from the flat above.")
    page.click('button[value="check"]')
    no_axe_violations_without_js(browser, page, "check your answers")
    keep(page, "check-answers-no-javascript")
    page.get_by_role("button", name=re.compile("Send application")).click()
    reference = re.search(r"CT-[A-Z0-9]{4}-[A-Z0-9]{4}", page.content()).group(0)
    no_axe_violations_without_js(browser, page, "confirmation (no JavaScript)")
    keep(page, "confirmation-no-javascript")
    assert emails_to(stack, "sam.taylor@example.com", reference)


def test_the_whole_form_by_keyboard_alone(page, stack):
    page.goto(f"{stack['form']}/derbyshire/apply.html")
    values = {"victim.name": "Sam Taylor", "victim.address.line1": "12 Elm Road", "victim.address.town": "Matlock",
              "victim.address.postcode": "DE4 3AG", "victim.email": "sam.taylor@example.com",
              "summary": "Loud music most nights.", "incidents[0].description": "Music until 3am",
              "incidents[0].reported_by": "Sam Taylor", "incidents[0].reported_to": "Derbyshire Constabulary"}
    happened = TODAY - timedelta(days=5)
    for part in ("happened_on", "reported_on"):
        values.update({f"incidents[0].{part}.day": str(happened.day), f"incidents[0].{part}.month": str(happened.month),
                       f"incidents[0].{part}.year": str(happened.year)})
    wanted_checks = {"basis", "victim.preferred_contact", "declaration", "information_sharing_consent"}
    page.keyboard.press("Tab")
    for _ in range(400):
        focused = page.evaluate("""() => { const e = document.activeElement;
            return e ? {name: e.name || '', type: e.type || '', tag: e.tagName, value: e.value || '', text: e.textContent || ''} : null; }""")
        if focused["tag"] == "BUTTON" and "check" == focused["value"]:
            page.keyboard.press("Enter")
            break
        if focused["name"] in values and focused["type"] not in ("radio", "checkbox"):
            page.keyboard.type(values.pop(focused["name"]))
        elif focused["name"] == "incidents[0].how_reported":
            page.keyboard.press("ArrowDown")
        elif focused["type"] in ("radio", "checkbox") and focused["name"] in wanted_checks:
            page.keyboard.press("Space")
            wanted_checks.discard(focused["name"])
        page.keyboard.press("Tab")
    send = page.get_by_role("button", name=re.compile("Send application"))
    send.focus()
    page.keyboard.press("Enter")
    page.locator("h1, h2").filter(has_text=re.compile("received|sent", re.I)).first.wait_for()
    assert values == {} and wanted_checks == set()
    keep(page, "confirmation-keyboard")


def test_partner_return_page_in_the_browser(page, stack):
    _, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    _, receipt = call("POST", f"{stack['api']}/applications", example)
    link = next(re.search(r"http://127\.0\.0\.1:\d+/partner/[^\"<\s]+", m["body"]).group(0)
                for m in sent(stack["outbox"], lambda m: receipt["reference"] in m["subject"] and "police" in m["to"][0]))
    page.goto(link)
    no_axe_violations(page, "partner form")
    page.click('button[value="submit"]')
    assert page.locator(".error-summary").is_visible()
    no_axe_violations(page, "partner form with errors")
    page.fill("#responder_name", "PC Jo Lee")
    for name in ("reports_held", "under_investigation", "vulnerability_markers", "risk_assessments"):
        page.check(f"#{name}-no")
    page.click('button[value="submit"]')
    assert "Return sent" in page.inner_text("h1")
    no_axe_violations(page, "partner confirmation")
    keep(page, "partner-confirmation")


def subprocess_token(stack) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "OUTBOX_PORT": stack["outbox"].rsplit(":", 1)[1]}
    return subprocess.run([sys.executable, "-m", "infra.dev_issuer", "--role", "spoc", "--area", "derbyshire"],
                          cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.strip()
