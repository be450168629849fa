"""`make example`: post the OpenAPI example application to the running local API, as a form
or a partner system would, and print the receipt. Uses only the standard library."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
import uuid

API = os.environ.get("API_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
EXAMPLE = os.environ.get("EXAMPLE", "victim")  # or on_behalf


def main() -> int:
    try:
        with urllib.request.urlopen(f"{API}/openapi.json", timeout=10) as response:
            spec = json.load(response)
    except urllib.error.URLError as exc:
        print(f"No API at {API} ({exc.reason}). Start it with `make run` in another terminal.", file=sys.stderr)
        return 1
    examples = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    body = json.dumps(examples[EXAMPLE]["value"]).encode()
    request = urllib.request.Request(f"{API}/applications", data=body, method="POST", headers={
        "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(response.status, json.dumps(json.load(response), indent=2))
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
