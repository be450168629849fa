"""Build the staff console's assets into build/console-assets/ (git-ignored):

    css/console-<hash>.css           templates/console/console.scss compiled with the pinned dart-sass
    js/govuk-frontend-<hash>.min.js  GOV.UK Frontend's ES module bundle, as published
    js/moj-frontend-<hash>.min.js    MOJ Frontend's ES module bundle, as published
    js/console-<hash>.js             templates/console/console.js, importing the two above
    js/supported-<hash>.js           templates/console/supported.js (the body class the CSP keeps out of the page)
    images/<name>.svg                the MOJ icons the CSS refers to, under the names it uses
    manifest.json                    logical name -> built file, and every file the asset route may serve

Nothing is rebuilt while the inputs (the sources, package-lock.json and this script) are unchanged:
their hash is kept in .inputs. `make run`, `make test` and `make package` run this first.

    python -m infra.build_console_assets [--force] [--out DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "templates" / "console"
NODE = REPO / "node_modules"
OUT = REPO / "build" / "console-assets"
GOVUK_JS = NODE / "govuk-frontend" / "dist" / "govuk" / "govuk-frontend.min.js"
MOJ_JS = NODE / "@ministryofjustice" / "frontend" / "moj" / "moj-frontend.min.js"
IMAGE_FOLDERS = (NODE / "@ministryofjustice" / "frontend" / "moj" / "assets" / "images",)
# Referred to by CSS for markup the console never uses (the Crown copyright crest in the GOV.UK
# footer): a council service does not show it, so it is not shipped.
NOT_SHIPPED = {"govuk-crest.svg"}
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
_CSS_URL = re.compile(r"""url\(["']?/console/assets/images/([^"')]+)["']?\)""")


def _inputs() -> list[Path]:
    return sorted(p for p in SOURCES.iterdir() if p.suffix in (".scss", ".js", ".svg")) + [
        REPO / "package-lock.json", Path(__file__).resolve()]


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _fingerprint(stem: str, text: str, suffix: str) -> str:
    return f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}{suffix}"


def compile_css() -> str:
    sass = NODE / ".bin" / "sass"
    if not sass.exists():
        raise SystemExit("dart-sass is not installed: run `npm ci` (make does it when package-lock.json changes)")
    # --quiet: MOJ Frontend 11 still calls mixins GOV.UK Frontend 6 deprecates; not ours to fix.
    result = subprocess.run([str(sass), f"--load-path={REPO}", "--no-source-map", "--style=compressed", "--quiet",
                             "--no-charset", str(SOURCES / "console.scss")],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"sass failed:\n{result.stderr}")
    return result.stdout


def build(out: Path = OUT) -> dict:
    """Build into a fresh folder beside `out`, then swap it in (a running server never sees half)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".console-assets-", dir=out.parent))
    work.chmod(0o755)  # mkdtemp's 0700 would follow the files into the package
    try:
        manifest = _build_into(work)
        (work / ".inputs").write_text(inputs_hash())
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        work.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_into(work: Path) -> dict:
    for kind in ("css", "js", "images"):
        (work / kind).mkdir()
    logical: dict[str, str] = {}

    def write(kind: str, name: str, text: str, logical_name: str | None = None) -> str:
        (work / kind / name).write_text(text, encoding="utf-8")
        if logical_name:
            logical[logical_name] = f"{kind}/{name}"
        return name

    # The published bundles, without their source-map comments (the maps are not shipped).
    govuk = write("js", _fingerprint("govuk-frontend", js := _SOURCE_MAP.sub("", GOVUK_JS.read_text()), ".min.js"),
                  js, "govuk-frontend.js")
    moj = write("js", _fingerprint("moj-frontend", js := _SOURCE_MAP.sub("", MOJ_JS.read_text()), ".min.js"),
                js, "moj-frontend.js")
    console = (SOURCES / "console.js").read_text()
    for plain, built in (("./govuk-frontend.min.js", govuk), ("./moj-frontend.min.js", moj)):
        if f"'{plain}'" not in console:
            raise SystemExit(f"templates/console/console.js must import '{plain}'")
        console = console.replace(f"'{plain}'", f"'./{built}'")
    write("js", _fingerprint("console", console, ".js"), console, "console.js")
    supported = (SOURCES / "supported.js").read_text()
    write("js", _fingerprint("supported", supported, ".js"), supported, "supported.js")

    # The council's own icon, not GOV.UK's crown: without one the browser asks for /favicon.ico,
    # which is not a route.
    icon = (SOURCES / "favicon.svg").read_text()
    write("images", _fingerprint("favicon", icon, ".svg"), icon, "favicon.svg")

    css = compile_css()
    if "GDS Transport" in css or "@font-face" in css:
        raise SystemExit("the console CSS must not load the GDS Transport font (check the font settings in console.scss)")
    write("css", _fingerprint("console", css, ".css"), css, "console.css")
    for name in sorted(set(_CSS_URL.findall(css)) - NOT_SHIPPED):
        source = next((folder / name for folder in IMAGE_FOLDERS if (folder / name).is_file()), None)
        if source is None or source.suffix != ".svg":
            raise SystemExit(f"the CSS refers to images/{name}, which no package ships as SVG")
        write("images", name, source.read_text(encoding="utf-8"))

    files = sorted(f"{p.parent.name}/{p.name}" for p in work.glob("*/*") if p.is_file())
    manifest = {"logical": logical, "files": files}
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def ensure(out: Path = OUT, force: bool = False) -> bool:
    """Build unless `out` was built from exactly these inputs; True when it built."""
    stamp = out / ".inputs"
    if not force and stamp.is_file() and stamp.read_text() == inputs_hash() and (out / "manifest.json").is_file():
        return False
    build(out)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    built = ensure(args.out, force=args.force)
    print(f"console assets {'built' if built else 'up to date'}: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
