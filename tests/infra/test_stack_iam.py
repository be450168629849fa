"""Each function's role in the packaged template: its own policy file only, explicit actions, this
stack's resources by ARN (what each function uses is measured by tests/api/test_least_privilege.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra import build_template

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# (function, action) -> why AWS needs Resource "*" for it. None today: every action we grant can
# be scoped (DynamoDB streams' ListStreams too, to the table's stream/*).
STAR_RESOURCE_EXCEPTIONS: dict[tuple[str, str], str] = {}
SUB_PREFIX = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-"


def chalice_name(logical_id: str) -> str:
    # chalice writes the API's function as APIHandler and any other as its handler's name in CamelCase.
    return "api_handler" if logical_id == "APIHandler" else re.sub(r"(?<!^)([A-Z])", r"_\1", logical_id).lower()


def role_of(sam: dict[str, Any], function: str) -> str:
    role = sam["Resources"][function]["Properties"]["Role"]
    assert list(role) == ["Fn::GetAtt"] and role["Fn::GetAtt"][1] == "Arn", role
    return role["Fn::GetAtt"][0]


def policy_documents(sam: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy attached to the role: its inline ones and any AWS::IAM::Policy naming it."""
    resources = sam["Resources"]
    inline = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    attached = [r["Properties"]["PolicyDocument"] for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                and {"Ref": role} in r["Properties"].get("Roles", [])]
    return inline + attached


def statements(sam: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [s for doc in policy_documents(sam, role_of(sam, function)) for s in doc["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_has_a_policy_file_of_its_own_in_the_config():
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    dev = config["stages"]["dev"]
    # No stage-wide file: a function without its own entry would get chalice's policy-dev.json, which
    # does not exist, and `chalice package` stops rather than give it a shared policy.
    assert "iam_policy_file" not in dev and not (REPO / ".chalice" / "policy-dev.json").exists()
    files = {name: entry["iam_policy_file"] for name, entry in dev["lambda_functions"].items() if "iam_policy_file" in entry}
    for function in build_template.FUNCTIONS:
        assert files.get(chalice_name(function)) == f"policy-{chalice_name(function)}.json", function
    assert len(set(files.values())) == len(files)


def test_each_role_belongs_to_one_function_and_holds_only_its_own_policy_file(sam):
    roles = [role_of(sam, function) for function in build_template.FUNCTIONS]
    assert len(set(roles)) == len(roles)
    assert role_of(sam, "APIHandler") == "ApiHandlerRole"
    for function, role in zip(build_template.FUNCTIONS, roles):
        properties = sam["Resources"][role]["Properties"]
        assert "ManagedPolicyArns" not in properties, role
        [inline] = properties["Policies"]
        own = json.loads((REPO / ".chalice" / f"policy-{chalice_name(function)}.json").read_text())
        assert inline["PolicyDocument"] == own, role


def test_no_wildcard_action_and_no_star_resource_except_where_aws_requires_it(sam):
    for function in build_template.FUNCTIONS:
        for statement in statements(sam, function):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            for action in as_list(statement["Action"]):
                assert "*" not in action and "?" not in action, (function, action)
                if "*" in as_list(statement["Resource"]):
                    assert (function, action) in STAR_RESOURCE_EXCEPTIONS, (function, action)
            text = json.dumps(statement["Resource"])
            assert "arn:*" not in text and ":*:*:" not in text, (function, statement)


def test_every_dynamodb_resource_is_one_of_this_stacks_tables_and_scan_is_granted_to_none(sam):
    tables: dict[str, set[str]] = {}
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = resource["Properties"]["TableName"]["Fn::Sub"]
            assert name.startswith("${AWS::StackName}-")
            tables[name.removeprefix("${AWS::StackName}-")] = {
                i["IndexName"] for i in resource["Properties"].get("GlobalSecondaryIndexes", [])}
    seen = 0
    for function in build_template.FUNCTIONS:
        for statement in statements(sam, function):
            actions = as_list(statement["Action"])
            assert "dynamodb:Scan" not in actions, function
            if not any(a.startswith("dynamodb:") for a in actions):
                continue
            assert all(a.startswith("dynamodb:") for a in actions), statement
            for resource in as_list(statement["Resource"]):
                arn = resource["Fn::Sub"]
                assert arn.startswith(SUB_PREFIX), (function, arn)
                table, _, rest = arn.removeprefix(SUB_PREFIX).partition("/")
                assert table in tables, (function, arn)
                if rest:
                    kind, _, name = rest.partition("/")
                    assert (kind == "index" and name in tables[table]) or (kind, name) == ("stream", "*"), (function, arn)
                seen += 1
    assert seen  # the functions do use tables


def test_logs_are_written_only_to_the_functions_own_log_group(sam):
    for function in build_template.FUNCTIONS:
        [logs] = [s for s in statements(sam, function) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
        # The stack makes each function's log group (infra/stack/monitoring.py, with its retention), so
        # no function may create one of its own, and each writes only to its own.
        assert sorted(as_list(logs["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
        group = sam["Resources"][f"{function}LogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
        assert logs["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                                                f"log-group:{group}:*"}, function
