"""Fixtures shared by the pure-domain unit tests: the shipped area policies, loaded once."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.policy import Policy, load_policies
from chalicelib.letters import LetterRenderer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def area_policies() -> dict[str, Policy]:
    return load_policies(REPO / "policies", LetterRenderer(REPO / "templates").template_ids())
