"""The console's office pages in Chromium against the local stack: the print queue, a letter
printed to PDF on A4 with its address in the window of the envelope, marking it printed; the
appeals body's page; reports; subject access. axe on every page and error state; screenshots
console-office-*.png in test-artifacts/."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date

import pytest

from chalicelib.openapi import example_application

from .browsing import CHROMIUM, NO_CHROMIUM, keep, no_axe_violations, sign_in_to_console
from .conftest import REPO, call

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)

MM = 96 / 25.4  # CSS pixels per millimetre
A4_POINTS = (595.0, 842.0)  # 210 x 297 mm


def token(stack, role: str, area: str = "derbyshire") -> str:
    env = {**os.environ, "OUTBOX_PORT": stack["outbox"].rsplit(":", 1)[1]}
    return subprocess.run([sys.executable, "-m", "infra.dev_issuer", "--role", role, "--area", area], cwd=REPO,
                          env=env, capture_output=True, text=True, check=True).stdout.strip()


def apply_by_post(stack, name: str = "Sam Taylor") -> str:
    body = example_application(date.today())
    body["victim"]["preferred_contact"] = "post"
    body["victim"]["name"] = name
    status, answer = call("POST", f"{stack['api']}/applications", body)
    assert status == 201, answer
    return answer["reference"]


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points, from the PDF's page objects (Chromium writes them uncompressed)."""
    text = pdf.decode("latin-1")
    pages = re.findall(r"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", text, re.S)
    if not pages:  # MediaBox before /Type in the dictionary
        pages = re.findall(r"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\][^>]*?/Type\s*/Page\b(?!s)", text, re.S)
    return [(float(x2) - float(x1), float(y2) - float(y1)) for x1, y1, x2, y2 in pages]


def test_the_print_queue_prints_a_letter_on_a4_for_a_window_envelope(page, stack):
    ref = apply_by_post(stack)
    other = apply_by_post(stack, name="Jo Brown")
    sign_in_to_console(page, stack, name="Pat Spoc", role="spoc", areas=("derbyshire",), path="/console/print-queue")
    assert ref in page.inner_text("main") and "Sam Taylor" in page.inner_text("main")
    no_axe_violations(page, "print queue")
    keep(page, "console-office-print-queue")

    page.click("button:has-text('Mark selected as printed')")  # nothing selected
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: ")
    no_axe_violations(page, "print queue, nothing selected")
    keep(page, "console-office-print-queue-error")

    page.click(f"a[href$='/console/print-queue/{ref}/01']")
    page.wait_for_selector(".ct-print-sheet .recipient")
    assert page.is_visible("button[data-print]")  # shown by console.js
    no_axe_violations(page, "a letter to print")
    keep(page, "console-office-print-letter")

    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    sizes = pdf_pages(pdf)
    assert len(sizes) >= 1, "no pages in the PDF"
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in sizes), sizes

    page.emulate_media(media="print")
    for hidden in (".govuk-template__header", ".moj-identity-bar", ".govuk-template__footer", "button[data-print]",
                   "button:has-text('Mark as printed')", "h1"):
        assert not page.is_visible(hidden), f"{hidden} shows in print"
    sheet = page.locator(".ct-print-sheet").bounding_box()
    box = page.locator(".ct-print-sheet .recipient").bounding_box()
    left, top = (box["x"] - sheet["x"]) / MM, (box["y"] - sheet["y"]) / MM
    assert abs(sheet["y"]) < 1 and abs(sheet["x"]) < 1, f"the letter is not at the top left of the page: {sheet}"
    assert 18 <= left <= 22 and 45 <= top <= 50, f"address at {left:.1f} mm from the left, {top:.1f} mm from the top"
    assert abs(box["width"] / MM - 90) < 1 and abs(box["height"] / MM - 35) < 1, box
    # Every line of the address is inside the window.
    for line in page.locator(".ct-print-sheet .recipient p").all():
        b = line.bounding_box()
        assert b["y"] >= box["y"] and b["y"] + b["height"] <= box["y"] + box["height"], line.inner_text()
    assert "Sam Taylor" in page.inner_text(".ct-print-sheet .recipient")
    keep(page, "console-office-print-letter-print-media")
    page.emulate_media(media="screen")

    page.click("button:has-text('Mark as printed')")
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "1 letter marked as printed" in page.inner_text(".govuk-notification-banner")
    assert ref not in page.inner_text("main") and other in page.inner_text("main")
    no_axe_violations(page, "print queue after marking")
    keep(page, "console-office-print-queue-done")


def test_the_appeals_body_works_appeals(page, stack):
    spoc, appeals = token(stack, "spoc"), token(stack, "appeals")
    status, answer = call("POST", f"{stack['api']}/applications", example_application(date.today()))
    ref = answer["reference"]
    status, _ = call("POST", f"{stack['api']}/cases/{ref}/threshold-decision",
                     {"decision": "not_met", "reasons": "Too few reports in the period."},
                     headers={"Authorization": f"Bearer {spoc}"})
    assert status == 200
    sign_in_to_console(page, stack, name="Opcc Officer", role="appeals", areas=("derbyshire",), path="/console/appeals")
    assert ref in page.inner_text("main")  # an appeal can be lodged
    no_axe_violations(page, "appeals, none lodged")
    status, _ = call("POST", f"{stack['api']}/cases/{ref}/appeal",
                     {"against": "threshold_decision", "lodged_on": date.today().isoformat(), "grounds": "Missed reports."},
                     headers={"Authorization": f"Bearer {appeals}"})
    assert status == 200
    page.reload()
    assert page.is_visible(f"a[href$='/console/cases/{ref}/steps/appeal-acknowledgement']")
    no_axe_violations(page, "appeals")
    keep(page, "console-office-appeals")
    page.fill("#reference", "CT-12")
    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary")
    no_axe_violations(page, "appeals, a bad reference")
    keep(page, "console-office-appeals-error")


def test_reports_and_subject_access(page, stack):
    apply_by_post(stack, name="Robin Okafor")
    sign_in_to_console(page, stack, name="Dee Admin", role="admin", areas=("derbyshire",),
                       path="/console/reports?area=derbyshire")
    assert page.is_visible("table") and page.is_visible("a:has-text('Deadline report (CSV)')")
    no_axe_violations(page, "reports")
    keep(page, "console-office-reports")
    page.fill("#year", "twenty")
    page.click("button:has-text('Show report')")
    page.wait_for_selector(".govuk-error-summary")
    no_axe_violations(page, "reports, a bad year")

    page.goto(stack["api"] + "/console/admin/subject-access")
    no_axe_violations(page, "subject access")
    page.fill("#q", "Okafor")
    page.click("button:has-text('Search')")
    page.wait_for_selector("input[name=person]")
    page.click("button:has-text('Export their information')")  # nothing chosen
    page.wait_for_selector(".govuk-error-summary")
    no_axe_violations(page, "subject access, errors")
    keep(page, "console-office-subject-access-error")
    page.check("#person")
    page.fill("#requester", "Robin Okafor")
    page.fill("#reason", "Request of today, identity checked")
    page.click("button:has-text('Export their information')")
    page.wait_for_selector("h1:has-text('Robin Okafor')")
    no_axe_violations(page, "subject access export")
    keep(page, "console-office-subject-access-export")
