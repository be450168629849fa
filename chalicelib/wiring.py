"""Lazily built singletons: nothing here runs at import, so a cold start pays only for what the
first request needs. Tests reset them with `reset()`."""
from __future__ import annotations

from functools import lru_cache

import os
from typing import TYPE_CHECKING

from .adapters.mailer import SesMailer
from .adapters.repository import CaseRepository
from .adapters.secrets import link_secret
from .clock import utc_now
from .domain.policy import Policy, load_policies
from .intake import Intake
from .letters import LetterRenderer
from .partner_links import LinkSigner
from .partner_returns import Links, PartnerReturns, link_for_letter
from .resources import policies_dir

if TYPE_CHECKING:
    from .auth import TokenVerifier
    from .casework import CaseWork
    from .oidc import OidcClient
    from .outbox import LetterSender
    from .published import PublishedStats
    from .receipts import Receipts
    from .retention import CaseRetention
    from .sweep import Sweep


@lru_cache(maxsize=1)
def renderer() -> LetterRenderer:
    return LetterRenderer()


@lru_cache(maxsize=1)
def policies() -> dict[str, Policy]:
    """Every area's policy, each checked; one invalid file stops the function starting."""
    return load_policies(policies_dir(), renderer().template_ids())


# When this process last read the secret again for a link no cached key verified: at most once a
# minute, so a stream of forged links cannot turn into a stream of Secrets Manager calls.
_last_refresh = [0.0]
REFRESH_SECONDS = 60


def _fresh_link_keys() -> tuple[bytes, ...] | None:
    import time

    if time.monotonic() - _last_refresh[0] < REFRESH_SECONDS:
        return None
    _last_refresh[0] = time.monotonic()
    return link_secret(fresh=True).link_keys


def _signer() -> LinkSigner:
    # The secret is cached for a few minutes inside link_secret, so a rotation is picked up; a link
    # signed with a key newer than the cached value (another function rotated in) reads it again.
    return LinkSigner(link_secret().link_keys, refresh=_fresh_link_keys)


@lru_cache(maxsize=1)
def links() -> Links:
    """Partner links point at the public API (set per stage; chalice local locally)."""
    return Links(signer_factory=_signer, base_url=os.environ.get("PUBLIC_API_URL", "http://127.0.0.1:8000"))


@lru_cache(maxsize=1)
def repository() -> CaseRepository:
    return CaseRepository()


@lru_cache(maxsize=1)
def intake() -> Intake:
    return Intake(policies=policies(), renderer=renderer(), repo=repository(), clock=utc_now)


@lru_cache(maxsize=1)
def partner_returns() -> PartnerReturns:
    return PartnerReturns(policies=policies(), renderer=renderer(), repo=repository(), links=links(), clock=utc_now)


@lru_cache(maxsize=1)
def casework() -> "CaseWork":
    from .casework import CaseWork

    return CaseWork(policies=policies(), renderer=renderer(), repo=repository(), clock=utc_now)


@lru_cache(maxsize=1)
def sweep() -> "Sweep":
    from .sweep import Sweep

    return Sweep(policies=policies(), renderer=renderer(), repo=repository(), mailer=SesMailer(),
                 link_for=link_for_letter(links(), repository()))


@lru_cache(maxsize=1)
def sender() -> "LetterSender":
    """Sends the letters the letters table's stream reports as stored (and signs partner links)."""
    from .outbox import LetterSender

    return LetterSender(policies=policies(), mailer=SesMailer(), repo=repository(), clock=utc_now,
                        link_for=link_for_letter(links(), repository()))


@lru_cache(maxsize=1)
def retention() -> "CaseRetention":
    """Deletes the rest of a case's data when TTL deletes the case (chalicelib.routes.retention)."""
    from .case_index import default_secret
    from .retention import CaseRetention

    return CaseRetention(secret=default_secret)


@lru_cache(maxsize=1)
def receipts() -> "Receipts":
    """SES's delivery reports (chalicelib.routes.notifications)."""
    from .receipts import Receipts

    return Receipts(policies=policies(), renderer=renderer(), repo=repository(), clock=utc_now)


@lru_cache(maxsize=1)
def published() -> "PublishedStats":
    from .published import PublishedStats

    return PublishedStats(policies=policies(), clock=utc_now)


@lru_cache(maxsize=1)
def verifier() -> "TokenVerifier":
    from .auth import verifier_from_environment

    return verifier_from_environment()


@lru_cache(maxsize=1)
def oidc() -> "OidcClient":
    """The console's OpenID Connect client (its discovery document is cached inside)."""
    from .oidc import client_from_environment

    return client_from_environment()


def reset() -> None:
    for cached in (renderer, policies, links, repository, intake, partner_returns, casework, sweep, sender, receipts,
                   published, verifier, oidc):
        getattr(cached, "cache_clear", lambda: None)()  # tests may stand in a plain function
    _last_refresh[0] = 0.0
