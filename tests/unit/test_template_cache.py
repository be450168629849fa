"""Compiled templates kept on disk (chalicelib.letters.template_cache): a fresh process loads them
instead of compiling again, and an edited template is never served from a stale copy."""
from __future__ import annotations

from chalicelib.letters import LetterRenderer


def write(root, text: str) -> None:
    (root / "pages").mkdir(parents=True, exist_ok=True)
    (root / "pages" / "hello.html.j2").write_text(text)


def test_a_fresh_renderer_reuses_the_compiled_template_and_an_edit_is_compiled_afresh(tmp_path):
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    cache.mkdir()
    write(templates, "<p>Hello {{ name }}</p>")
    assert LetterRenderer(templates, cache).render_page("hello", {"name": "<Sam>"}) == "<p>Hello &lt;Sam&gt;</p>"
    [entry] = list(cache.iterdir())
    stored = entry.stat().st_mtime_ns
    assert LetterRenderer(templates, cache).render_page("hello", {"name": "Sam"}) == "<p>Hello Sam</p>"
    assert entry.stat().st_mtime_ns == stored  # loaded, not compiled and written again
    write(templates, "<p>Goodbye {{ name }}</p>")
    assert LetterRenderer(templates, cache).render_page("hello", {"name": "Sam"}) == "<p>Goodbye Sam</p>"


def test_a_cache_folder_that_cannot_be_written_only_loses_the_saving(tmp_path, monkeypatch):
    """As in the Lambda's read-only package (root ignores file modes, so the write itself is refused)."""
    import tempfile

    templates, cache = tmp_path / "templates", tmp_path / "cache"
    cache.mkdir()
    write(templates, "<p>Hi {{ name }}</p>")

    def read_only(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    assert LetterRenderer(templates, cache).render_page("hello", {"name": "Jo"}) == "<p>Hi Jo</p>"
    assert list(cache.iterdir()) == []
