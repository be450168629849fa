"""GET /openapi.json: the API described, with examples that are accepted as they are on any date."""
from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


@bp.route("/openapi.json", methods=["GET"], cors=True)
def openapi():
    from chalicelib import wiring
    from chalicelib.clock import london_date
    from chalicelib.openapi import build_spec

    return build_spec(london_date(wiring.utc_now()))
