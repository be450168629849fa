"""The stack beyond what `chalice package` writes, one concern per module.

Each module's `fragment()` returns part of a CloudFormation template: any of "Parameters",
"Conditions", "Resources", "Outputs", and "Variables" (environment variables every function gets).
`infra.build_template` merges them into infra/resources.json, which `chalice package
--merge-template` merges into the SAM template chalice writes. Two parts may add to the same
resource (say, a function's properties) but never set the same value: `merge` refuses that, so one
concern cannot silently undo another's.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

# The modules of infra/stack, in the order they are merged.
# monitoring last: it gives an alarm to every queue and function the others add.
PARTS: tuple[str, ...] = ("site", "email", "identity", "secrets", "retention", "monitoring")


def merge(into: dict[str, Any], part: dict[str, Any], path: str = "") -> dict[str, Any]:
    for key, value in part.items():
        where = f"{path}.{key}" if path else key
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            merge(into[key], value, where)
        elif key in into and into[key] != value:
            raise ValueError(f"two parts of the stack set {where}")
        else:
            into[key] = value
    return into


def fragments() -> list[dict[str, Any]]:
    return [import_module(f"{__name__}.{name}").fragment() for name in PARTS]
