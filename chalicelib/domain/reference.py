"""Case references: short, random, readable over the phone, no personal data.

The alphabet drops characters that are easily confused when read or heard
(0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V) and vowels, so no reference spells a word.
"""
from __future__ import annotations

import re
import secrets
from typing import Callable

ALPHABET = "34679CDFGHJKMNPQRTWXY"
_GROUP = 4
# \Z, not $: "$" also matches before a trailing newline, so "CT-...\n" would pass.
PATTERN = re.compile(rf"^CT-[{ALPHABET}]{{{_GROUP}}}-[{ALPHABET}]{{{_GROUP}}}\Z")


def new_reference(choice: Callable[[str], str] = secrets.choice) -> str:
    """CT-XXXX-XXXX: 21^8 (about 3.8e10) possibilities; uniqueness is enforced at write time."""
    chars = "".join(choice(ALPHABET) for _ in range(2 * _GROUP))
    return f"CT-{chars[:_GROUP]}-{chars[_GROUP:]}"


def normalise_reference(text: str) -> str | None:
    """Accept what a person types (lower case, spaces, missing dashes); None if it cannot be a reference."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if len(compact) == 2 * _GROUP + 2 and compact.startswith("CT"):  # "CT" may also begin a bare reference
        compact = compact[2:]
    if len(compact) != 2 * _GROUP:
        return None
    ref = f"CT-{compact[:_GROUP]}-{compact[_GROUP:]}"
    return ref if PATTERN.match(ref) else None
