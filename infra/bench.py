"""`make bench`: what a cold start costs, measured (not a timed test).

- `import app` (what Lambda runs at init) in fresh processes, N times: median and spread;
- which heavy libraries that import loads (none should be: they load on first use);
- then one cold start's first requests, broken down (infra.measure_cold_start).

    make bench                  # or: python -m infra.bench --runs 30 [--repo DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pydantic", "jinja2", "boto3", "botocore", "pynamodb", "jwt", "holidays", "cryptography")
PROBE = (
    "import sys, time; t = time.perf_counter(); import app; d = (time.perf_counter() - t) * 1000; "
    f"import json; print(json.dumps({{'ms': d, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def import_times(repo: Path, runs: int) -> tuple[list[float], list[str]]:
    times, heavy = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=repo, capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-2"})
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(result["ms"])
        heavy = result["heavy"]
    return times, heavy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repo", type=Path, default=REPO, help="measure another checkout (e.g. a git worktree)")
    parser.add_argument("--import-only", action="store_true")
    args = parser.parse_args(argv)
    times, heavy = import_times(args.repo, args.runs)
    q = statistics.quantiles(times, n=10)
    print(f"import app: median {statistics.median(times):.1f} ms, p10 {q[0]:.1f} ms, p90 {q[-1]:.1f} ms "
          f"over {args.runs} fresh processes ({args.repo})")
    print(f"heavy libraries loaded at import: {', '.join(heavy) or 'none'}")
    if not args.import_only:
        subprocess.run([sys.executable, "-m", "infra.measure_cold_start"], cwd=REPO, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
