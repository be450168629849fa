"""Rotating the partner-link secret (chalicelib.rotation) against Secrets Manager in moto: what a
partner, a member of staff signing in, and a search notice across one rotation and across two."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from chalicelib import console_session, rotation
from chalicelib.adapters import secrets
from chalicelib.case_index import TERMS_SALT, default_secret, derived_key
from chalicelib.domain.case import calendar_for, due_after
from chalicelib.partner_links import LinkRefused, LinkSigner
from chalicelib.rotation import MIN_ROTATION_DAYS, RotationError, rotate

NAME = "community-trigger/ct-unit/partner-link-secret"
FIRST = '{"search_key": "' + "s" * 64 + '"}'  # what the stack's GenerateSecretString makes
EXPIRES = date(2027, 1, 8)


@pytest.fixture
def manager(monkeypatch):
    monkeypatch.setenv("LINK_SECRET_ARN", NAME)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("CONSOLE_BASE_URL", "https://console.example.gov.uk")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        client.create_secret(Name=NAME, SecretString=FIRST)
        secrets.clear_cache()
        yield client
        secrets.clear_cache()


def run_rotation(client, token: str | None = None) -> str:
    token = token or str(uuid.uuid4())
    for step in rotation.STEPS:
        rotate(client, NAME, token, step)
    secrets.clear_cache()  # as if the five-minute cache had run out
    return token


def signer() -> LinkSigner:
    return LinkSigner(secrets.link_secret().link_keys)


def stages(client) -> dict[str, list[str]]:
    return client.describe_secret(SecretId=NAME)["VersionIdsToStages"]


def test_the_first_value_signs_links_with_its_search_key(manager):
    value = secrets.link_secret()
    assert value.link_keys == (value.search_key,) == (b"s" * 64,)


def test_a_rotation_keeps_the_search_key_and_the_newest_link_key_and_adds_one(manager):
    before = secrets.link_secret()
    token = run_rotation(manager)
    after = secrets.link_secret()
    assert after.search_key == before.search_key
    assert after.link_keys[0] == before.signing_key and after.signing_key != before.signing_key
    assert len(after.signing_key) >= 32
    assert "AWSCURRENT" in stages(manager)[token]
    assert any("AWSPREVIOUS" in s for v, s in stages(manager).items() if v != token)
    second = run_rotation(manager)
    latest = secrets.link_secret()
    assert latest.link_keys == (after.signing_key, latest.signing_key)  # the first link key is gone
    assert "AWSCURRENT" in stages(manager)[second] and "AWSPREVIOUS" in stages(manager)[token]


def test_every_step_can_be_repeated_as_secrets_manager_retries_them(manager):
    token = str(uuid.uuid4())
    rotate(manager, NAME, token, "createSecret")
    pending = manager.get_secret_value(SecretId=NAME, VersionStage="AWSPENDING")["SecretString"]
    rotate(manager, NAME, token, "createSecret")
    assert manager.get_secret_value(SecretId=NAME, VersionStage="AWSPENDING")["SecretString"] == pending
    for step in ("setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret"):
        rotate(manager, NAME, token, step)
    # moto's GetSecretValue without a stage does not follow AWSCURRENT's move; the app always names it
    assert manager.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"] == pending
    assert "AWSCURRENT" in stages(manager)[token]


def test_a_pending_value_that_changes_the_search_key_is_refused_and_not_made_current(manager):
    token = str(uuid.uuid4())
    manager.put_secret_value(SecretId=NAME, ClientRequestToken=token, VersionStages=["AWSPENDING"],
                             SecretString='{"search_key": "' + "x" * 64 + '", "link_keys": ["' + "y" * 43 + '"]}')
    with pytest.raises(RotationError, match="search key"):
        rotate(manager, NAME, token, "testSecret")
    assert manager.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"] == FIRST


def test_steps_for_an_unknown_version_or_step_are_refused(manager):
    with pytest.raises(RotationError):
        rotate(manager, NAME, str(uuid.uuid4()), "finishSecret")
    with pytest.raises(RotationError):
        rotate(manager, NAME, str(uuid.uuid4()), "dropSecret")


def test_a_link_sent_before_a_rotation_still_opens_after_it_and_not_after_the_next(manager):
    link = signer().token("CT-2026-0001", "P01", EXPIRES, "nonce-1")
    run_rotation(manager)
    assert signer().read(link).request_id == "P01"
    newer = signer().token("CT-2026-0001", "P02", EXPIRES, "nonce-2")
    assert newer != signer().tokens("CT-2026-0001", "P02", EXPIRES, "nonce-2")[-1]  # signed with the new key
    run_rotation(manager)
    with pytest.raises(LinkRefused) as refused:
        signer().read(link)  # its key is two rotations old
    assert refused.value.reason == "invalid"
    assert signer().read(newer).request_id == "P02"


def test_a_link_sent_again_after_a_rotation_is_the_link_sent_first(manager):
    first = signer().token("CT-2026-0001", "P01", EXPIRES, "nonce-1")
    run_rotation(manager)
    assert first in signer().tokens("CT-2026-0001", "P01", EXPIRES, "nonce-1")


def test_a_process_with_the_old_value_cached_reads_the_secret_again_for_a_link_signed_with_the_new_key(manager):
    stale = LinkSigner(secrets.link_secret().link_keys, refresh=lambda: secrets.link_secret(fresh=True).link_keys)
    for step in rotation.STEPS:  # another function rotates; this process's cache still holds the old value
        rotate(manager, NAME, "a" * 36, step)
    fresh = LinkSigner(secrets.link_secret(fresh=True).link_keys).token("CT-2026-0001", "P01", EXPIRES, "n")
    assert stale.read(fresh).ref == "CT-2026-0001"


def test_search_terms_stored_before_rotations_are_found_after_them(manager):
    before = derived_key(default_secret(), TERMS_SALT)
    run_rotation(manager)
    run_rotation(manager)
    assert derived_key(default_secret(), TERMS_SALT) == before


def _with_cookie(value: str) -> SimpleNamespace:
    return SimpleNamespace(headers={"cookie": f"__Host-ct_sign_in={value}"}, context={})


def test_a_sign_in_started_before_a_rotation_completes_after_it_but_not_after_two(manager):
    started = console_session.seal_sign_in({"state": "s1", "nonce": "n1", "verifier": "v1", "next": "/console"})
    run_rotation(manager)
    assert console_session.open_sign_in(_with_cookie(started))["state"] == "s1"
    run_rotation(manager)
    assert console_session.open_sign_in(_with_cookie(started)) is None


def test_a_plain_string_value_is_both_the_search_key_and_the_link_key(manager):
    manager.put_secret_value(SecretId=NAME, SecretString="a-plain-secret-of-at-least-32-bytes-long")
    secrets.clear_cache()
    value = secrets.link_secret()
    assert value.link_keys == (value.search_key,) == (b"a-plain-secret-of-at-least-32-bytes-long",)


# Partner links live from their first email (acknowledgement, or a retry of it a few days later) to
# partner_return + partner_link_grace; a key verifies for at least one full rotation interval after
# it stops signing, so that interval must be longer than any link lives.
STARTS = [date(2026, 12, 18), date(2026, 12, 23), date(2026, 12, 31), date(2027, 1, 29), date(2027, 1, 31),
          date(2027, 2, 26), date(2027, 2, 28), date(2028, 2, 29), date(2027, 3, 24), date(2027, 3, 26),
          date(2027, 3, 29), date(2027, 8, 31)]


@pytest.mark.parametrize("start", STARTS, ids=str)
def test_every_areas_partner_link_lives_less_than_the_shortest_rotation_interval(area_policies, start):
    for policy in area_policies.values():
        calendar = calendar_for(policy)
        due_on = due_after(start, policy.timescales.partner_return, calendar)
        expires_on = due_after(due_on, policy.timescales.partner_link_grace, calendar)
        assert expires_on - start < timedelta(days=MIN_ROTATION_DAYS), policy.area_id
