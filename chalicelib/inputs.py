"""The one request layer: every route reads what it was sent through these functions.

Whatever a client sends, the answer is a 4xx problem naming the field and the problem, never a
500 and never a huge page: bodies are size-limited, JSON is depth-limited and may not repeat a
key, form field names follow a strict grammar, numbers in years, versions and row indexes are
ASCII digits in range, and repeated rows (incidents, partner reports) are capped before anything
is rendered. Text checks (control characters, bidi overrides) live with validation in schemas.py,
so they apply to JSON and form posts alike.

Problems are raised as `Problem` and turned into responses in one place (`problem_response`).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

PROBLEM_TYPE = "application/problem+json"
MAX_BODY_BYTES = 200_000  # an application with 50 long incidents fits in about a third of this
MAX_JSON_DEPTH = 16  # the deepest real body (application -> incidents -> incident -> field) is 4
MAX_FORM_FIELDS = 1_500  # 50 incidents x 12 fields, and the rest
MAX_ROWS = 50  # incidents in an application, reports in a partner return
MAX_INT_DIGITS = 18
REF = re.compile(r"CT-[A-Z0-9]{4}-[A-Z0-9]{4}")
ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


class Problem(Exception):
    """A request the API refuses: status, a title and a list of {field, message}."""

    def __init__(self, status: int, title: str, errors: list[dict[str, str]] | None = None, *,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(title)
        self.status, self.title, self.errors = status, title, errors or []
        self.headers, self.extra = headers or {}, extra or {}

    def body(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.title, "status": self.status, **self.extra,
                "errors": self.errors}


def problem_response(status: int, title: str, errors: list[dict[str, str]] | None = None,
                     headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Any:
    from chalice import Response

    body = Problem(status, title, errors, extra=extra).body()
    return Response(body=json.dumps(body), status_code=status, headers={"Content-Type": PROBLEM_TYPE, **(headers or {})})


def answer(exc: Problem) -> Any:
    return problem_response(exc.status, exc.title, exc.errors, exc.headers, exc.extra)


def field_error(field: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "message": message}]


# ---------------------------------------------------------------- bodies


def body_bytes(raw: bytes | None, *, limit: int = MAX_BODY_BYTES, what: str = "request") -> bytes:
    raw = raw or b""
    if len(raw) > limit:
        raise Problem(413, f"The {what} is too large", field_error(
            "body", f"The {what} must be smaller than {limit // 1000} KB; shorten the longest answers"))
    return raw


def _text_of(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "The request body is not valid UTF-8", field_error(
            "body", f"Send the {what} as UTF-8 text: byte {exc.start} cannot be read")) from None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without parsing (so no recursion limit)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Problem(400, "The request body repeats a key", field_error(
                clip(key), "This key appears more than once in the same object; send it once"))
        out[key] = value
    return out


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Problem(400, "The request body has a number that is too long", field_error(
            "body", f"Numbers may have at most {MAX_INT_DIGITS} digits"))
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise Problem(400, "The request body has a number that is too large", field_error("body", "Send a finite number"))
    return value


def _constant(name: str) -> Any:
    raise Problem(400, "The request body is not valid JSON", field_error(
        "body", f"{name} is not JSON: send a number or a string"))


def json_body(raw: bytes | None, *, limit: int = MAX_BODY_BYTES, what: str = "request",
              empty: Any = None) -> Any:
    """The body as JSON. `empty` (if not None) stands for an empty body; otherwise it is a 400."""
    raw = body_bytes(raw, limit=limit, what=what)
    if not raw.strip():
        if empty is not None:
            return empty
        raise Problem(400, "The request body is empty", field_error("body", f"Send the {what} as a JSON object"))
    text = _text_of(raw, what)
    if json_depth(text) > MAX_JSON_DEPTH:
        raise Problem(400, "The request body is nested too deeply", field_error(
            "body", f"JSON may nest at most {MAX_JSON_DEPTH} levels of objects and arrays"))
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_int, parse_float=_float,
                          parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise Problem(400, "The request body is not valid JSON", field_error(
            "body", f"Send the {what} as JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")) from None
    except (ValueError, RecursionError):
        raise Problem(400, "The request body is not valid JSON", field_error("body", f"Send the {what} as JSON")) from None


def form_body(raw: bytes | None, *, allowed: Callable[[str], bool], limit: int = MAX_BODY_BYTES,
              what: str = "form") -> dict[str, str]:
    """An HTML form post: every field name must be one the form has (`allowed`); the last value
    of a repeated name wins, as in the browser's own serialisation of a single-valued field."""
    raw = body_bytes(raw, limit=limit, what=what)
    try:
        text = raw.decode("ascii")  # urlencoded bodies are ASCII; what people typed is %-encoded
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                          encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Problem(400, "The form could not be read", field_error(
            "body", "Send the form URL-encoded (application/x-www-form-urlencoded) in UTF-8")) from None
    except ValueError:
        raise Problem(413, "The form has too many fields", field_error(
            "body", f"A form may have at most {MAX_FORM_FIELDS} fields")) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not allowed(name):
            raise Problem(400, "The form has a field it does not ask for", field_error(
                clip(name), "This is not a field of the form; reload the page and try again"))
        fields[name] = value
    return fields


def clip(text: str, size: int = 80) -> str:
    if not text:
        return "(a field with no name)"
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= size else text[:size] + "..."


# ---------------------------------------------------------------- numbers and identifiers


def ascii_int(value: str | None, *, field: str, low: int, high: int, message: str, status: int = 400) -> int | None:
    """A whole number written with ASCII digits 0-9 (not "²" or "٢"), inside [low, high]."""
    if value is None or not value.strip():
        return None  # ?year= with nothing after it is no year
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_INT_DIGITS and low <= int(text) <= high):
        raise Problem(status, f"The {field} is not valid", field_error(field, message))
    return int(text)


def row_index(text: str, *, field: str) -> int:
    """The row number in a repeated field's name (incidents[3], reports-3-...): ASCII, below the cap."""
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and int(text) < MAX_ROWS):
        raise Problem(400, "Too many rows", field_error(
            field, f"Rows here are numbered 0 to {MAX_ROWS - 1} (at most {MAX_ROWS} rows)"))
    return int(text)


def if_match(headers: Any) -> int | None:
    """If-Match: the case version the person last saw (a bare or quoted number, optionally weak)."""
    value = (headers.get("if-match") or "").strip()
    if not value:
        return None
    value = value.removeprefix("W/").strip('"')
    return ascii_int(value, field="If-Match", low=0, high=10**9, message="If-Match must be the case's version number")


def year(value: str | None) -> int | None:
    return ascii_int(value, field="year", low=2014, high=2100,
                     message="Give the year as four digits, e.g. 2026 (the first year of a financial year)")


def reference(value: str) -> str:
    """A case reference in a path: anything else cannot be a case, so it is a 404, not a look-up."""
    if not REF.fullmatch(value or ""):
        raise Problem(404, "Not found", field_error("reference", "There is no case with this reference"))
    return value


def item_id(value: str, field: str) -> str:
    if not ITEM_ID.fullmatch(value or ""):
        raise Problem(404, "Not found", field_error(field, "There is no such item in this case"))
    return value


def choice(value: str | None, *, field: str, options: Iterable[str]) -> str | None:
    options = sorted(options)
    if value is None or value == "":
        return None
    if value not in options:
        raise Problem(400, f"The {field} is not valid", field_error(field, f"Choose one of: {', '.join(options)}"))
    return value


# ---------------------------------------------------------------- what to shorten


def longest_fields(data: Any, count: int = 3) -> list[dict[str, str]]:
    """When what was sent is too large to store: the longest answers, by path, to shorten."""
    found: list[tuple[int, str]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{path}[{n}]")
        elif isinstance(node, str):
            found.append((len(node.encode("utf-8")), path))

    walk(data, "")
    found.sort(reverse=True)
    if not found:
        return field_error("body", "What was sent is too large to store")
    return [{"field": path or "body", "message": "Together the answers are too long to store: shorten this one"}
            for _, path in found[:count]]


def too_large(data: Any, what: str) -> Problem:
    return Problem(413, f"The {what} is too long to store", longest_fields(data))
