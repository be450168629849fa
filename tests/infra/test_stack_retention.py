"""Retention in the packaged stack: the cases table expires cases (TTL on expires_at) and streams
their old images; the CaseRetention function reads only TTL's removals from that stream, with
retries and a queue for what fails, under a role that can delete a case's data and nothing more."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.adapters.tables import SearchTermRecord, table_suffix
from chalicelib.retention import CASE_TABLES

REPO = Path(__file__).resolve().parents[2]
TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-"


def _actions(statement):
    return set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])


def _resources(statement):
    found = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [r["Fn::Sub"].removeprefix(TABLE_ARN) if isinstance(r, dict) and "Fn::Sub" in r else r for r in found]


def test_the_retention_policy_deletes_exactly_the_tables_the_handler_clears():
    """Fast: the policy file against the code's own list of tables (a table added to CASE_TABLES
    without its grant, or a grant to the stats table, fails here)."""
    policy = json.loads((REPO / ".chalice" / "policy-case_retention.json").read_text())
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert _actions(by_sid["DeleteCaseData"]) == {"dynamodb:Query", "dynamodb:BatchWriteItem"}
    assert sorted(_resources(by_sid["DeleteCaseData"])) == sorted(table_suffix(m) for m in CASE_TABLES)
    assert _resources(by_sid["DeleteSearchTerms"]) == [table_suffix(SearchTermRecord)]
    granted = set().union(*(_actions(s) for s in policy["Statement"]))
    assert not any(a.endswith("*") for a in granted)
    assert not granted & {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    every_resource = [r for s in policy["Statement"] for r in _resources(s)]
    assert not any(str(r).startswith(("stats", "cases")) and r != "cases/stream/*" for r in every_resource)
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    assert config["stages"]["dev"]["lambda_functions"]["case_retention"] == {
        "iam_policy_file": "policy-case_retention.json"}


@pytest.mark.slow
def test_the_cases_table_expires_cases_and_streams_what_they_were(sam):
    cases = sam["Resources"]["CasesTable"]["Properties"]
    assert cases["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert cases["StreamSpecification"] == {"StreamViewType": "OLD_IMAGE"}
    stats = sam["Resources"]["StatsTable"]["Properties"]
    assert "TimeToLiveSpecification" not in stats  # the published counts are kept


@pytest.mark.slow
def test_the_retention_function_reads_only_ttl_removals_with_retries_and_a_queue(sam):
    resources = sam["Resources"]
    function = resources["CaseRetention"]["Properties"]
    assert function["Handler"] == "chalicelib.routes.retention.case_retention"
    assert function["Environment"]["Variables"]["TABLE_PREFIX"] == {"Ref": "AWS::StackName"}
    [event] = function["Events"].values()
    props = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert props["Stream"] == {"Fn::GetAtt": ["CasesTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and props["BisectBatchOnFunctionError"]
    assert props["StartingPosition"] == "TRIM_HORIZON" and 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["CaseRetentionDeadLetterQueue", "Arn"]}
    [pattern] = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["REMOVE"],
                       "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}
    assert resources["CaseRetentionDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    role = resources["CaseRetentionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = set().union(*(_actions(s) for s in role["Statement"]))
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams",
            "dynamodb:BatchWriteItem", "dynamodb:Query", "sqs:SendMessage"} <= granted
    assert "ses:SendEmail" not in granted
