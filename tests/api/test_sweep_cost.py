"""Cost grows with due work, not with history: among 10,000 cases one sweep reads only the
handful that are due, through the sparse index, never a table scan."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

from pynamodb.connection.base import Connection

from chalicelib.adapters.tables import CaseRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)
HISTORY = 10_000


def apply(client) -> str:
    response = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                body=json.dumps(example_application(TODAY)))
    assert response.status_code == 201
    return response.json_body["reference"]


def fill_history(n: int) -> None:
    """Cases from past years: closed, nothing pending, so none carries the sparse due keys."""
    with CaseRecord.batch_write() as batch:
        for i in range(n):
            batch.save(CaseRecord(
                f"CT-H{i:04d}-{i % 7}{i % 9}", area=("derbyshire", "hart", "dacorum")[i % 3], status="closed",
                basis="victim", channel="online", received_at="2024-05-01T10:00:00.000Z", received_on="2024-05-01",
                application={"incidents": []}, pre_assessment={"result": "met"},
                deadlines={"threshold_decision": {"due": "2024-05-22", "met_on": "2024-05-20"}}, matter=f"m{i}"))


def test_one_sweep_reads_only_the_due_cases_among_ten_thousand(client, wired, monkeypatch):
    due = [apply(client) for _ in range(5)]
    fill_history(HISTORY)
    assert sum(1 for _ in CaseRecord.scan()) == HISTORY + len(due)  # (the test may scan; the sweep may not)

    calls: Counter[str] = Counter()
    items_read = Counter()
    real_call = Connection._make_api_call

    def counting(self, operation_name, operation_kwargs, *args, **kwargs):
        response = real_call(self, operation_name, operation_kwargs, *args, **kwargs)
        calls[operation_name] += 1
        items_read[operation_name] += len(response.get("Items", [])) + (1 if response.get("Item") else 0)
        return response

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    report = wired.sweep().run(datetime.fromisoformat("2027-01-06T09:00:00+00:00"))

    assert report.cases_checked == len(due)
    assert calls["Scan"] == 0
    total_read = sum(items_read.values())
    # Per due case: the case, its partner requests, its notices, and the requests behind each
    # chaser's link; plus one index query per area for cases and one for letters.
    assert total_read < 40 * len(due), (dict(calls), dict(items_read))
    assert calls["Query"] <= 2 * len(wired.policies()) + 3 * len(due)
    print(f"\n{HISTORY + len(due)} cases, {len(due)} due: {dict(calls)} operations, {total_read} items read")
