"""Every console route, walked as each kind of person: signed out, a Derbyshire SPOC, a Hart SPOC
(another area), the appeals body, the appeals body of another area, and an administrator. The
pages enforce the same role and area checks as the staff API because both call CaseWork; this
walks them all, so a new route that forgets is caught (the walk fails on a route it does not know)."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest

from app import app
from chalicelib.adapters.tables import CaseRecord, LetterRecord, PartnerRequestRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)
STEPS = ("consent", "acknowledgement", "threshold-decision", "meeting", "draft-plan", "outcome", "close", "withdraw",
         "reject", "appeal", "appeal-acknowledgement", "appeal-decision")
# Signed out and open to anyone: signing in, and the assets (no personal data).
OPEN = {"/console/sign-in", "/console/callback", "/console/signed-out", "/console/assets/{kind}/{name}"}
PEOPLE = {  # who: (roles, areas)
    "derbyshire_spoc": ("spoc", "derbyshire"), "hart_spoc": ("spoc", "hart"),
    "appeals": ("appeals", "derbyshire"), "hart_appeals": ("appeals", "hart"), "admin": ("admin", "*"),
}


def needs(path: str, method: str, step: str | None) -> tuple[set[str], bool]:
    """Which roles a route is for, and whether it is about one Derbyshire case (so another area's
    person is refused it). Admin has every role."""
    if path in ("/console", "/console/sign-out"):
        return {"spoc", "appeals"}, False
    if path.startswith("/console/admin/"):
        return set(), False  # admin only
    if path.startswith("/console/appeals"):
        return {"appeals"}, False
    if path.startswith("/console/reports"):
        return {"spoc", "appeals"}, False
    if path.startswith("/console/print-queue/{ref}"):
        return {"spoc"}, True
    if path.startswith("/console/print-queue"):
        return {"spoc"}, False
    if path.startswith("/console/agency-reviews"):
        return {"spoc"}, False
    if path == "/console/cases/{ref}/steps/{step}":
        return ({"appeals"} if step.startswith("appeal") else {"spoc"}), True
    if path.startswith("/console/cases/{ref}/letters") or path in ("/console/cases/{ref}", "/console/cases/{ref}/notes"):
        return {"spoc", "appeals"}, True
    if path == "/console/cases/{ref}/legal-hold":
        return {"spoc"}, True  # the area's SPOC, or an administrator
    if path.startswith("/console/cases/{ref}"):
        return {"spoc"}, True
    if path in ("/console/cases", "/console/cases.csv"):
        return {"spoc"}, False
    raise AssertionError(f"{method} {path}: a console route this walk does not know; say who it is for")


def routes():
    out = []
    for path, methods in sorted(app.routes.items()):
        if not path.startswith("/console") or path in OPEN:
            continue
        for method in sorted(methods):
            for step in (STEPS if "{step}" in path else (None,)):
                out.append((path, method, step))
    return out


@pytest.fixture
def derbyshire_case(client):
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(example_application(TODAY)))
    assert r.status_code == 201, r.body
    ref = r.json_body["reference"]
    return {"ref": ref, "letter_id": next(iter(LetterRecord.query(ref))).letter_id,
            "request_id": next(iter(PartnerRequestRecord.query(ref))).request_id,
            "surname": example_application(TODAY)["victim"]["name"].split()[-1]}


def address(path: str, step: str | None, case: dict) -> str:
    values = {"ref": case["ref"], "letter_id": case["letter_id"], "request_id": case["request_id"], "step": step,
              "action_id": "A1", "export_id": "0" * 32}
    filled = path
    for name in re.findall(r"\{(\w+)\}", path):
        assert name in values, f"{path}: no value for {{{name}}} in this walk"
        filled = filled.replace("{" + name + "}", str(values[name]))
    return filled


def test_the_walk_covers_every_console_route():
    assert len(routes()) >= 30
    for path, method, step in routes():
        needs(path, method, step)


def test_signed_out_every_page_and_form_goes_to_sign_in_and_back(client, derbyshire_case):
    for path, method, step in routes():
        url = address(path, step, derbyshire_case)
        r = client.http.get(url) if method == "GET" else client.http.post(
            url, body="a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 303, (method, url, r.status_code)
        # Signing out with no session has nothing to end: it shows the signed-out page.
        wanted = "/console/signed-out" if path == "/console/sign-out" else "/console/sign-in?next="
        assert wanted in r.headers["Location"], (method, url)


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_each_person_opens_what_their_role_and_area_allow_and_nothing_else(console_as, derbyshire_case, who):
    roles, areas = PEOPLE[who]
    user = console_as(roles, areas, name=f"{who.title()} Person")
    version = CaseRecord.get(derbyshire_case["ref"]).version
    for path, method, step in routes():
        allowed_roles, about_case = needs(path, method, step)
        allowed = (roles == "admin" or roles in allowed_roles) and (not about_case or areas in ("derbyshire", "*"))
        url = address(path, step, derbyshire_case)
        r = user.get(url) if method == "GET" else user.post(url, {})
        body = r.body.decode(errors="replace")
        assert r.status_code < 500, (who, method, url, r.status_code)
        if allowed:
            assert r.status_code not in (401, 403), (who, method, url, body[:300])
        else:
            assert r.status_code in (403, 404), (who, method, url, r.status_code)
            assert derbyshire_case["surname"] not in body, (who, url)
        if method == "POST" and path.endswith(("/resend", "/reissue", "/revoke")) and allowed:
            version = CaseRecord.get(derbyshire_case["ref"]).version  # complete with no fields: done
        elif method == "POST":
            # No other form here was complete: nothing may have changed, whoever sent it.
            assert CaseRecord.get(derbyshire_case["ref"]).version == version, (who, url)


def test_a_post_without_the_forms_token_is_refused_on_every_form(console_as, derbyshire_case):
    user = console_as("admin", "*", name="Ada Admin")
    for path, method, step in routes():
        if method != "POST":
            continue
        url = address(path, step, derbyshire_case)
        r = user.post(url, {}, csrf=False)
        assert r.status_code == 403 and "This form has expired" in r.body.decode(), (url, r.status_code)


def test_another_areas_spoc_finds_nothing_of_derbyshires(console_as, derbyshire_case):
    hart = console_as("spoc", "hart", name="Hal Hart")
    for url in ("/console/cases", f"/console/cases?q={derbyshire_case['surname']}", "/console/cases.csv",
                "/console/print-queue", f"/console/cases?q={derbyshire_case['ref']}"):
        r = hart.get(url)
        assert r.status_code in (200, 400), (url, r.status_code)
        body = r.body.decode()
        # (The search box shows what was searched for: the surname itself is no leak.)
        assert "DE4 3AG" not in body and "Sam Taylor" not in body, url
        assert derbyshire_case["ref"] not in body or "q=CT-" in url, url
        assert f'/console/cases/{derbyshire_case["ref"]}"' not in body, url  # no link to the case
