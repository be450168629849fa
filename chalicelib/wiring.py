"""Lazily built singletons: nothing here runs at import, so a cold start pays only for what the
first request needs. Tests reset them with `reset()`."""
from __future__ import annotations

from functools import lru_cache

from .adapters.mailer import SesMailer
from .adapters.repository import CaseRepository
from .clock import utc_now
from .domain.policy import Policy, load_policies
from .intake import Intake
from .letters import LetterRenderer
from .resources import policies_dir


@lru_cache(maxsize=1)
def renderer() -> LetterRenderer:
    return LetterRenderer()


@lru_cache(maxsize=1)
def policies() -> dict[str, Policy]:
    """Every area's policy, each checked; one invalid file stops the function starting."""
    return load_policies(policies_dir(), renderer().template_ids())


@lru_cache(maxsize=1)
def intake() -> Intake:
    return Intake(policies=policies(), renderer=renderer(), repo=CaseRepository(), mailer=SesMailer(), clock=utc_now)


def reset() -> None:
    for cached in (renderer, policies, intake):
        cached.cache_clear()
