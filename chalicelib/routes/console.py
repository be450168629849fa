"""The staff console: server-rendered pages under /console/... and the assets they link to.

GET /console/assets/{kind}/{name}: the built CSS, JavaScript and icons (chalicelib.console_assets).
Two fixed segments, not a greedy {path+}: chalice local matches routes segment by segment and has no
greedy parameter, and the test client and API Gateway accept this shape alike. `kind` is one of
css, js, images; `name` must be a file the build listed, so no request can reach any other file.
"""
from __future__ import annotations

from chalice import Blueprint, Response

bp = Blueprint(__name__)


@bp.route("/console/assets/{kind}/{name}", methods=["GET"])
def console_asset(kind, name):
    from chalicelib import console_assets
    from chalicelib.inputs import field_error, problem_response

    asset = console_assets.find(kind, name)
    if asset is None:
        return problem_response(404, "No such file", field_error("path", "There is no console asset at this address"),
                                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
    return Response(body=asset.body, status_code=200, headers={
        "Content-Type": asset.content_type, "Cache-Control": asset.cache_control, "X-Content-Type-Options": "nosniff"})
