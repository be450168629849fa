"""The Chalice app as a WSGI application, through chalice's own local API Gateway emulation
(chalice.local.LocalGateway: routing, the authorizer, CORS preflight), so WSGI test tools such as
schemathesis can call it in-process, against moto."""
from __future__ import annotations

import base64
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException


def wsgi_app(chalice_app: Any) -> Callable[..., Iterable[bytes]]:
    gateway = LocalGateway(chalice_app, Config.create(chalice_stage="dev", app_name=chalice_app.app_name))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # The raw URI keeps path parameters percent-encoded, as API Gateway receives them.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path = urlsplit(raw).path or "/"
        query = environ.get("QUERY_STRING", "")
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            response = gateway.handle_request(method=environ["REQUEST_METHOD"], path=path + (f"?{query}" if query else ""),
                                              headers=headers, body=body)
            status, out = response["statusCode"], response.get("body") or b""
            if isinstance(out, str):
                out = base64.b64decode(out) if response.get("isBase64Encoded") else out.encode("utf-8")
            header_list = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
            header_list += [(k, str(v)) for k, values in (response.get("multiValueHeaders") or {}).items() for v in values]
        except LocalGatewayException as exc:
            status, out, header_list = exc.CODE, exc.body or b"", [(k, str(v)) for k, v in exc.headers.items()]
        if out and not any(k.lower() == "content-type" for k, _ in header_list):
            # As API Gateway and chalice's local server do for a Lambda answer without one.
            header_list.append(("Content-Type", "application/json"))
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", header_list)
        return [out]

    return application
