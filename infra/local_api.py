"""The API on this machine: `chalice local`, with the changes that `make run` needs.

- Its request log names the method, the route and the status only. The stock handler prints
  each request line, which carries partner-link tokens (/partner/<token>) and query strings.
- A request whose declared body is larger than API Gateway accepts (10 MB) is refused with 413
  before it is read into memory, as API Gateway does; a Content-Length that is not a number is a 400.
- An error inside the server is logged by its type only (socketserver prints the whole traceback,
  whose message can carry what a person typed).
- At most API_THREADS requests (8) are served at once; the rest wait in a listen queue of 256, as
  a Lambda function's concurrency limit would. Stock chalice local starts a thread per request
  and keeps a queue of 5: in a burst the kernel resets connections, unbounded threads thrash two
  cores, and DynamoDB Local fails transactions ("Failed to write transaction items").
- The app's wiring, AWS clients and secret are built before the first request: otherwise every
  thread of a burst arriving at a cold API builds them at once (GBs of memory for 100 requests).
  One Lambda container serves one request at a time, so AWS never sees that.
- With --parent PID, Linux stops this process when its parent (`make run`) dies, even by SIGKILL.

    python -m infra.local_api --host 127.0.0.1 --port 8000 --stage local [--parent PID]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_SECRET_SEGMENTS = re.compile(r"^/partner/[^/?]+")


def redact(path: str) -> str:
    """A path as it may be logged: no query string, no partner-link token."""
    path = path.split("?", 1)[0]
    return _SECRET_SEGMENTS.sub("/partner/{token}", path)


def log_line(**fields: object) -> None:
    sys.stderr.write(json.dumps({"logger": "local_api", **fields}) + "\n")
    sys.stderr.flush()


def handler_class():
    from chalice.local import ChaliceRequestHandler

    class QuietHandler(ChaliceRequestHandler):
        def log_request(self, code: object = "-", size: object = "-") -> None:
            # A request refused while its first line is read has no command or path yet.
            log_line(method=getattr(self, "command", None), path=redact(getattr(self, "path", None) or ""),
                     status_code=getattr(code, "value", code))

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            log_line(event=format.split(":")[0].strip('"% ')[:60])  # never the arguments: they hold the request line

        def _refuse(self, status: int, title: str, message: str, field: str = "body") -> None:
            body = json.dumps({"type": "about:blank", "title": title, "status": status,
                               "errors": [{"field": field, "message": message}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own refusals (a malformed request line, headers too long, a method such as
            TRACE that no route has) in the problem shape, not an HTML page; an unknown method is a
            405, as API Gateway answers it, not a 501."""
            if code == 501:
                return self._refuse(405, "Method not allowed", f"No route accepts the method {(self.command or '')[:16]!r}",
                                    field="method")
            return self._refuse(code, (message or "The request could not be read")[:80],
                                "The request could not be read", field="request")

        def _generic_handle(self) -> None:
            declared = self.headers.get("content-length", "0").strip() or "0"
            if not (declared.isascii() and declared.isdigit()):
                return self._refuse(400, "The Content-Length header is not valid", "Content-Length must be a number")
            if int(declared) > MAX_REQUEST_BYTES:
                return self._refuse(413, "The request is too large", "Requests must be smaller than 10 MB")
            return super()._generic_handle()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    return QuietHandler


def server_class(threads: int):
    from concurrent.futures import ThreadPoolExecutor

    from chalice.local import ThreadedHTTPServer

    workers = ThreadPoolExecutor(threads, thread_name_prefix="request")

    class BoundedServer(ThreadedHTTPServer):
        request_queue_size = 256

        def process_request(self, request: object, client_address: object) -> None:
            workers.submit(self.process_request_thread, request, client_address)

        def handle_error(self, request: object, client_address: object) -> None:
            log_line(event="request_failed", error_type=type(sys.exc_info()[1]).__name__)

    return BoundedServer


def stop_with_parent(parent: int) -> None:
    """Ask Linux to SIGTERM this process when its parent dies; exit now if it already has."""
    import ctypes
    import signal

    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            raise SystemExit(1)


def warm_up() -> None:
    """Build what the first request would: the wiring, every table's client, SES, the link secret."""
    import inspect

    import boto3

    from chalicelib import wiring
    from chalicelib.adapters.secrets import link_secret
    from chalicelib.adapters.tables import ALL_TABLES

    try:
        for model in ALL_TABLES:
            model._get_connection().connection.client  # noqa: B018, SLF001 - creates the client
        boto3.client("ses")
        link_secret()
        for made in list(vars(wiring).values()):
            if hasattr(made, "cache_info") and not inspect.signature(made).parameters:
                made()
    except Exception as exc:  # noqa: BLE001 - the API still starts; a burst is just slower
        log_line(event="warm_up_skipped", error_type=type(exc).__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--parent", type=int, help="stop when this process (make run) dies")
    parser.add_argument("--no-warm-up", action="store_true")
    args = parser.parse_args(argv)
    if args.parent:
        stop_with_parent(args.parent)

    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    from chalice import local
    from chalice.cli.factory import CLIFactory

    started = time.monotonic()
    config = CLIFactory(project_dir=str(REPO), environ=os.environ).create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    # As chalice.local.create_local_server does, with our handler and server classes.
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice
    if not args.no_warm_up:
        warm_up()
    threads = int(os.environ.get("API_THREADS") or 8)
    server = local.LocalDevServer(app, config, args.host, args.port, handler_cls=handler_class(),
                                  server_cls=server_class(threads))
    log_line(event="serving", url=f"http://{args.host}:{args.port}", threads=threads,
             ms=round((time.monotonic() - started) * 1000))
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
