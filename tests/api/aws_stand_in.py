"""moto, provisioned as the app expects AWS: every table from the models, the partner-link secret in
the parameter store and (optionally) each area's sender address verified in SES; and the letters
table's stream delivered to the app's letter sender, as Lambda would. Shared by the per-test `aws`
fixture and the module-wide stand-ins of the bad-input and fuzz suites."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

BATCH_SIZE = 10  # as chalicelib/routes/letters.py asks of Lambda


class LetterStream:
    """The letters table's DynamoDB Stream, delivered to the app's `letter_sender` handler (its
    Chalice wrapper, given the event Lambda sends) as soon as each write to DynamoDB has committed,
    so a test sees what a user would a moment after the request. moto records a table's stream
    (Table.stream_shard) but neither delivers it nor implements the Streams API, so this reads the
    records moto made and plays the part of Lambda's event source mapping: in order, in batches,
    each record once, the ones a batch reports as failed again on the next write.

    `with stream.paused():` holds records back (a stream that is late); `stream.deliver()` then sends."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.cursor = 0
        self.retry: list[dict[str, Any]] = []
        self.held = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def _shard(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].tables[self.table_name].stream_shard

    def _take(self) -> list[dict[str, Any]]:
        with self.lock:
            items = self._shard().items
            records = self.retry + [self._event_record(r.to_json()) for r in items[self.cursor:]]
            self.cursor, self.retry = len(items), []
        return records

    def _event_record(self, record: dict[str, Any]) -> dict[str, Any]:
        dynamodb = dict(record["dynamodb"])
        when = dynamodb["ApproximateCreationDateTime"]
        dynamodb["ApproximateCreationDateTime"] = when.timestamp() if hasattr(when, "timestamp") else when
        return {**record, "dynamodb": dynamodb, "awsRegion": "eu-west-2",
                "eventSourceARN": f"arn:aws:dynamodb:eu-west-2:123456789012:table/{self.table_name}/stream/test"}

    @contextlib.contextmanager
    def paused(self) -> Iterator["LetterStream"]:
        self.held += 1
        try:
            yield self
        finally:
            self.held -= 1

    def after_write(self) -> None:
        if not self.held:
            self.deliver()

    def deliver(self) -> int:
        """Send every record not yet delivered to the handler; the number of records delivered."""
        if getattr(self.local, "busy", False):  # the sender's own writes: delivered when it returns
            return 0
        from chalicelib.routes.letters import letter_sender

        self.local.busy = True
        delivered = 0
        try:
            while True:
                records = self._take()
                if not records:
                    return delivered
                for start in range(0, len(records), BATCH_SIZE):
                    batch = records[start:start + BATCH_SIZE]
                    answer = letter_sender({"Records": batch}, None) or {}
                    failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
                    delivered += len(batch)
                    if failed:  # Lambda reads the stream again from the first failure, later
                        first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
                        with self.lock:
                            self.retry = batch[first:] + records[start + BATCH_SIZE:] + self.retry
                        return delivered
        finally:
            self.local.busy = False


@contextlib.contextmanager
def delivering_stream(stream: LetterStream) -> Iterator[None]:
    """After each write to moto's DynamoDB commits, the stream's new records go to the sender."""
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in ("transact_write_items", "put_item", "batch_write_item")}

    depth = threading.local()  # moto's transaction calls put_item itself: deliver once it has committed

    def wrap(original: Any) -> Any:
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth.n = getattr(depth, "n", 0) + 1
            try:
                result = original(self, *args, **kwargs)
            finally:
                depth.n -= 1
            if depth.n == 0:
                stream.after_write()
            return result
        return write

    for name, original in originals.items():
        setattr(DynamoDBBackend, name, wrap(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


# The stream of the test running now (None outside provisioned_aws): the `letter_stream` fixture.
current_stream: LetterStream | None = None


@contextlib.contextmanager
def provisioned_aws(link_secret: str, *, verify_senders: bool = False) -> Iterator[LetterStream]:
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.adapters import secrets
    from chalicelib.adapters.tables import ALL_TABLES, LetterRecord, reset_connections

    global current_stream

    with mock_aws():
        reset_connections()
        secrets.clear_cache()
        for model in ALL_TABLES:
            model.create_table(wait=True)
        boto3.client("secretsmanager", region_name="eu-west-2").create_secret(
            Name=secrets.link_secret_id(), SecretString=link_secret)
        if verify_senders:
            ses = boto3.client("ses", region_name="eu-west-2")
            for policy in wiring.policies().values():
                ses.verify_email_identity(EmailAddress=policy.contacts.sender_email)
        stream = current_stream = LetterStream(LetterRecord.Meta.table_name)
        try:
            with delivering_stream(stream):
                yield stream
        finally:
            current_stream = None
            reset_connections()
            secrets.clear_cache()
            wiring.reset()


def expire_cases(now: Any) -> list[str]:
    """DynamoDB's TTL on the cases table at `now` (moto does not expire items): the expired cases are
    deleted and their REMOVE records, marked as TTL's, go to the app's `case_retention` handler (its
    Chalice wrapper, as Lambda calls it) in batches, each batch's failures delivered again once.
    The references deleted."""
    from chalicelib.retention import expire_due
    from chalicelib.routes.retention import case_retention

    def deliver(records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), BATCH_SIZE):
            batch = records[start:start + BATCH_SIZE]
            answer = case_retention({"Records": batch}, None) or {}
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            if failed:
                case_retention({"Records": [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]}, None)

    return expire_due(now, deliver)
