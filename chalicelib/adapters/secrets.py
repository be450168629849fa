"""Secrets, cached briefly so a rotated value is picked up.

The partner-link secret is one Secrets Manager secret (created by the stack, LINK_SECRET_ARN) whose
value is JSON:

    {"search_key": "...", "link_keys": ["<previous>", "<newest>"]}

- search_key never changes: search terms are stored as HMACs under it (chalicelib.case_index), so
  a new one would make every stored case unfindable until a backfill.
- link_keys sign partner links and the console's sign-in cookie: new ones are signed with the
  last, and both verify, so a link issued before a rotation still opens after it (rotation keeps
  the newest and adds one: a key is dropped at the second rotation after it was the newest).
  Missing (the value the stack first generates): the search key is the one link key.

A value that is not JSON (a plain string, as the tests and older stacks had) is both keys.
Other secrets (the console's OIDC client secret) are SSM SecureStrings, read with `get_secret`.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

CACHE_SECONDS = 300
_cache: dict[str, tuple[float, Any]] = {}


@dataclass(frozen=True)
class LinkSecret:
    search_key: bytes
    link_keys: tuple[bytes, ...]  # oldest first; the last signs

    @property
    def signing_key(self) -> bytes:
        return self.link_keys[-1]

    @classmethod
    def parse(cls, value: str) -> "LinkSecret":
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(value.encode(), (value.encode(),))
        search = str(data["search_key"]).encode()
        links = tuple(str(k).encode() for k in data.get("link_keys") or ()) or (search,)
        return cls(search, links)

    def dumps(self) -> str:
        return json.dumps({"search_key": self.search_key.decode(), "link_keys": [k.decode() for k in self.link_keys]})


def link_secret_id() -> str:
    """The secret's ARN in AWS (set by the stack); locally and in tests, a name in the stand-in."""
    return os.environ.get("LINK_SECRET_ARN") or f"community-trigger/{os.environ.get('TABLE_PREFIX', 'ct-local')}/partner-link-secret"


def link_secret(client: Any = None, *, fresh: bool = False) -> LinkSecret:
    """The secret's current version (AWSCURRENT). `fresh`: skip the cache (a link signed with a key
    this process has not seen yet, minutes after a rotation)."""
    key = "secretsmanager:" + link_secret_id()
    hit = _cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    if client is None:
        from .clients import client as aws_client

        client = aws_client("secretsmanager")
    value = LinkSecret.parse(client.get_secret_value(SecretId=link_secret_id(), VersionStage="AWSCURRENT")["SecretString"])
    _cache[key] = (time.monotonic(), value)
    return value


def cached_at(secret_id: str | None = None) -> float | None:
    hit = _cache.get("secretsmanager:" + (secret_id or link_secret_id()))
    return hit[0] if hit else None


def get_secret(name: str, client: Any = None) -> bytes:
    """An SSM SecureString's value."""
    hit = _cache.get(name)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    if client is None:
        from .clients import client as aws_client

        client = aws_client("ssm")
    value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].encode()
    _cache[name] = (time.monotonic(), value)
    return value


def clear_cache() -> None:
    _cache.clear()
