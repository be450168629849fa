"""Load and faults against the stack exactly as `make run` starts it (DynamoDB Local, moto for SES and
SSM, chalice local): many applications at once lose nothing and count each once; a crashed API stops
the whole stack, and what was acknowledged is there after a restart; data survives a restart and
RESET=1 starts empty.

The numbers (wall-clock times, peak memory of the stack's processes) are printed (`pytest -s`) and
written to test-artifacts/load.json."""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import boto3
import pytest

from chalicelib.clock import london_date, utc_now
from chalicelib.openapi import example_application

from .conftest import REPO, Stack

pytestmark = pytest.mark.e2e

ARTIFACT = REPO / "test-artifacts" / "load.json"
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # those a postcode's last two letters may use
TIMEOUT = 60  # seconds, any one request


def application(n: int, area: str, tag: str) -> dict:
    """A distinct valid application: its own person, email and place (so its own matter)."""
    body = example_application(london_date(utc_now()), area=area)
    name = f"Load {tag} Person {n}"
    body["victim"]["name"] = name
    body["victim"]["email"] = f"load.{tag}.{n}@example.com"
    body["victim"]["address"]["postcode"] = f"AB{1 + n % 50} {n % 10}{LETTERS[n // 10 % 20]}{LETTERS[n // 200 % 20]}"
    for incident in body["incidents"]:
        incident["reported_by"] = name
    return body


def request(method: str, url: str, body=None, headers=None, timeout: float = TIMEOUT):
    """(status, JSON body); status None if the connection failed (the API was killed)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except (ValueError, http.client.HTTPException, OSError):
            return exc.code, None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        return None, repr(exc)  # refused, reset, or cut off mid-answer


def published_applications(api: str, area: str) -> int:
    """This reporting year's published count of applications for an area."""
    status, data = request("GET", f"{api}/stats?area={area}")
    assert status == 200, data
    today = london_date(utc_now()).isoformat()
    return sum(year["counts"]["applications"] for year in data["years"] if year["from"] <= today <= year["to"])


def stored_cases(stack_dynamodb: str, area: str) -> list[dict]:
    """Every case stored for an area, read from DynamoDB Local itself."""
    client = boto3.client("dynamodb", endpoint_url=stack_dynamodb, region_name="eu-west-2",
                          aws_access_key_id="local", aws_secret_access_key="local")
    out, start = [], {}
    while True:
        page = client.scan(TableName="ct-local-cases", ProjectionExpression="#r, #a, application",
                           ExpressionAttributeNames={"#r": "ref", "#a": "area"}, ConsistentRead=True, **start)
        out += [{"ref": i["ref"]["S"], "name": json.loads(i["application"]["S"])["victim"]["name"]}
                for i in page["Items"] if i["area"]["S"] == area]
        if "LastEvaluatedKey" not in page:
            return out
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def retries(lines: list[str]) -> dict[str, int]:
    """The API's transaction_retry log lines, by reason."""
    out: dict[str, int] = {}
    for line in lines:
        if '"transaction_retry"' in line:
            try:
                reason = json.loads(line).get("error", "?")
            except json.JSONDecodeError:  # two processes' lines interleaved
                reason = "?"
            out[reason] = out.get(reason, 0) + 1
    return out


def readable(outbox: str, ref: str) -> bool:
    status, view = request("GET", f"{outbox}/cases/{ref}.json", timeout=30)
    return status == 200 and view["ref"] == ref


def descendants(pid: int) -> list[int]:
    """pid and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class PeakMemory:
    """Samples the summed RSS of a process tree (the stack: python, java, chalice local)."""

    def __init__(self, pid: int, every: float = 0.1):
        self.pid, self.every, self.peak_kb, self.by_process = pid, every, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = {p: rss_kb(p) for p in descendants(self.pid)}
            total = sum(sample.values())
            if total > self.peak_kb:
                self.peak_kb = total
                self.by_process = {command(p)[:60]: kb for p, kb in sample.items()}
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


def record(name: str, numbers: dict) -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    try:
        data = json.loads(ARTIFACT.read_text())
    except (OSError, json.JSONDecodeError):
        data = {}
    data[name] = numbers
    ARTIFACT.write_text(json.dumps(data, indent=2))
    print(f"\n[load] {name}: {json.dumps(numbers)}")


# ---------------------------------------------------------------- on the shared stack


def test_100_applications_at_once_are_all_stored_and_counted_once(stack):
    area, n = "dacorum", 100
    before = published_applications(stack["api"], area)
    bodies = [application(i, area, "burst") for i in range(n)]
    lines_before = len(stack["output"])
    with PeakMemory(stack["process"].pid) as memory, ThreadPoolExecutor(max_workers=n) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda body: request("POST", f"{stack['api']}/applications", body), bodies))
        burst_seconds = time.monotonic() - started
    statuses = [status for status, _ in results]
    refs = [body["reference"] for status, body in results if status == 201]
    after = published_applications(stack["api"], area)
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = time.monotonic()
        read = list(pool.map(lambda ref: readable(stack["outbox"], ref), refs))
        read_seconds = time.monotonic() - started
    record("100_concurrent_applications", {
        "requests": n, "answered_201": statuses.count(201), "other_answers": sorted(str(s) for s in statuses if s != 201),
        "distinct_references": len(set(refs)), "published_count_delta": after - before,
        "readable_afterwards": sum(read), "transaction_retries": retries(stack["output"][lines_before:]),
        "burst_seconds": round(burst_seconds, 1),
        "read_back_seconds": round(read_seconds, 1), "peak_rss_mb": round(memory.peak_kb / 1024),
        "peak_rss_mb_by_process": {k: round(v / 1024) for k, v in memory.by_process.items()}})
    assert statuses.count(201) == n, [r for r in results if r[0] != 201][:3]
    assert len(set(refs)) == n
    assert after - before == n
    assert all(read)


def test_20_retries_with_one_idempotency_key_store_one_case(stack):
    area, n = "dacorum", 20
    before = published_applications(stack["api"], area)
    body = application(1000, area, "retry")
    key = {"Idempotency-Key": f"load-retry-{time.time_ns()}"}
    lines_before = len(stack["output"])
    with ThreadPoolExecutor(max_workers=n) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: request("POST", f"{stack['api']}/applications", body, key), range(n)))
        seconds = time.monotonic() - started
    after = published_applications(stack["api"], area)
    refs = {b["reference"] for s, b in results if s == 201}
    record("20_concurrent_retries_one_key", {"transaction_retries": retries(stack["output"][lines_before:]), "requests": n, "answered_201": sum(s == 201 for s, _ in results),
                                             "distinct_references": len(refs), "published_count_delta": after - before,
                                             "seconds": round(seconds, 1)})
    assert [s for s, _ in results] == [201] * n, [r for r in results if r[0] != 201][:3]
    assert len(refs) == 1
    assert after - before == 1


# ---------------------------------------------------------------- a stack of its own: crash, restart, reset


def wait_exit(stack: Stack, seconds: float = 45) -> int:
    try:
        return stack.process.wait(timeout=seconds)
    except Exception:
        stack.kill()
        raise


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_crashed_api_stops_the_stack_and_what_was_acknowledged_survives_restarts(tmp_path):
    area = "hart"
    data = tmp_path / "data"
    timings: dict[str, float] = {}

    # 1. A burst of applications; the API process is killed -9 in the middle of it.
    first = Stack(data)
    timings["start_fresh_seconds"] = round(first.wait_ready(), 1)
    children = {command(p): p for p in descendants(first.process.pid) if p != first.process.pid}
    chalice = next(p for c, p in children.items() if "infra.local_api" in c)
    java = next(p for c, p in children.items() if "DynamoDBLocal.jar" in c)
    answered: list[tuple] = []
    bodies = [application(i, area, "crash") for i in range(60)]

    def send(body: dict) -> None:
        answered.append(request("POST", f"{first.api}/applications", body, timeout=20))

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(send, body) for body in bodies]
        deadline = time.monotonic() + 60
        while sum(1 for s, _ in answered if s == 201) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(chalice, signal.SIGKILL)
        killed_at = time.monotonic()
        for future in futures:
            future.result()
    code = wait_exit(first)
    timings["exit_after_kill_seconds"] = round(time.monotonic() - killed_at, 1)
    output = "".join(first.output)
    assert code != 0
    assert "chalice local (the API) was killed by SIGKILL" in output, output[-2000:]
    assert not alive(java) and not alive(chalice), "an orphan was left running"
    acknowledged = {b["reference"] for s, b in answered if s == 201}
    assert 10 <= len(acknowledged) < len(bodies), "the kill should land in the middle of the burst"

    # 2. Started again on the same data: every acknowledged case is there, none twice, counted once each.
    second = Stack(data)
    timings["restart_after_crash_seconds"] = round(second.wait_ready(), 1)
    try:
        cases = stored_cases(second.dynamodb, area)
        refs = [c["ref"] for c in cases]
        names = [c["name"] for c in cases]
        assert acknowledged <= set(refs)
        assert len(names) == len(set(names)), "an application was stored twice"
        assert published_applications(second.api, area) == len(cases)
        assert all(readable(second.outbox, ref) for ref in sorted(acknowledged)[:10])
        # The partner-link secret is the one kept in the data folder.
        assert (data / "partner-link-secret").stat().st_mode & 0o777 == 0o600
        sigterm_at = time.monotonic()
    finally:
        code = second.stop()
    timings["stop_sigterm_seconds"] = round(time.monotonic() - sigterm_at, 1)
    assert code == 0, "".join(second.output)[-2000:]

    # 3. Stopped cleanly (SIGTERM) and started again: still there.
    third = Stack(data)
    timings["restart_after_sigterm_seconds"] = round(third.wait_ready(), 1)
    try:
        assert sorted(c["ref"] for c in stored_cases(third.dynamodb, area)) == sorted(refs)
        assert published_applications(third.api, area) == len(cases)
    finally:
        assert third.stop() == 0

    # 4. RESET=1 starts empty.
    fourth = Stack(data, RESET="1")
    timings["start_with_reset_seconds"] = round(fourth.wait_ready(), 1)
    try:
        assert stored_cases(fourth.dynamodb, area) == []
        assert published_applications(fourth.api, area) == 0
        assert not readable(fourth.outbox, sorted(acknowledged)[0])
    finally:
        assert fourth.stop() == 0
    record("crash_restart_reset", {"burst": len(bodies), "answered_201_before_kill": len(acknowledged),
                                   "failed_or_cut_off": len(bodies) - len(acknowledged),
                                   "stored_after_restart": len(cases), **timings})
