"""The local stack, started exactly as `make run` starts it, shared by the end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="package")
def stack():
    ports = {"PORT": free_port(), "MOTO_PORT": free_port(), "OUTBOX_PORT": free_port(), "FORM_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "SWEEP_EVERY": "0"}
    for name in [k for k in env if k.startswith("AWS_") or k == "TABLE_PREFIX"]:
        del env[name]  # the stack sets its own, as on a fresh machine
    process = subprocess.Popen([sys.executable, "-m", "infra.local_stack"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    banner = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("the stack exited while starting:\n" + "".join(banner))
        banner.append(line)
        if line.strip() == "READY":
            break
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the stack did not print READY within 90s:\n" + "".join(banner))
    yield {"api": f"http://127.0.0.1:{ports['PORT']}", "outbox": f"http://127.0.0.1:{ports['OUTBOX_PORT']}",
           "moto_port": str(ports["MOTO_PORT"]), "form": f"http://127.0.0.1:{ports['FORM_PORT']}",
           "banner": "".join(banner)}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


