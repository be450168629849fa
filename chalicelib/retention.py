"""Deleting a case's data once DynamoDB's TTL has deleted the case (chalicelib/domain/retention.py
says when). The cases table's stream delivers a REMOVE record with the case as it was (OLD_IMAGE);
for those made by TTL this deletes everything else kept under the case's reference: its audit
trail, letters, partner requests and returns, equalities answers, notices, views and search terms.
The published counts (the stats table) hold no reference and are never touched.

Safe to run again: each table is queried for what is left and deleted in batches, so a retry after
a failure (or a record delivered twice) deletes the rest or nothing. The log names the reference
and how many items went, nothing else: no personal data, and no audit event (the audit is gone too).

`expire_due` plays DynamoDB's part where TTL does not run (DynamoDB Local under `make run`, and moto
in the tests): it deletes the cases whose expires_at has passed and hands their REMOVE records, as
TTL would make them, to the same handler.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Type

from pynamodb.models import Model

from .adapters.tables import (AuditEvent, CaseRecord, CaseViewRecord, EqualitiesRecord, LetterRecord, NoticeRecord,
                              PartnerRequestRecord, PartnerReturnRecord, SearchTermRecord)
from .domain.retention import is_ttl_removal

log = logging.getLogger("app.retention")

# Every table keyed by the case's reference (hash key "ref"); search terms are keyed by their hash.
CASE_TABLES: tuple[Type[Model], ...] = (AuditEvent, LetterRecord, EqualitiesRecord, PartnerRequestRecord,
                                        PartnerReturnRecord, NoticeRecord, CaseViewRecord)
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@dataclass
class RetentionReport:
    cases: int = 0
    items: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)  # sequence numbers to read again

    def batch_failures(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": s} for s in self.failed]}


def _range_key(model: Type[Model]) -> str | None:
    return next((name for name, a in model.get_attributes().items() if a.is_range_key), None)


def delete_case_data(ref: str, area: str, application: dict[str, Any] | None, secret: bytes) -> int:
    """Delete everything kept under `ref` but the case item; how many items were deleted."""
    from .case_index import term_records

    deleted = 0
    for model in CASE_TABLES:
        range_key = _range_key(model)
        items = list(model.query(ref, attributes_to_get=["ref", *([range_key] if range_key else [])]))
        if not items:
            continue
        with model.batch_write() as batch:  # 25 a request, unprocessed items retried by PynamoDB
            for item in items:
                batch.delete(item)
        deleted += len(items)
    terms = term_records(secret, ref, area, application)
    if terms:
        with SearchTermRecord.batch_write() as batch:
            for term in terms:
                batch.delete(term)  # deleting a term already gone is no error
        deleted += len(terms)
    return deleted


@dataclass
class CaseRetention:
    secret: Callable[[], bytes]

    def handle_stream_records(self, records: Iterable[dict[str, Any]]) -> RetentionReport:
        report = RetentionReport()
        for record in records:
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            if report.failed:  # after a failure, later records wait too (the stream's order)
                report.failed.append(sequence)
                continue
            if not is_ttl_removal(record):  # a write, or a delete not made by TTL: not ours
                report.skipped += 1
                continue
            try:
                case = CaseRecord.from_raw_data((record.get("dynamodb") or {}).get("OldImage") or {})
                ref, area, application = case.ref, case.area, case.application
            except Exception as exc:  # noqa: BLE001 - an image this code cannot read: no retry helps
                log.warning("retention_record_unreadable", extra={"error": type(exc).__name__})
                report.skipped += 1
                continue
            try:
                items = delete_case_data(ref, area, application, self.secret())
            except Exception as exc:  # noqa: BLE001 - storage unreachable: the stream tries again
                log.warning("retention_failed", extra={"ref": ref, "error": type(exc).__name__})
                report.failed.append(sequence)
                continue
            report.cases += 1
            report.items += items
            log.info("case_deleted", extra={"ref": ref, "count": items})  # items deleted
        return report


def expire_due(now: datetime, deliver: Callable[[list[dict[str, Any]]], Any], *, client: Any = None) -> list[str]:
    """DynamoDB's TTL, where it does not run: delete each case whose expires_at has passed (only if
    it still has that value) and deliver its REMOVE record as the stream would. The references."""
    import boto3
    from botocore.exceptions import ClientError

    table = CaseRecord.Meta.table_name
    # AWS_ENDPOINT_URL_DYNAMODB (make run) points boto3 at DynamoDB Local.
    client = client or boto3.client("dynamodb", region_name=CaseRecord.Meta.region)
    epoch = str(int(now.timestamp()))
    expired: list[dict[str, Any]] = []
    pages = client.get_paginator("scan").paginate(
        TableName=table, FilterExpression="expires_at <= :now", ExpressionAttributeValues={":now": {"N": epoch}})
    for page in pages:
        expired.extend(page.get("Items", []))
    records, refs = [], []
    for n, item in enumerate(expired):
        try:
            old = client.delete_item(TableName=table, Key={"ref": item["ref"]}, ReturnValues="ALL_OLD",
                                     ConditionExpression="expires_at = :at",
                                     ExpressionAttributeValues={":at": item["expires_at"]})["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue  # changed since the scan (reopened, held): not expired after all
            raise
        refs.append(old["ref"]["S"])
        records.append({"eventID": f"ttl-{epoch}-{n}", "eventName": "REMOVE", "eventSource": "aws:dynamodb",
                        "userIdentity": dict(TTL_IDENTITY),
                        "dynamodb": {"Keys": {"ref": old["ref"]}, "OldImage": old,
                                     "SequenceNumber": f"{epoch}{n:06d}", "StreamViewType": "OLD_IMAGE"}})
    if records:
        deliver(records)
    return refs
