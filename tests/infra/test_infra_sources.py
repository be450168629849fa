"""Fast checks that the infrastructure files agree with the code (one source of truth)."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib.adapters.tables import ALL_TABLES, table_suffix
from infra import build_template

REPO = Path(__file__).resolve().parents[2]


def test_resources_json_is_generated_from_the_models():
    assert (REPO / "infra" / "resources.json").read_text() == build_template.render(), \
        "infra/resources.json is stale: run `make template`"


def test_iam_policy_names_every_table_and_nothing_else():
    policy = json.loads((REPO / ".chalice" / "policy-dev.json").read_text())
    arns = json.dumps(policy)
    for model in ALL_TABLES:
        suffix = table_suffix(model)
        assert f"table/${{AWS::StackName}}-{suffix}" in arns
    assert "table/*" not in arns and '"*"' not in arns


def test_config_keeps_the_hand_written_policy():
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    assert config["stages"]["dev"]["iam_policy_file"] == "policy-dev.json"
