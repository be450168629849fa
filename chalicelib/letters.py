"""Renders letters from the Jinja2 templates in templates/letters/.

A letter template is a pair of files, `<set>/<name>.html.j2` and `<set>/<name>.txt.j2`, named
by its id `<set>/<name>` (for example `derbyshire/letter1`, `dacorum/ct1`). Each file sets
`subject` at top level. HTML is autoescaped; the plain-text part is not HTML and needs no
escaping, but the subject has line breaks removed so it can never inject mail headers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from .domain.policy import EXAMPLE_ADDRESS_NOTE, is_example_address
from .resources import template_cache_dir, templates_dir

LETTERS_FOLDER = "letters"
_ID_PATTERN = re.compile(r"^[a-z0-9_-]+/[a-z0-9_-]+$")


@dataclass(frozen=True)
class RenderedLetter:
    template: str
    subject: str
    html: str
    text: str


# A posted letter is dated the day it is printed, not the day it was written: it is stored with this
# mark where its date goes, and the mark becomes the date when staff mark it printed.
POSTING_DATE_MARK = "[[date-of-posting]]"


class PostingDate(date):
    """Stands for 'the day this letter is printed' in a posted letter's context."""


def posting_date(written_on: date) -> PostingDate:
    return PostingDate(written_on.year, written_on.month, written_on.day)


def date_posted(text: str, printed_on: date) -> str:
    return text.replace(POSTING_DATE_MARK, long_date(printed_on))


def long_date(value: date | None) -> str:
    """27 November 2026 -> 'Friday 27 November 2026' (GOV.UK style, no leading zero)."""
    if value is None:
        return ""
    if isinstance(value, PostingDate):
        return POSTING_DATE_MARK
    return f"{value:%A} {value.day} {value:%B %Y}"


def london_time(value: str | date | None) -> str:
    """An ISO date ("2026-12-03") or UTC instant ("2026-12-03T14:05:00.000Z") as people in the UK
    read it: "Thursday 3 December 2026", or "... at 2:05pm" in London time (GMT or BST)."""
    if not value:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return long_date(value)
    text = str(value)
    from .clock import LONDON

    try:
        if len(text) == 10:
            return long_date(date.fromisoformat(text))
        instant = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(LONDON)
    except ValueError:
        return text  # not a date: shown as given rather than guessed at
    hour = instant.hour % 12 or 12
    return f"{long_date(instant.date())} at {hour}:{instant:%M}{'am' if instant.hour < 12 else 'pm'}"


def example_note(address: str | None) -> str:
    """" (example address: the council sets its own)" after an example address, else nothing.
    Written after the address (outside any link): `{{ a }}{{ a|example_note }}`. The policy loader
    guarantees that an address is on a reserved domain exactly when the policy marks it as an
    example, so the address itself says whether it is one, in every template and context."""
    return f" ({EXAMPLE_ADDRESS_NOTE})" if address and is_example_address(str(address)) else ""


def install_filters(env: Any) -> None:
    """The filters and tests every template may use (letters, emails, pages and the form)."""
    env.filters["long_date"] = long_date
    env.filters["london_time"] = london_time
    env.filters["example_note"] = example_note
    env.tests["example_address"] = lambda address: bool(address) and is_example_address(str(address))


def template_cache(folder: Path) -> Any:
    """Jinja2's compiled templates kept on disk, as Python keeps .pyc files: a fresh process (a cold
    Lambda) loads a template's code instead of parsing and compiling it again. Keyed by the template's
    name; each entry holds the checksum of the source it was compiled from, so an edited template is
    compiled afresh, never served stale. A folder that cannot be written to only loses the saving."""
    from jinja2 import FileSystemBytecodeCache

    class TemplateCache(FileSystemBytecodeCache):
        def get_cache_key(self, name: str, filename: str | None = None) -> str:
            import hashlib

            return hashlib.sha1(name.encode()).hexdigest()  # not the path: the package moves

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # a read-only folder: this process keeps it in memory only

    return TemplateCache(str(folder))


class LetterRenderer:
    def __init__(self, root: Path | None = None, cache: Path | None = None) -> None:
        self.root = root or templates_dir()
        self.cache = cache if cache is not None else template_cache_dir()

    @cached_property
    def _env(self) -> Any:
        # Imported here, not at module top: only requests that send a letter pay for Jinja2.
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        env = Environment(
            loader=FileSystemLoader(str(self.root)),
            bytecode_cache=template_cache(self.cache) if self.cache and self.cache.is_dir() else None,
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        install_filters(env)
        from .console_assets import install_globals

        install_globals(env)
        return env

    def template_ids(self) -> list[str]:
        """Every complete letter template (both HTML and text present)."""
        folder = self.root / LETTERS_FOLDER
        ids = []
        for html in folder.glob("*/*.html.j2"):
            if html.name.startswith("_") or html.parent.name.startswith("_"):
                continue
            if html.with_name(html.name.replace(".html.j2", ".txt.j2")).exists():
                ids.append(f"{html.parent.name}/{html.name.removesuffix('.html.j2')}")
        return sorted(ids)

    def render(self, template_id: str, context: dict[str, Any]) -> RenderedLetter:
        """A letter to an applicant or victim, by the id an area's policy names."""
        if not _ID_PATTERN.match(template_id):
            raise ValueError(f"bad letter template id {template_id!r}")
        return self._render_pair(f"{LETTERS_FOLDER}/{template_id}", template_id, context)

    def render_email(self, name: str, context: dict[str, Any]) -> RenderedLetter:
        """A working email (to a partner or the SPOC) from templates/emails/<name>."""
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"bad email template name {name!r}")
        return self._render_pair(f"emails/{name}", f"emails/{name}", context)

    def render_page(self, name: str, context: dict[str, Any]) -> str:
        """An HTML page (the partner return form and its answers) from templates/pages/<name>.html.j2."""
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"bad page template name {name!r}")
        return self._env.get_template(f"pages/{name}.html.j2").render(context)

    def render_form_page(self, name: str, context: dict[str, Any]) -> str:
        """A page of the applicant's form (templates/form/<name>.html.j2): built into the static
        site, and rendered by the API when a form is posted without JavaScript."""
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"bad form page name {name!r}")
        return self._env.get_template(f"form/{name}.html.j2").render(context)

    def render_console(self, name: str, context: dict[str, Any]) -> str:
        """A staff console page (templates/console/<name>.html.j2, extending console/_layout.html.j2);
        `asset_url` and `console_url` are globals (chalicelib.console_assets). One folder level is
        allowed ("steps/outcome"), so a part's pages can live together."""
        if not re.fullmatch(r"[a-z0-9_]+(?:/[a-z0-9_]+)?", name):
            raise ValueError(f"bad console page name {name!r}")
        return self._env.get_template(f"console/{name}.html.j2").render(context)

    def _render_pair(self, path: str, template_id: str, context: dict[str, Any]) -> RenderedLetter:
        parts = {}
        subject = ""
        for kind in ("html", "txt"):
            module = self._env.get_template(f"{path}.{kind}.j2").make_module(context)
            parts[kind] = str(module)
            subject = subject or str(getattr(module, "subject", ""))
        subject = " ".join(subject.split())
        if not subject:
            raise ValueError(f"template {template_id!r} does not set a subject")
        return RenderedLetter(template=template_id, subject=subject, html=parts["html"], text=parts["txt"])
