"""Rotating the partner-link secret: the four steps Secrets Manager asks its rotation function for.

The new version keeps the search key (search terms are stored under it) and the newest link key,
and adds a new one, which signs from then on; the key before is dropped. So a link signed just
before a rotation verifies until the next one: the rotation interval (LinkSecretRotationDays, at
least MIN_ROTATION_DAYS) is longer than a partner link lives (partner_return + partner_link_grace,
about five weeks at most over Christmas). A link that outlives two rotations anyway (a staff
reissue with a far due date) is refused, and a chaser sent for it carries a new link.

Each step can be repeated (Secrets Manager retries): it checks what is already done. There is no
other system to tell about the new key (setSecret does nothing): only these functions use it.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from .adapters.secrets import LinkSecret

log = logging.getLogger("app.rotation")

MIN_ROTATION_DAYS = 60
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(Exception):
    pass


def next_value(current: LinkSecret) -> LinkSecret:
    return LinkSecret(current.search_key, (current.signing_key, secrets.token_urlsafe(32).encode()))


def _stages(client: Any, secret_id: str) -> dict[str, list[str]]:
    return client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


def _current(client: Any, secret_id: str) -> LinkSecret:
    return LinkSecret.parse(client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"])


def _pending(client: Any, secret_id: str, token: str) -> LinkSecret | None:
    try:
        value = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
    except client.exceptions.ResourceNotFoundException:
        return None
    return LinkSecret.parse(value["SecretString"])


def rotate(client: Any, secret_id: str, token: str, step: str) -> None:
    if step not in STEPS:
        raise RotationError(f"unknown rotation step {step!r}")
    stages = _stages(client, secret_id).get(token)
    if stages is not None and "AWSCURRENT" in stages:
        log.info("rotation %s: version already current", step)
        return  # done already (a retried finishSecret)
    if stages is not None and "AWSPENDING" not in stages:
        raise RotationError("the version being rotated to is not pending")
    if stages is None and step != "createSecret":
        raise RotationError("the version being rotated to does not exist")
    if step == "createSecret":
        if _pending(client, secret_id, token) is None:
            client.put_secret_value(SecretId=secret_id, ClientRequestToken=token,
                                    SecretString=next_value(_current(client, secret_id)).dumps(),
                                    VersionStages=["AWSPENDING"])
    elif step == "testSecret":
        pending, current = _pending(client, secret_id, token), _current(client, secret_id)
        if pending is None:
            raise RotationError("no pending value to test")
        if pending.search_key != current.search_key:
            raise RotationError("the search key changed: stored search terms would match nothing")
        if current.signing_key not in pending.link_keys or any(len(k) < 32 for k in pending.link_keys):
            raise RotationError("links signed with the current key would be refused")
    elif step == "finishSecret":
        old = next((v for v, s in _stages(client, secret_id).items() if "AWSCURRENT" in s), None)
        # Secrets Manager moves AWSPREVIOUS to the version that loses AWSCURRENT.
        client.update_secret_version_stage(SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                           RemoveFromVersionId=old)
    log.info("rotation %s done", step)
