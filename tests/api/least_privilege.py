"""Which IAM actions on which resources each Lambda function really uses, measured.

Every AWS call goes through botocore's BaseClient._make_api_call (infra/aws_calls.py); this patches
it the same way and attributes each call to the function whose entry point is on the call's stack:
the innermost of the handlers below, or the API (chalice's local gateway, which the test Client
drives) when none is. Calls the tests make themselves to arrange or inspect state are attributed
to no function and ignored.

Used two ways: `recording()` in process, and as a pytest plugin (`-p least_privilege`, with
CT_RECORD_AWS_CALLS=<file>) over whole test files, writing what it saw as JSON when the run ends.
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import sys
from collections import defaultdict
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]
# The tests' stand-ins for the stack's pseudo parameters (tests/conftest.py: TABLE_PREFIX ct-test
# is the stack name; moto's account; the region).
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-2", "AWS::AccountId": "123456789012",
          "AWS::StackName": "ct-test"}

# (file under chalicelib/routes, handler) -> the Lambda function chalice makes of it.
HANDLERS = {
    ("letters.py", "letter_sender"): "LetterSender",
    ("letters.py", "letter_retry"): "LetterRetry",
    ("schedule.py", "deadline_sweep"): "DeadlineSweep",
    ("notifications.py", "ses_receipts"): "SesReceipts",
    ("staff.py", "staff_auth"): "StaffAuth",
    ("retention.py", "case_retention"): "CaseRetention",
    ("rotation.py", "rotate_link_secret"): "RotateLinkSecret",
}
# chalice's name for each function in .chalice/config.json (lambda_functions) and its policy file.
CONFIG_NAMES = {"APIHandler": "api_handler", "StaffAuth": "staff_auth", "DeadlineSweep": "deadline_sweep",
                "LetterSender": "letter_sender", "LetterRetry": "letter_retry", "SesReceipts": "ses_receipts",
                "CaseRetention": "case_retention", "RotateLinkSecret": "rotate_link_secret"}
# The stack's one secret (infra/stack/secrets.py): its ARN ends in a random suffix, so the recorder and
# the grants both name it by its logical id.
SECRET_ARN = f"arn:aws:secretsmanager:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:secret:PartnerLinkSecret"
ROUTES = os.sep.join(("chalicelib", "routes", ""))
GATEWAY = os.sep.join(("chalice", "local.py"))


def function_on_stack() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        name = code.co_filename
        if ROUTES in name:
            function = HANDLERS.get((os.path.basename(name), code.co_name))
            if function:
                return function
        elif name.endswith(GATEWAY):
            return "APIHandler"
        frame = frame.f_back
    return None


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:{resource}"


def permissions(service: str, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one call needs."""
    if service == "dynamodb":
        table = lambda name: arn("dynamodb", f"table/{name}")  # noqa: E731
        if operation == "TransactWriteItems":
            # No action of its own: each item needs its operation's action on its table.
            actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                       "ConditionCheck": "ConditionCheckItem"}
            return {(f"dynamodb:{actions[kind]}", table(body["TableName"]))
                    for item in params["TransactItems"] for kind, body in item.items()}
        if operation == "TransactGetItems":
            return {("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params["TransactItems"]}
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return {(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]}
        resource = table(params["TableName"])
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return {(f"dynamodb:{operation}", resource)}
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        needed = {(f"ses:{operation}", arn("ses", f"identity/{parseaddr(params['Source'])[1]}"))}
        if params.get("ConfigurationSetName"):
            needed.add((f"ses:{operation}", arn("ses", f"configuration-set/{params['ConfigurationSetName']}")))
        return needed
    if service == "secretsmanager":
        return {(f"secretsmanager:{operation}", SECRET_ARN)}
    if service == "ssm" and operation == "GetParameter":
        return {("ssm:GetParameter", arn("ssm", "parameter/" + params["Name"].lstrip("/")))}
    return {(f"{service}:{operation}", "*")}  # not known here: only a "*" grant would match, and none may


class Recorder:
    def __init__(self) -> None:
        self.used: dict[str, set[tuple[str, str]]] = defaultdict(set)

    def record(self, service: str, operation: str, params: dict[str, Any], function: str | None) -> None:
        if function is not None:
            self.used[function] |= permissions(service, operation, params)

    def merge(self, used: dict[str, list[list[str]]]) -> None:
        for function, pairs in used.items():
            self.used[function] |= {tuple(p) for p in pairs}

    def as_json(self) -> dict[str, list[list[str]]]:
        return {f: sorted(list(p) for p in pairs) for f, pairs in self.used.items()}


class PerFunctionCache(dict):
    """chalicelib.adapters.secrets' cache, one per function: each Lambda function is a process of
    its own and reads the secrets itself, even when the test's API request read them a moment ago."""

    def get(self, name, default=None):
        return super().get((function_on_stack(), name), default)

    def __setitem__(self, name, value):
        super().__setitem__((function_on_stack(), name), value)


@contextlib.contextmanager
def recording(recorder: Recorder | None = None) -> Iterator[Recorder]:
    from botocore.client import BaseClient

    from chalicelib.adapters import secrets

    recorder = recorder or Recorder()
    real = BaseClient._make_api_call
    real_cache, secrets._cache = secrets._cache, PerFunctionCache()

    def recorded(self, operation_name, api_params):
        function = function_on_stack()
        try:
            return real(self, operation_name, api_params)
        finally:  # a refused call was still made, and needed its permission
            recorder.record(self.meta.service_model.service_name, operation_name, api_params, function)

    BaseClient._make_api_call = recorded
    try:
        yield recorder
    finally:
        BaseClient._make_api_call = real
        secrets._cache = real_cache


# ---------------------------------------------------------------- the policy files


def policy_file(function: str) -> Path:
    return REPO / ".chalice" / f"policy-{CONFIG_NAMES[function]}.json"


def role(function: str) -> str:
    return "ApiHandlerRole" if function == "APIHandler" else f"{function}Role"  # as chalice names them


def function_policy(function: str) -> dict[str, Any]:
    """What the function's role may do: its policy file, and the stack's own policies attached to the
    role (infra/stack: e.g. reading the partner-link secret, whose ARN only the stack knows)."""
    from infra import build_template

    statements = list(json.loads(policy_file(function).read_text())["Statement"])
    for resource in build_template.build()["Resources"].values():
        if resource.get("Type") == "AWS::IAM::Policy" and {"Ref": role(function)} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return {"Statement": statements}


def resolve(resource: Any) -> str:
    """A policy's resource as the tests' stand-in stack names it."""
    if resource == "*":
        return "*"
    if "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        for name, value in PSEUDO.items():
            text = text.replace("${%s}" % name, value)
        assert "${" not in text, f"unknown substitution in {resource}"
        return text
    if resource == {"Ref": "PartnerLinkSecret"}:
        return SECRET_ARN
    if "Fn::GetAtt" in resource:  # the stack's own queues
        logical_id, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn"
        return arn("sqs", logical_id)
    raise AssertionError(f"unexpected resource {resource}")


def grants(policy: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(statement id, action, resource pattern) for every Allow in the policy."""
    out = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        out += [(statement.get("Sid", ""), a, resolve(r)) for a in actions for r in resources]
    return out


def granted(action: str, resource: str, policy_grants: list[tuple[str, str, str]]) -> bool:
    return any(a == action and fnmatch.fnmatchcase(resource, pattern) for _, a, pattern in policy_grants)


# ---------------------------------------------------------------- as a pytest plugin

_plugin_recording: contextlib.ExitStack | None = None
_plugin_recorder: Recorder | None = None


def pytest_configure(config) -> None:
    global _plugin_recording, _plugin_recorder
    if os.environ.get("CT_RECORD_AWS_CALLS"):
        _plugin_recording = contextlib.ExitStack()
        _plugin_recorder = _plugin_recording.enter_context(recording())


def _write() -> None:
    Path(os.environ["CT_RECORD_AWS_CALLS"]).write_text(json.dumps(_plugin_recorder.as_json(), indent=1))


def pytest_runtest_logfinish(nodeid, location) -> None:
    if _plugin_recorder is not None:  # after each test, so an interrupted run still shows what it saw
        _write()


def pytest_unconfigure(config) -> None:
    if _plugin_recording is not None:
        _plugin_recording.close()
        _write()
