"""GET /console/assets/{kind}/{name}: the console's built CSS, JavaScript and icons, with the right
types and caching, the council's font and colour, and nothing else reachable (a 404 problem for
any other name, however it is spelt)."""
from __future__ import annotations

import re

import pytest
from chalice.test import Client

from app import app
from chalicelib import console_assets
from infra import build_console_assets

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def client():
    build_console_assets.ensure()  # a no-op when the build is current
    with Client(app) as c:
        yield c


def get(client, path):
    return client.http.get(path)


def served(client, logical: str):
    # asset_url gives the page's address (behind the stage prefix); the app is addressed from its root
    url = console_assets.asset_url(logical)
    path = url[url.index("/console/"):]
    response = get(client, path)
    assert response.status_code == 200, (path, response.body[:200])
    return path, response


def test_css_is_long_cached_with_the_councils_font_and_colour_and_no_gds_transport(client):
    path, response = served(client, "console.css")
    assert re.fullmatch(r"/console/assets/css/console-[0-9a-f]{12}\.css", path)
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    css = response.body.decode()
    assert "GDS Transport" not in css and "@font-face" not in css and "/fonts/" not in css
    assert "font-family:arial,helvetica,sans-serif" in css
    scss = (build_console_assets.SOURCES / "console.scss").read_text()
    brand = re.search(r"^\$council-brand-colour:\s*(#[0-9a-f]{6});", scss, re.M).group(1)
    assert f"--govuk-brand-colour: {brand}" in css and brand != "#1d70b8"
    assert ".govuk-header{" in css and ".moj-identity-bar{" in css and ".moj-timeline" in css


def test_every_icon_the_css_uses_is_served_as_svg(client):
    css = served(client, "console.css")[1].body.decode()
    icons = set(re.findall(r"url\(\"?/console/assets/images/([\w.-]+)\"?\)", css)) - build_console_assets.NOT_SHIPPED
    assert len(icons) >= 5
    for name in icons:
        response = get(client, f"/console/assets/images/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "image/svg+xml" and response.body.startswith(b"<svg")
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_link_the_councils_own_icon_not_the_crown(client):
    page = get(client, "/console/signed-out").body.decode()
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page).group(1)
    response = get(client, icon[icon.index("/console/"):])
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/svg+xml"
    scss = (build_console_assets.SOURCES / "console.scss").read_text()
    brand = re.search(r"^\$council-brand-colour:\s*(#[0-9a-f]{6});", scss, re.M).group(1)
    assert brand.encode() in response.body and b"crown" not in response.body.lower()


def test_console_js_imports_the_fingerprinted_bundles_and_starts_both(client):
    path, response = served(client, "console.js")
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == IMMUTABLE
    script = response.body.decode()
    imports = re.findall(r"from '\./([\w.-]+)'", script)
    assert len(imports) == 2 and "initGovuk()" in script and "initMoj()" in script
    for name in imports:
        bundle = get(client, f"/console/assets/js/{name}")
        assert bundle.status_code == 200 and bundle.headers["Cache-Control"] == IMMUTABLE
        assert b"export{" in bundle.body and b"initAll" in bundle.body and b"sourceMappingURL" not in bundle.body
    supported = served(client, "supported.js")[1].body.decode()
    assert "govuk-frontend-supported" in supported


@pytest.mark.parametrize("path", [
    "/console/assets/css/nothing-0123456789ab.css",
    "/console/assets/css/console.css",                 # the logical name: only built names are served
    "/console/assets/fonts/bold-affa96571d-v2.woff2",  # no such kind
    "/console/assets/images/govuk-crest.svg",          # referred to by the CSS, deliberately not shipped
    "/console/assets/css/manifest.json",
    "/console/assets/css/.inputs",
    "/console/assets/css/..%2F..%2F..%2Fapp.py",
    "/console/assets/css/..%2Fmanifest.json",
    "/console/assets/css/%2e%2e%2fmanifest.json",
    "/console/assets/js/..",
    "/console/assets/images/..%5C..%5Capp.py",
    "/console/assets/..%2F..%2Fapp.py/x",
])
def test_anything_else_is_a_404_problem(client, path):
    response = get(client, path)
    assert response.status_code == 404, path
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["status"] == 404


def test_a_built_file_is_not_served_under_another_kind(client):
    css = console_assets.manifest()["logical"]["console.css"].split("/")[1]
    assert get(client, f"/console/assets/js/{css}").status_code == 404
    assert get(client, f"/console/assets/images/{css}").status_code == 404


def test_the_build_is_not_repeated_while_its_inputs_are_unchanged(tmp_path):
    out = tmp_path / "assets"
    assert build_console_assets.ensure(out) is True
    stamp = (out / ".inputs").stat().st_mtime_ns
    assert build_console_assets.ensure(out) is False and (out / ".inputs").stat().st_mtime_ns == stamp
    (out / ".inputs").write_text("another set of inputs")
    assert build_console_assets.ensure(out) is True
    manifest = (out / "manifest.json").read_text()
    assert "css/console-" in manifest and "govuk-crest" not in manifest


@pytest.mark.parametrize("name", ["../../../app.py", "../manifest.json", "..", ".", "", "/etc/passwd", "a/../b.css",
                                  "..\\..\\app.py", "console.css\x00.svg"])
def test_decoded_traversal_names_are_refused_before_the_disk_is_read(client, name):
    # API Gateway hands path parameters over URL-decoded; the test client does not, so ask directly.
    for kind in ("css", "js", "images", "..", ""):
        assert console_assets.find(kind, name) is None
