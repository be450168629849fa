"""The partner-link secret's rotation function, which Secrets Manager calls for each step (see
chalicelib.rotation)."""
from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


@bp.lambda_function(name="rotate_link_secret")
def rotate_link_secret(event, context):
    from chalicelib.adapters.clients import client
    from chalicelib.rotation import rotate

    rotate(client("secretsmanager"), event["SecretId"], event["ClientRequestToken"], event["Step"])
    return {"step": event["Step"]}
