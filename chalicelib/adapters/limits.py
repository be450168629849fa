"""DynamoDB's size limits, checked before a write is sent: an item over 400 KB or a transaction over
4 MB is refused by DynamoDB with a ValidationException, which would otherwise surface as a 500 after
the person had typed everything. Checked here, it becomes TooLarge, which the routes answer with a
413 naming the answers to shorten; nothing is written.

Sizes follow DynamoDB's own accounting (attribute names plus values, in UTF-8 bytes), with a
margin, since the estimate of numbers and containers is approximate.
"""
from __future__ import annotations

from typing import Any

from pynamodb.transactions import TransactWrite

ITEM_LIMIT = 400 * 1024
ITEM_BUDGET = ITEM_LIMIT - 16 * 1024  # margin for our estimate
TRANSACTION_BUDGET = 4 * 1024 * 1024 - 64 * 1024


class TooLarge(Exception):
    """What would be stored is larger than DynamoDB accepts. Carries the table, never the data."""

    def __init__(self, table: str, size: int):
        self.table = table
        self.size = size
        super().__init__(f"an item for {table} would be {size} bytes")


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire form ({"S": ...}, {"N": ...}, ...)."""
    (kind, inner), = value.items()
    if kind in ("S", "B"):
        return len(inner.encode("utf-8")) if isinstance(inner, str) else len(inner)
    if kind == "N":
        return len(str(inner)) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    return len(str(inner))


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


class SizedTransactWrite(TransactWrite):
    """PynamoDB's TransactWrite, refusing before the call what DynamoDB would refuse for its size."""

    def _commit(self) -> Any:
        total = 0
        for put in self._put_items:
            size = item_size(put.get("Item", {}))
            if size > ITEM_BUDGET:
                raise TooLarge(put.get("TableName", "?"), size)
            total += size
        for update in self._update_items:
            total += sum(value_size(v) for v in (update.get("ExpressionAttributeValues") or {}).values())
        if total > TRANSACTION_BUDGET:
            raise TooLarge("transaction", total)
        return super()._commit()
