"""The real app in a subprocess for browser tests: SQLite and blobs in a temp dir, a free port.

``LiveServer.start()`` runs ``flask run`` (threaded, no reloader) with SPOTCHECK_* pointing at the
temp dir and waits for /healthz; ``kill()`` sends SIGKILL (no clean shutdown: the test of a server
dying mid-upload), ``start()`` again brings it back on the same port with the same data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, var_dir: Path, pwa_dir: Path) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "server.log"
        self.env = {
            **os.environ,
            "SPOTCHECK_DATABASE_URL": f"sqlite:///{var_dir / 'e2e.db'}",
            "SPOTCHECK_VAR_DIR": str(var_dir),
            "SPOTCHECK_PWA_DIR": str(pwa_dir),
            "SPOTCHECK_SECRET_KEY": "e2e-secret-not-for-production",
            "FLASK_APP": "server",
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("FLASK_DEBUG", None)

    def seed(self, *options: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "tests.e2e.seed", *options],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(self.port)]
            self.proc = subprocess.Popen(
                [*command, "--no-reload", "--no-debugger", "--with-threads"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:  # noqa: S310 (loopback)
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up in 30 s")

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, as on a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
