"""The staff console's built assets (CSS, JavaScript, icons): where they are, what they are called
and how a page links to them.

infra/build_console_assets.py writes them with a content hash in each CSS and JS file's name and a
manifest.json mapping the logical names pages use ("console.css") to the built files
("css/console-3f9a0c1d2e4b.css"). A fingerprinted file never changes, so it is cached for a year;
the icons keep the names the CSS gives them and are cached for a day. Only files the manifest lists
are ever served: a request names a kind and a file name, never a path on disk.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from .resources import console_assets_dir

PREFIX = "/console/assets"
CONTENT_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "images": "image/svg+xml"}
IMMUTABLE = "public, max-age=31536000, immutable"
ONE_DAY = "public, max-age=86400"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)+$")
_FINGERPRINTED = re.compile(r"-[0-9a-f]{12}(?:\.min)?\.(?:css|js)$")


class AssetsNotBuilt(RuntimeError):
    """The console's assets are missing: run `make assets` (or python -m infra.build_console_assets)."""


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    cache_control: str


@lru_cache(maxsize=1)
def _manifest(folder: str) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetsNotBuilt(f"{path} is missing: run `make assets`") from None


def manifest() -> dict:
    return _manifest(str(console_assets_dir()))


def base_path() -> str:
    """The API's path prefix as the browser sees it (the stage, e.g. "/api"), from PUBLIC_API_URL:
    pages link root-relative, and behind API Gateway's stage the root is not "/"."""
    return urlsplit(os.environ.get("PUBLIC_API_URL", "")).path.rstrip("/")


def console_url(path: str) -> str:
    """A console address as a page links to it: console_url("/console/cases") -> "/api/console/cases"."""
    if not path.startswith("/"):
        raise ValueError(f"console_url needs a path from the root, not {path!r}")
    return base_path() + path


def asset_url(logical_name: str) -> str:
    """The fingerprinted address of a built asset: asset_url("console.css")."""
    try:
        built = manifest()["logical"][logical_name]
    except KeyError:
        raise KeyError(f"no console asset {logical_name!r}; known: {sorted(manifest()['logical'])}") from None
    return f"{base_path()}{PREFIX}/{built}"


def find(kind: str, name: str) -> Asset | None:
    """The file /console/assets/<kind>/<name>, or None unless the build listed exactly that file."""
    if kind not in CONTENT_TYPES or not _NAME.match(name or ""):
        return None
    relative = f"{kind}/{name}"
    if relative not in manifest()["files"]:
        return None
    body = (console_assets_dir() / kind / name).read_text(encoding="utf-8")
    cache = IMMUTABLE if _FINGERPRINTED.search(name) else ONE_DAY
    return Asset(body=body, content_type=CONTENT_TYPES[kind], cache_control=cache)


def in_page_order(errors: list[dict], fields: list[str]) -> list[dict]:
    """Errors ({field, message}) sorted as their fields appear on the page (the error summary's
    order must match the form's); errors for fields not named keep their order, after the others."""
    rank = {field: n for n, field in enumerate(fields)}
    return sorted(errors, key=lambda e: rank.get(e.get("field", ""), len(rank)))


def install_globals(env) -> None:
    env.globals["asset_url"] = asset_url
    env.globals["console_url"] = console_url
    env.filters["in_page_order"] = in_page_order
