"""`make bench`: what a cold start and each request cost, measured beside a floor (not a timed test:
nothing here fails on a number; the issue's targets are printed beside the numbers, "ok" or "over").

1. `import app` (what Lambda runs at init) in clean fresh processes, beside the floor: a process
   importing the same libraries (chalice, pydantic, pynamodb, jinja2, boto3/botocore, holidays);
2. the first and second POST /applications in a fresh process, beside the floor's first and second
   round of one PynamoDB put, one SES send and one Secrets Manager read, against the same moto set-up
   (infra.measure_cold_start app|floor); medians of several processes;
3. the AWS calls each route makes while serving one request (infra.aws_calls.count_aws_calls), and
   those the letter sender makes per letter once letters are sent from the table's stream;
4. the deadline sweep's reads among 10,000 and 100,000 cases with 5 due (equal: cost follows due work);
5. the deployment zip's size.

    make bench        # or: python -m infra.bench [--runs 20] [--cold-runs 5] [--sweep-sizes 10000,100000] [--package]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pydantic", "jinja2", "boto3", "botocore", "pynamodb", "jwt", "holidays", "cryptography")
PROBE = (
    "import sys, time; t = time.perf_counter(); import app; d = (time.perf_counter() - t) * 1000; "
    f"import json; print(json.dumps({{'ms': d, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)
FLOOR_PROBE = (
    "import importlib, time; from infra.measure_cold_start import FLOOR_LIBRARIES; t = time.perf_counter(); "
    "[importlib.import_module(m) for m in FLOOR_LIBRARIES]; d = (time.perf_counter() - t) * 1000; "
    "import json; print(json.dumps({'ms': d, 'heavy': []}))"
)
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-2"}

# The issue's targets (issue 13), printed beside the numbers, never asserted here.
TARGET_APPLICATION_CALLS = 4
TARGET_FIRST_RATIO = 2.0
TARGET_ZIP_MB = 8.0


def verdict(ok: bool) -> str:
    return "ok" if ok else "over"


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------- 1, 2: fresh processes


def import_times(repo: Path, runs: int, probe: str = PROBE) -> tuple[list[float], list[str]]:
    times, heavy = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=True,
                             env=CLEAN_ENV)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(result["ms"])
        heavy = result["heavy"]
    return times, heavy


def cold_runs(runs: int, package_dir: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """App and floor probes, alternated so drift on the machine hits both alike. With package_dir
    (the unzipped deployment package), both import from it first, as a Lambda does."""
    spec = subprocess.run([sys.executable, "-m", "infra.aws_calls"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout
    results: dict[str, dict[str, list[float]]] = {"app": {}, "floor": {}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(spec)
    try:
        for _ in range(runs):
            for kind in ("app", "floor"):
                env = {**os.environ, **({"BENCH_PACKAGE_DIR": str(package_dir)} if package_dir else {})}
                out = subprocess.run([sys.executable, "-m", "infra.measure_cold_start", kind, f.name], cwd=REPO,
                                     capture_output=True, text=True, check=True, env=env)
                # The app logs to stdout (JSON lines, as in Lambda): the probe's result is the last line.
                for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
                    results[kind].setdefault(key, []).append(value)
    finally:
        os.unlink(f.name)
    return results


def print_cold(imports: dict[str, list[float]] | None, cold: dict[str, dict[str, list[float]]], runs: int,
               where: str) -> float:
    app, floor = cold["app"], cold["floor"]
    app_cold = [i + f for i, f in zip(app["import"], app["first"])]
    floor_cold = [i + f for i, f in zip(floor["import"], floor["first"])]
    rows = [
        *([("import app / the floor's libraries (clean process)", imports["app"], imports["floor"])] if imports else []),
        ("import, with moto loaded (boto3, botocore already in)", app["import"], floor["import"]),
        ("first POST /applications / floor's first round", app["first"], floor["first"]),
        ("second POST /applications / floor's second round", app["second"], floor["second"]),
        ("import + first request (the cold start a user waits)", app_cold, floor_cold),
    ]
    print(f"\n== Cold start {where}: medians of {runs} fresh processes each (AWS: moto in-process) ==")
    print(f"{'':<55} {'app':>10} {'floor':>10} {'ratio':>7}")
    for label, a, f in rows:
        print(f"{label:<55} {median(a):>7.1f} ms {median(f):>7.1f} ms {median(a) / median(f):>6.2f}x")
    ratio = median(app_cold) / median(floor_cold)
    print(f"target: first application <= {TARGET_FIRST_RATIO:g}x floor (import + first request): "
          f"{ratio:.2f}x {verdict(ratio <= TARGET_FIRST_RATIO)}; the first request alone: "
          f"{median(app['first']) / median(floor['first']):.2f}x")
    return ratio


# ---------------------------------------------------------------- 3: AWS calls per route (in this process)


def _bench_environment() -> None:
    """As the tests do: AWS is moto, in this process. Set before anything imports chalicelib. (The
    app's INFO log lines, one JSON object each, would bury the tables: only warnings are printed.)"""
    import logging

    logging.disable(logging.INFO)
    os.environ.update({"AWS_DEFAULT_REGION": "eu-west-2", "AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "TABLE_PREFIX": "ct-bench",
                       "PUBLIC_API_URL": "https://ct.example.test/api"})
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    sys.path.insert(0, str(REPO))


def _fresh_app_state() -> None:
    """What a new Lambda process starts with: no cached policies, secrets or connections."""
    from chalicelib import wiring
    from chalicelib.adapters import secrets
    from chalicelib.adapters.tables import reset_connections

    wiring.reset()
    secrets.clear_cache()
    reset_connections()


def post_application(client, body: dict, key: str | None = None):
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return client.http.post("/applications", headers=headers, body=json.dumps(body))


def partner_token(ref: str) -> str:
    """The police request's link, as the letter sender signs it. Letters may not be sent inside the
    request any more (the stream sends them), so make sure its hash is recorded, as sending does."""
    from chalicelib import wiring
    from chalicelib.adapters.tables import PartnerRequestRecord
    from chalicelib.partner_links import token_hash

    request = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    token = wiring.links().token_for(request)
    if request.token_hash != token_hash(token):
        wiring.repository().record_token_hash(request, token_hash(token))
    return token


def staff_token() -> tuple[str, object]:
    """A SPOC's bearer token and a verifier trusting its key (as tests/api/conftest.py's `token`)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from chalicelib.auth import TokenVerifier

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer, audience, now = "https://login.example.test/bench", "community-trigger", int(time.time())
    claims = {"sub": "user-pat", "name": "Pat SPOC", "iss": issuer, "aud": audience, "iat": now - 60, "exp": now + 600,
              "roles": ["spoc"], "areas": ["derbyshire"]}
    token = "Bearer " + jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})
    return token, TokenVerifier(issuer, audience, keys=lambda kid: key.public_key())


def route_calls() -> list[tuple[str, int, object]]:
    """(route, HTTP status, AwsCalls) for one request of each route, in one fresh app state."""
    from urllib.parse import urlencode

    from chalice.test import Client
    from moto import mock_aws

    from infra.aws_calls import count_aws_calls, provision, setup_spec

    spec = setup_spec()
    rows = []
    with mock_aws():
        provision(spec)
        import app

        from chalicelib import wiring
        from chalicelib.clock import london_date, utc_now
        from chalicelib.openapi import example_application, example_return_form

        _fresh_app_state()
        bearer, verifier = staff_token()
        real_verifier = wiring.verifier
        wiring.verifier = lambda: verifier
        body = example_application(london_date(utc_now()))

        def measure(label, request):
            with count_aws_calls() as calls:
                response = request()
            rows.append((label, response.status_code, calls))
            return response

        try:
            with Client(app.app) as client:
                first = measure("POST /applications (first in process)",
                                lambda: post_application(client, body, "bench-first")).json_body["reference"]
                second = measure("POST /applications (second)",
                                 lambda: post_application(client, body, "bench-second")).json_body["reference"]
                measure("GET /stats?area=derbyshire", lambda: client.http.get("/stats?area=derbyshire"))
                token = partner_token(first)
                measure("GET /partner/{token}", lambda: client.http.get(f"/partner/{token}"))
                measure("POST /partner/{token} (a police return)", lambda: client.http.post(
                    f"/partner/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=urlencode(example_return_form(london_date(utc_now())))))
                measure("POST /cases/{ref}/threshold-decision (SPOC)", lambda: client.http.post(
                    f"/cases/{second}/threshold-decision", body=json.dumps(
                        {"decision": "not_met", "reasons": "Only two of the reports were made within a month."}),
                    headers={"Content-Type": "application/json", "Authorization": bearer}))
                rows.append(letter_sender_calls(client, body))
        finally:
            wiring.verifier = real_verifier
            _fresh_app_state()
    return rows


def letter_sender_calls(client, body: dict) -> tuple[str, int, object]:
    """The calls the letter sender (chalicelib.outbox.LetterSender, behind the letters table's stream)
    makes for one application's letters, given them as the stream delivers new items (status -1: not
    measured, the reason in the label)."""
    from chalicelib import wiring
    from chalicelib.adapters.tables import LetterRecord

    from infra.aws_calls import count_aws_calls

    send = wiring.sender().send_stream_records
    ref = post_application(client, body, "bench-letters").json_body["reference"]
    letters = [l for l in LetterRecord.query(ref) if l.channel == "email"]
    records = [{"eventID": f"bench-{i}", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-2",
                "dynamodb": {"Keys": {"ref": {"S": l.ref}, "letter_id": {"S": l.letter_id}}, "NewImage": l.serialize(),
                             "StreamViewType": "NEW_IMAGE", "SequenceNumber": str(i)}}
               for i, l in enumerate(letters)]
    try:
        with count_aws_calls() as calls:
            send(records)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        return (f"letter sender: skipped, send_stream_records(records) raised {type(exc).__name__}", -1, None)
    return (f"letter sender, per letter ({len(letters)} letters, {calls.total} calls)", 200, calls) if letters else (
        "letter sender: skipped, the application stored no email letters", -1, None)


def print_routes(rows) -> int:
    print("\n== AWS calls per request (botocore API calls while serving it; moto in-process) ==")
    width = max(len(label) for label, status, calls in rows if calls is not None)
    application_calls = 0
    for label, status, calls in rows:
        if calls is None:
            print(label)
            continue
        if label.startswith("letter sender"):
            per = {op: n / max(1, int(label.split("(")[1].split()[0])) for op, n in calls.by_operation.items()}
            print(f"{label:<{width}}  {sum(per.values()):>5.1f}  " + ", ".join(f"{op} {n:g}" for op, n in sorted(per.items())))
            continue
        flag = "" if status < 400 else f"  (HTTP {status}: not what a user gets)"
        target = ""
        if label.startswith("POST /applications"):
            application_calls = max(application_calls, calls.total)
            target = f"  [target <= {TARGET_APPLICATION_CALLS}: {verdict(calls.total <= TARGET_APPLICATION_CALLS)}]"
        print(f"{label:<{width}}  {calls.total:>5}  {calls.describe()}{target}{flag}")
    return application_calls


# ---------------------------------------------------------------- 4: the sweep's reads


def fill_open_cases(n: int, areas: list[str], next_check_at: str) -> None:
    """n open cases waiting for nothing yet (next check in the future): in the due-checks index, as
    the sweep finds history. Only the attributes a case must have, plus the index's keys.

    Written straight into moto's table: through CaseRecord.batch_write() 100,000 cases took 1.5 to 3
    minutes (and moto's own put_item still 1.5: it re-sizes the whole item for each attribute it
    sets), none of it what is measured. So one case per area goes in through moto's put_item (its
    checks, the model's own serialisation) and the rest are copies of it with their own key."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    from chalicelib.adapters.tables import CaseRecord

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][CaseRecord.Meta.region]
    table = backend.get_table(CaseRecord.Meta.table_name)
    templates = {area: backend.put_item(table.name, CaseRecord(
        f"CT-B{i:06d}", area=area, status="acknowledged", basis="victim", channel="online",
        received_at="2026-05-01T10:00:00.000Z", received_on="2026-05-01", application={"incidents": []},
        pre_assessment={"result": "met"}, deadlines={}, matter=f"bench-{i}", due_area=area,
        next_check_at=next_check_at, version=1).serialize()) for i, area in enumerate(areas[:n])}
    for i in range(len(templates), n):
        template = templates[areas[i % len(areas)]]
        ref = DynamoType({"S": f"CT-B{i:06d}"})
        item = copy.copy(template)
        item.hash_key = ref
        item.attrs = LimitedSizeDict({**template.attrs, "ref": ref, "matter": DynamoType({"S": f"bench-{i}"})})
        table.items[ref] = item
        if table.stream_shard is not None:
            table.stream_shard.add(None, item)


def sweep_reads(n: int, due: int = 5) -> dict:
    """One sweep among n cases not yet due and `due` applications just received (due now)."""
    from chalice.test import Client
    from moto import mock_aws

    from infra.aws_calls import count_aws_calls, provision, setup_spec

    spec = setup_spec()
    with mock_aws():
        provision(spec)
        import app

        from chalicelib import wiring
        from chalicelib.clock import iso, london_date, utc_now
        from chalicelib.openapi import example_application

        _fresh_app_state()
        with Client(app.app) as client:
            for _ in range(due):
                assert post_application(client, example_application(london_date(utc_now()))).status_code == 201
        now = utc_now()
        started = time.perf_counter()
        fill_open_cases(n, sorted(wiring.policies()), iso(now + timedelta(days=30)))
        filled = time.perf_counter() - started
        # The history really is in the index the sweep reads (else equal reads would prove nothing).
        from chalicelib.adapters.tables import CaseRecord

        # (One item per area: counting them all through moto's index query takes a minute at 100,000.)
        indexed = all(list(CaseRecord.due_checks.query(area, CaseRecord.next_check_at > iso(now), limit=1))
                      for area in wiring.policies())
        started = time.perf_counter()
        with count_aws_calls() as calls:
            report = wiring.sweep().run(now + timedelta(seconds=1))
        swept = time.perf_counter() - started
        _fresh_app_state()
    return {"n": n, "checked": report.cases_checked, "calls": calls, "fill_s": filled, "sweep_s": swept,
            "indexed": indexed}


def print_sweep(results: list[dict], due: int) -> None:
    print(f"\n== The sweep among many cases, {due} due (reads through the sparse due-checks index) ==")
    for r in results:
        c = r["calls"]
        print(f"{r['n'] + due:>7,} cases: {r['checked']} checked; {c.total} AWS calls ({c.describe()}); items read: "
              f"Query Count {c.returned}, ScannedCount {c.scanned}, GetItem/BatchGetItem {c.got}  "
              f"[writing the cases {r['fill_s']:.0f} s, the sweep {r['sweep_s']:.1f} s in moto, whose index query "
              f"walks the whole table]")
    shape = {(tuple(sorted(r["calls"].by_operation.items())), r["calls"].returned, r["calls"].scanned, r["calls"].got,
              r["checked"]) for r in results}
    everywhere = all(r["indexed"] for r in results)
    print(f"history in the index the sweep reads: {'yes, in every area' if everywhere else 'NO'} (a query for "
          "cases not yet due finds some in each area)")
    if len(results) > 1:
        print("same calls and items read at every size: " + ("yes" if len(shape) == 1 else "NO (cost grows with history)"))


# ---------------------------------------------------------------- 5: the zip


def build_package() -> None:
    subprocess.run(["bash", str(REPO / "infra" / "package.sh"), str(REPO / "build" / "package")], cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL)


def print_zip(build: bool) -> float | None:
    print("\n== The deployment package ==")
    path = REPO / "build" / "package" / "deployment.zip"
    if not path.exists():
        print("no build/package/deployment.zip: run `make package` first (or python -m infra.bench --package)")
        return None
    mb = path.stat().st_size / 1_000_000
    with zipfile.ZipFile(path) as z:
        files = sum(1 for i in z.infolist() if not i.is_dir())
        unpacked = sum(i.file_size for i in z.infolist()) / 1_000_000
    print(f"{path.relative_to(REPO)}: {mb:.1f} MB, {files:,} files ({unpacked:.1f} MB unpacked)  "
          f"[target <= {TARGET_ZIP_MB:g} MB: {verdict(mb <= TARGET_ZIP_MB)}]")
    return mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure cold starts, AWS calls per request, the sweep's reads and "
                                                 "the package size. Prints numbers; asserts nothing.")
    parser.add_argument("--runs", type=int, default=20, help="fresh processes for the import times (default 20)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes for the first requests (default 5)")
    parser.add_argument("--repo", type=Path, default=REPO, help="time `import app` in another checkout (import only)")
    parser.add_argument("--import-only", action="store_true")
    parser.add_argument("--sweep-sizes", default="10000,100000", help="cases not yet due, comma-separated ('' skips)")
    parser.add_argument("--package", action="store_true", help="build build/package/deployment.zip first")
    args = parser.parse_args(argv)

    times, heavy = import_times(args.repo, args.runs)
    floor_times, _ = import_times(REPO, args.runs, FLOOR_PROBE)
    q = statistics.quantiles(times, n=10)
    fq = statistics.quantiles(floor_times, n=10)
    print(f"== import app: median {median(times):.1f} ms, p10 {q[0]:.1f} ms, p90 {q[-1]:.1f} ms over {args.runs} fresh "
          f"processes ({args.repo})")
    print(f"   the floor (importing {', '.join(HEAVY_FLOOR)}): median {median(floor_times):.1f} ms, p10 {fq[0]:.1f} ms, "
          f"p90 {fq[-1]:.1f} ms; import app is {median(times) / median(floor_times):.2f}x the floor")
    print(f"   heavy libraries loaded at import: {', '.join(heavy) or 'none'}")
    if args.import_only:
        return 0

    package = REPO / "build" / "package" / "deployment.zip"
    if args.package:
        build_package()
    if package.exists():
        with tempfile.TemporaryDirectory() as unzipped:
            import zipfile

            zipfile.ZipFile(package).extractall(unzipped)
            print_cold(None, cold_runs(args.cold_runs, Path(unzipped)), args.cold_runs,
                       "from the deployment package (what a Lambda runs: its slimmed libraries, no .pyc)")
    else:
        print("\n(no build/package/deployment.zip: `make bench` builds it; the cold start from it is not measured)")
    print_cold({"app": times, "floor": floor_times}, cold_runs(args.cold_runs), args.cold_runs,
               "from this checkout (the venv's full libraries, with their .pyc)")

    _bench_environment()
    print_routes(route_calls())

    sizes = [int(s) for s in args.sweep_sizes.split(",") if s.strip()]
    if sizes:
        print_sweep([sweep_reads(n) for n in sizes], 5)

    print_zip(False)
    return 0


HEAVY_FLOOR = ("chalice", "pydantic", "pynamodb", "jinja2", "boto3", "botocore", "holidays")

if __name__ == "__main__":
    raise SystemExit(main())
