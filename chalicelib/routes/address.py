"""The API's own public address, where the stack cannot give it.

Partner links, the no-JavaScript pages and the console need the API's address (PUBLIC_API_URL).
With a council domain the stack sets it (infra/stack/site.py). Without one it would be the
execute-api address, which the API's own functions cannot be told: the API refers to them, so
their settings cannot refer to the API (CloudFormation refuses the circular dependency). The first
request then tells the function where it is: API Gateway's own host name and stage.
"""
from __future__ import annotations

import os
from typing import Any, Callable


def learn_public_address(event: Any, get_response: Callable[[Any], Any]) -> Any:
    if not os.environ.get("PUBLIC_API_URL"):
        context = getattr(event, "context", None) or {}
        host, stage = context.get("domainName"), context.get("stage")
        if host and ".execute-api." in host and stage:
            os.environ["PUBLIC_API_URL"] = f"https://{host}/{stage}"
    return get_response(event)
