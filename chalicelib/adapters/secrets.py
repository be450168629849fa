"""Secrets from the SSM parameter store, cached briefly so a rotated value is picked up."""
from __future__ import annotations

import os
import time
from typing import Any

CACHE_SECONDS = 300
_cache: dict[str, tuple[float, bytes]] = {}


def link_secret_name() -> str:
    return f"/community-trigger/{os.environ.get('TABLE_PREFIX', 'ct-local')}/partner-link-secret"


def get_secret(name: str, client: Any = None) -> bytes:
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
