"""The Stripe sandbox (infra/stripe-sandbox) as a real subprocess for tests, and a
loopback webhook receiver. Tests reach the sandbox through the real `stripe` SDK;
only the test-only control API (/_sandbox/) is called over plain HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import stripe

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = ROOT / "infra" / "stripe-sandbox"
SECRET = "whsec_test-sandbox"
API_KEY = "sk_test_sandbox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    def __init__(
        self,
        state_file: Path,
        webhook_url: str | None = None,
        *args: str,
        port: int | None = None,
        secret: str = SECRET,
    ) -> None:
        self.state_file, self.webhook_url, self.args = state_file, webhook_url, args
        self.secret = secret
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state_file.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sandbox:
        command = [
            sys.executable,
            "-m",
            "stripe_sandbox",
            "--port",
            str(self.port),
            "--state-file",
            str(self.state_file),
            "--webhook-secret",
            self.secret,
            "--payout-after",
            "0.2",
            *self.args,
        ]
        if self.webhook_url:
            command += ["--webhook-url", self.webhook_url]
        env = dict(os.environ, PYTHONPATH=str(SANDBOX), PYTHONUNBUFFERED="1")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited: {self.log.read_text()[-2000:]}")
            try:
                if self.control("GET", "/_sandbox/health").get("ok"):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def client(self, retries: int = 0) -> stripe.StripeClient:
        return stripe.StripeClient(
            API_KEY,
            base_addresses={"api": self.url, "connect": self.url, "files": self.url},
            max_network_retries=retries,
        )

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise AssertionError(
                f"control {method} {path}: {error.code} {error.read()!r}"
            ) from None

    def onboard(self, account_id: str) -> Any:
        return self.control(
            "POST", f"/_sandbox/accounts/{account_id}/complete_onboarding", {}
        )


@contextmanager
def running_sandbox(
    state_file: Path, webhook_url: str | None = None, *args: str, secret: str = SECRET
) -> Iterator[Sandbox]:
    sandbox = Sandbox(state_file, webhook_url, *args, secret=secret).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


class Receiver:
    """A webhook endpoint on loopback that keeps what it receives, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[float, bytes, str]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append(
                    (time.monotonic(), body, self.headers.get("Stripe-Signature", ""))
                )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, secret: str = SECRET) -> list[Any]:
        """Every delivery, verified as the gateway verifies it."""
        return [
            stripe.Webhook.construct_event(body.decode(), signature, secret)
            for _, body, signature in list(self.received)
        ]

    def wait_for(
        self, check: Callable[[list[Any]], Any], what: str, timeout: float = 15.0
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check(self.events())
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no webhook {what} within {timeout} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
