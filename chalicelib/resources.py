"""Where the letter templates and area policies live, in the repository and in the Lambda package.

`chalice package` ships only app.py, chalicelib/ and vendor/, so the build step
(infra/package.sh) copies templates/ and policies/ into chalicelib/_bundle/ inside a
throw-away copy of the project, with the staff console's built assets (build/console-assets/ in a
checkout, chalicelib/_bundle/console-assets/ in the package). At run time the bundle wins when it exists; in a checkout
the top-level folders are used. CT_RESOURCE_ROOT overrides both (tests use it).
"""
from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_root() -> Path:
    override = os.environ.get("CT_RESOURCE_ROOT")
    if override:
        return Path(override)
    bundle = _HERE / "_bundle"
    if bundle.is_dir():
        return bundle
    return _HERE.parent


def templates_dir() -> Path:
    return resource_root() / "templates"


def policies_dir() -> Path:
    return resource_root() / "policies"


def console_assets_dir() -> Path:
    """The console's built CSS, JavaScript and icons (infra/build_console_assets.py)."""
    root = resource_root()
    bundled = root / "console-assets"
    return bundled if bundled.is_dir() else root / "build" / "console-assets"


def template_cache_dir() -> Path | None:
    """Where compiled templates are kept (chalicelib.letters.template_cache): in a checkout
    build/template-cache, made on first use like __pycache__. None where it cannot be made (the
    Lambda's read-only package: shipping it filled would cost 0.6 MB of the zip's 8 MB budget)."""
    folder = resource_root() / "build" / "template-cache"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
