"""The published statutory counts (public, cacheable): JSON, CSV, an HTML fragment and a widget.
One item read per area and year, whatever the history."""
from __future__ import annotations

import json

from chalice import Blueprint, Response

from . import answers_problems

bp = Blueprint(__name__)
STATS_CACHE = "public, max-age=300"


def cached(body: str, content_type: str) -> Response:
    """ETag from the body (whose generated_at only moves when a count moves), 304 when unchanged."""
    import hashlib

    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": STATS_CACHE, "Vary": "Accept-Encoding"}
    if etag in [t.strip() for t in (bp.current_request.headers.get("if-none-match") or "").split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body, status_code=200, headers={**headers, "Content-Type": content_type})


def stats_data(*, decision_days: bool = False):
    """Read ?area= (or ?appeals_body=) and ?year=; raise a problem for anything malformed."""
    from chalicelib import inputs, wiring
    from chalicelib.published import UnknownArea

    params = bp.current_request.query_params or {}
    area, body = params.get("area"), params.get("appeals_body")
    if not area and not body:
        raise inputs.Problem(400, "Say which area", inputs.field_error("area", "Add ?area=<area id>, e.g. ?area=hart"))
    year = inputs.year(params.get("year"))
    service = wiring.published()
    try:
        policies = service.areas_for(area, body)
    except UnknownArea:
        field = "area" if area else "appeals_body"
        raise inputs.Problem(404, "Unknown area", inputs.field_error(
            field, f"There is no area or appeals body '{inputs.clip(area or body or '', 40)}' here")) from None
    return service.read(policies, year, decision_days=decision_days)


@bp.route("/stats", methods=["GET"], cors=True)
@answers_problems
def stats_json():
    return cached(json.dumps(stats_data()), "application/json")


@bp.route("/stats.csv", methods=["GET"], cors=True)
@answers_problems
def stats_csv():
    from chalicelib.published import PublishedStats

    return cached(PublishedStats.csv(stats_data()), "text/csv; charset=utf-8")


@bp.route("/stats/data-return.csv", methods=["GET"], cors=True)
@answers_problems
def stats_data_return():
    """The Home Office data return: the counts, and the median working days to a threshold decision."""
    from chalicelib.published import PublishedStats

    return cached(PublishedStats.data_return(stats_data(decision_days=True)), "text/csv; charset=utf-8")


@bp.route("/stats/fragment.html", methods=["GET"], cors=True)
@answers_problems
def stats_fragment():
    from chalicelib import wiring

    data = stats_data()
    return cached(wiring.renderer().render_page("stats_fragment", {"data": data}), "text/html; charset=utf-8")


@bp.route("/stats/widget.js", methods=["GET"], cors=True)
def stats_widget():
    from chalicelib.resources import templates_dir

    script = (templates_dir() / "pages" / "stats-widget.js").read_text(encoding="utf-8")
    return cached(script, "text/javascript; charset=utf-8")
