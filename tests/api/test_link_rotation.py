"""The partner-link secret rotated while cases are open (chalicelib.rotation, as Secrets Manager
drives it): links already emailed, chasers, and search, across one rotation and two."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.tables import PartnerRequestRecord
from chalicelib.case_index import backfill
from chalicelib.openapi import example_application
from chalicelib.partner_links import token_hash
from chalicelib.rotation import STEPS
from tests.api.test_case_list import call, listed
from tests.api.test_sweep import LINK, SPOC, apply, mails, sweep_at

TODAY = date(2026, 12, 21)  # as tests/api/test_sweep.py: chasers on 6 and 8 January 2027


def rotate_link_secret() -> None:
    # As Secrets Manager does: the stack's rotation function, called once for each step.
    from chalicelib.routes.rotation import rotate_link_secret as rotation_function

    token = str(uuid.uuid4())
    for step in STEPS:
        rotation_function({"SecretId": secrets.link_secret_id(), "ClientRequestToken": token, "Step": step}, None)
    secrets.clear_cache()  # the functions' five-minute cache has run out


def partner_links(outbox, ref, since=0) -> dict[str, str]:
    return {m.destinations["ToAddresses"][0]: LINK.search(m.body).group(1)
            for m in mails(outbox, ref)[since:] if LINK.search(m.body) and m.destinations["ToAddresses"][0] != SPOC}


def test_links_and_chasers_across_one_rotation_and_two(client, outbox):
    ref = apply(client)
    first = partner_links(outbox, ref)
    assert first
    rotate_link_secret()
    for link in first.values():
        assert client.http.get(f"/partner/{link}").status_code == 200  # sent before the rotation, still opens
    sent = len(mails(outbox, ref))
    assert sweep_at(client, "2027-01-06T09:00:00Z")["effects"]["chase"] == len(first)
    assert partner_links(outbox, ref, sent) == first  # the chaser repeats the link first sent

    rotate_link_secret()  # the key that signed them is now two rotations old
    for link in first.values():
        assert client.http.get(f"/partner/{link}").status_code == 404
    sent = len(mails(outbox, ref))
    assert sweep_at(client, "2027-01-08T09:00:00Z")["effects"]["chase"] == len(first)
    second = partner_links(outbox, ref, sent)
    assert second.keys() == first.keys() and not set(second.values()) & set(first.values())
    for request in PartnerRequestRecord.query(ref):
        if request.email:
            assert request.token_hash == token_hash(second[request.email])  # the replacement is the one issued
    for link in second.values():
        assert client.http.get(f"/partner/{link}").status_code == 200


def test_search_finds_cases_stored_before_two_rotations(client, token, wired):
    backfill(wired.policies(), secrets.link_secret().search_key)
    body = example_application(TODAY)
    body["victim"]["name"] = "Ottoline Quarrington"
    ref = apply(client, body)
    rotate_link_secret()
    rotate_link_secret()
    spoc = token("spoc", ["derbyshire"])
    assert [r["reference"] for r in listed(client, spoc, "?q=Quarrington")["cases"]] == [ref]
    assert call(client, "GET", f"/cases?q={ref}", spoc).status_code == 200
