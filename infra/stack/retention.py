"""Retention (chalicelib/routes/retention.py): the cases table's stream, whose TTL REMOVE records
the CaseRetention function turns into deleting the rest of each expired case's data, and the queue
that keeps the records it could not handle. The table's TTL and stream themselves come from the
model (CaseRecord.expires_at, Meta.stream_view_type) through infra.build_template."""
from __future__ import annotations

from typing import Any

FUNCTION = "CaseRetention"  # chalice's logical id for the handler named case_retention
EVENT = "CaseRetentionDynamodbEventSource"  # the name `chalice package` gives its stream event
DEAD_LETTERS = "CaseRetentionDeadLetterQueue"  # also named in .chalice/policy-case_retention.json


def fragment() -> dict[str, Any]:
    return {"Resources": {
        FUNCTION: {"Properties": {"Events": {EVENT: {"Type": "DynamoDB", "Properties": {
            # Chalice writes the decorator's placeholder ARN: the stream exists only with the table.
            "Stream": {"Fn::GetAtt": ["CasesTable", "StreamArn"]},
            # A failing batch is split to find the record at fault; each is tried a bounded number of
            # times (deleting again is harmless), then kept in the queue so nobody's data is left behind
            # unnoticed: its case reference is in the record, to delete by hand or replay.
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 10,
            # Streams keep records 24 hours: retrying for up to 12 leaves time to see an alarm.
            "MaximumRecordAgeInSeconds": 43_200,
            # Only TTL's deletions matter: the function is not invoked for the cases' every write.
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["REMOVE"], "userIdentity": '
                                                       '{"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}'}]},
            "DestinationConfig": {"OnFailure": {"Type": "SQS",
                                                "Destination": {"Fn::GetAtt": [DEAD_LETTERS, "Arn"]}}},
        }}}}},
        DEAD_LETTERS: {"Type": "AWS::SQS::Queue", "Properties": {
            "MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True}},
    }}
