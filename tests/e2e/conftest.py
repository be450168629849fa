"""The local stack, started exactly as `make run` starts it, shared by the end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
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


def sent(outbox: str, wanted=lambda m: True, *, at_least: int = 1, seconds: float = 15.0) -> list[dict]:
    """The emails SES was asked to send that `wanted` picks, once at least `at_least` are there.
    Letters go out from the letters table's stream a moment after the request that stored them, as
    in AWS, so a test reads the outbox as a person would: until the email has arrived."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        with urllib.request.urlopen(f"{outbox}/messages.json", timeout=10) as response:
            found = [m for m in json.load(response) if wanted(m)]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


STARTED: list["Stack"] = []  # every stack a test starts, so none outlives a failing test


@pytest.fixture(autouse=True)
def no_stack_outlives_its_test():
    """A test that fails half-way must not leave a stack running (its children stop with it)."""
    already = list(STARTED)
    yield
    for leftover in [s for s in STARTED if s not in already]:
        if leftover.process.poll() is None and not getattr(leftover, "shared", False):
            leftover.kill()


class Stack:
    """One `python -m infra.local_stack`, as `make run` starts it, on free ports and its own data folder."""

    def __init__(self, data_dir: Path, **env_extra: str):
        self.data_dir = data_dir
        self.ports = {"PORT": free_port(), "MOTO_PORT": free_port(), "OUTBOX_PORT": free_port(),
                      "FORM_PORT": free_port(), "DYNAMODB_PORT": free_port()}
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "SWEEP_EVERY": "0",
               "LOCAL_DATA_DIR": str(data_dir), "RESET": ""}
        for name in [k for k in env if k.startswith("AWS_") or k == "TABLE_PREFIX"]:
            del env[name]  # the stack sets its own, as on a fresh machine
        env.update(env_extra)
        self.started = time.monotonic()
        STARTED.append(self)
        self.process = subprocess.Popen([sys.executable, "-m", "infra.local_stack"], cwd=REPO, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.output: list[str] = []
        self.api = f"http://127.0.0.1:{self.ports['PORT']}"
        self.outbox = f"http://127.0.0.1:{self.ports['OUTBOX_PORT']}"
        self.form = f"http://127.0.0.1:{self.ports['FORM_PORT']}"
        self.dynamodb = f"http://127.0.0.1:{self.ports['DYNAMODB_PORT']}"

    def wait_ready(self, seconds: float = 90) -> float:
        """Read the banner up to READY; the seconds it took."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                pytest.fail("the stack exited while starting:\n" + "".join(self.output))
            self.output.append(line)
            if line.strip() == "READY":
                # Keep reading in the background: a full pipe would block the stack's logging.
                threading.Thread(target=self._drain, daemon=True).start()
                return time.monotonic() - self.started
        self.kill()
        pytest.fail(f"the stack did not print READY within {seconds:.0f}s:\n" + "".join(self.output))

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self, seconds: float = 30) -> int:
        """SIGTERM, as Ctrl+C would; its exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("local-data"))
    running.shared = True  # the package's stack: stopped by this fixture, not after the first test
    running.wait_ready()
    yield {"api": running.api, "outbox": running.outbox, "moto_port": str(running.ports["MOTO_PORT"]),
           "dynamodb_port": str(running.ports["DYNAMODB_PORT"]), "form": running.form,
           "banner": "".join(running.output), "process": running.process, "data_dir": running.data_dir,
           "output": running.output}
    running.stop()


# ---------------------------------------------------------------- the browser (tests/e2e/browsing.py)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from .browsing import CHROMIUM

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed here; .ci/run installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()
