"""Slim chalice's deployment.zip down to what the Lambda functions import (run by infra/package.sh).

How chalice builds it (chalice/deploy/packager.py): DependencyBuilder.build_site_packages runs
`pip download -r requirements.txt`, which resolves every transitive dependency (pynamodb pulls in
botocore), unpacks each wheel whole into a site-packages directory, and
LambdaDeploymentPackager._add_py_deps zips all of it. There is no option to leave a package or a
file out, so the finished zip is rewritten here, entry by entry:

- boto3, botocore, s3transfer, jmespath and urllib3 are dropped: the python3.11 runtime already
  has them (in /var/lang/lib/python3.11/site-packages, after /var/task on sys.path) and nothing of
  ours imports jmespath or urllib3 except through botocore. They stay pinned in requirements.txt:
  the tests run against those pins. python-dateutil and six stay in the zip: `holidays` needs
  dateutil (and dateutil six), and the copies in /var/task are the ones every import gets.
  What we rely on from the runtime's SDK: DynamoDB through PynamoDB 6.1.0 (botocore>=1.12.54;
  TransactWriteItems), SES SendEmail and SSM GetParameter, all years older than the oldest SDK
  the python3.11 runtime is known to have had (boto3 1.27.1 / botocore 1.30.1, as the Lambda
  runtimes page listed it in late 2023; AWS has updated it in place since, by region, and no longer
  lists one version). RUNTIME_SDK_FLOOR records that floor; the package test runs against it with
  RUNTIME_SITE_PACKAGES=DIR (see tests/infra/test_package.py).
- `holidays` is cut to the United Kingdom: its registry loads a country lazily, but importing
  holidays.countries.united_kingdom runs holidays/countries/__init__.py, which imports all ~250
  countries, so that file is rewritten to the UK alone and the registry lists only the UK (and
  no financial markets). Of the locale files only GB.mo for en_GB and en_US are kept: holiday
  names come from the language in LANG (Lambda sets en_US.UTF-8) or fall back to the English
  source strings, which these match.
- tzdata keeps Europe/London and UTC (the code's only zones: chalicelib/clock.py and
  domain/deadlines.py). The python3.11 runtime is Amazon Linux 2 and may lack /usr/share/zoneinfo,
  so zoneinfo's fallback to the tzdata package must still find those two.
- dnspython is dropped: email_validator imports it only for deliverability checks, and every call
  here passes check_deliverability=False (a DNS look-up per form post is not wanted). So are
  pycparser and the cffi package (only cffi's compiled _cffi_backend is imported, by
  cryptography), pydantic.v1 (the old API, never imported) and pydantic's mypy plugin.
- Native extensions shipped with their symbol tables (cryptography's Rust module is 14 MB) are
  stripped of symbols no loader needs (`strip --strip-unneeded`; dynamic symbols stay), when
  binutils' strip is on the machine.
- dateutil's own bundled zone database, __pycache__, type stubs (.pyi, py.typed), dependency test
  folders, wheels' *.data folders (console scripts) and dist-info RECORD files (stale once files
  are removed; importlib.metadata reads METADATA and entry_points.txt, which stay, as do the
  licences) are dropped.

    python -m infra.slim_package build/package/deployment.zip
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# The Lambda python3.11 runtime's own libraries, left out of the zip.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3")
# The oldest SDK the python3.11 runtime is known to have shipped (see the module docstring):
# the code must not need anything newer from boto3/botocore.
RUNTIME_SDK_FLOOR = {"boto3": "1.27.1", "botocore": "1.30.1"}
# Not imported by any of our code paths (see the module docstring).
UNUSED = ("dns", "dnspython", "pycparser")
# Parts of kept distributions that nothing imports. cryptography's Rust extension imports the
# compiled _cffi_backend module only, never the cffi package (which builds bindings at install time).
UNUSED_PARTS = ("cffi/", "pydantic/v1/", "pydantic/mypy.py")

HOLIDAY_COUNTRY = "united_kingdom"
HOLIDAY_LOCALES = ("holidays/locale/en_GB/LC_MESSAGES/GB.mo", "holidays/locale/en_US/LC_MESSAGES/GB.mo")
TIME_ZONES = ("Europe/London", "UTC")

_COUNTRIES_INIT = f'''"""Trimmed by infra/slim_package.py: this deployment ships the United Kingdom only."""
from holidays.countries.{HOLIDAY_COUNTRY} import UnitedKingdom, GB, GBR, UK  # noqa: F401
'''.encode()
_FINANCIAL_INIT = b'"""Trimmed by infra/slim_package.py: no financial-market calendars in this deployment."""\n'
_REGISTRY_TAIL = f'''

# Trimmed by infra/slim_package.py: only these modules are in this deployment.
COUNTRIES = {{k: v for k, v in COUNTRIES.items() if k == "{HOLIDAY_COUNTRY}"}}
FINANCIAL = {{}}
'''.encode()


def _distribution_dirs(names: tuple[str, ...]) -> re.Pattern[str]:
    """A top-level package or module of one of `names`, or its *.dist-info or *.data directory."""
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"^(?:(?:{alternatives})(?:/|\.py$)|(?:{alternatives})-[^/]*\.(?:dist-info|data)/)",
                      re.IGNORECASE)


_DROPPED_DISTRIBUTIONS = _distribution_dirs(RUNTIME_PROVIDED + UNUSED)
_TZ_KEEP = {"tzdata/__init__.py", "tzdata/zoneinfo/__init__.py", "tzdata/zones"}
for _zone in TIME_ZONES:
    _TZ_KEEP.add(f"tzdata/zoneinfo/{_zone}")
    _parts = _zone.split("/")[:-1]
    for _i in range(1, len(_parts) + 1):
        _TZ_KEEP.add("tzdata/zoneinfo/" + "/".join(_parts[:_i]) + "/__init__.py")


def _is_app(name: str) -> bool:
    return name == "app.py" or name.startswith(("chalicelib/", "chalice/"))


def keep(name: str) -> bool:
    """Whether a zip entry is shipped."""
    if _is_app(name):
        return "/__pycache__/" not in f"/{name}"
    parts = name.split("/")
    if _DROPPED_DISTRIBUTIONS.match(name):
        return False
    if "__pycache__" in parts or {"tests", "test"} & set(parts[:-1]) or parts[0].endswith(".data"):
        return False  # *.data/: a wheel's scripts and headers, never imported
    if name.endswith((".pyi", "/py.typed")) or (parts[0].endswith(".dist-info") and parts[-1] == "RECORD"):
        return False
    if name == "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz" or name.startswith(UNUSED_PARTS):
        return False
    if parts[0] == "holidays" and len(parts) > 2:
        if parts[1] == "countries":
            return parts[2] in ("__init__.py", f"{HOLIDAY_COUNTRY}.py")
        if parts[1] == "financial":
            return parts[2] == "__init__.py"
        if parts[1] == "locale":
            return name in HOLIDAY_LOCALES
    if parts[0] == "tzdata":
        return name in _TZ_KEEP
    return True


def rewrite(name: str, data: bytes) -> bytes:
    """The shipped content of a kept entry."""
    if name == "holidays/countries/__init__.py":
        return _COUNTRIES_INIT
    if name == "holidays/financial/__init__.py":
        return _FINANCIAL_INIT
    if name == "holidays/registry.py":
        return data + _REGISTRY_TAIL
    if name == "tzdata/zones":
        return "".join(f"{zone}\n" for zone in TIME_ZONES).encode()
    return data


@dataclass
class Stats:
    zip_bytes: int
    unpacked_bytes: int
    files: int
    largest: list[tuple[str, int]]  # top-level name -> compressed bytes


def stats(path: Path) -> Stats:
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
    by_top: Counter[str] = Counter()
    for info in infos:
        by_top[info.filename.split("/")[0]] += info.compress_size
    return Stats(path.stat().st_size, sum(i.file_size for i in infos), len(infos), by_top.most_common(6))


def _strip(data: bytes, strip: str) -> bytes:
    """A shared library without the symbols only debuggers read (the dynamic ones stay)."""
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib.so"
        lib.write_bytes(data)
        subprocess.run([strip, "--strip-unneeded", str(lib)], check=True, capture_output=True)
        return lib.read_bytes()


def slim(path: Path) -> None:
    """Rewrite the zip at `path` in place."""
    strip = shutil.which("strip")
    if strip is None:
        print("slim_package: no `strip` (binutils) here, native extensions ship unstripped", file=sys.stderr)
    tmp = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.is_dir() or not keep(info.filename):
                continue
            data = rewrite(info.filename, src.read(info))
            if strip and info.filename.endswith(".so") and not _is_app(info.filename):
                data = _strip(data, strip)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data, compresslevel=9)
    tmp.replace(path)


def _describe(label: str, s: Stats) -> str:
    largest = ", ".join(f"{name} {size / 1e6:.2f}" for name, size in s.largest)
    return (f"{label}: {s.zip_bytes / 1e6:.2f} MB zipped, {s.unpacked_bytes / 1e6:.2f} MB unpacked, "
            f"{s.files} files (largest, MB zipped: {largest})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", type=Path)
    args = parser.parse_args(argv)
    before = stats(args.zip)
    slim(args.zip)
    after = stats(args.zip)
    print(_describe("deployment.zip as chalice built it", before))
    print(_describe("deployment.zip slimmed", after))
    print(f"left to the Lambda runtime: {', '.join(RUNTIME_PROVIDED)} (we rely on its "
          + ", ".join(f"{name} >= {version}" for name, version in RUNTIME_SDK_FLOOR.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
