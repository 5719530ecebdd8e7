"""Helpers for the api tests: a real ``hns-emulator serve`` child process.

``ServerProcess.start`` runs ``python -m api.cli serve`` (the same code path as the
``hns-emulator`` console script) on a loopback port it picks itself and returns once its
banner says it listens; ``stop`` ends it. ``ThreadedServer`` serves an app built in the
test process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from loopback import served_url

ROOT = Path(__file__).resolve().parents[2]


def console_script(name: str) -> str | None:
    """The console script ``name`` installed with this interpreter (beside sys.executable,
    where pip puts it), or None. Not a PATH lookup: PATH may name another installation's
    script, or none, whatever interpreter runs the tests."""
    script = Path(sys.executable).parent / name
    return str(script) if script.is_file() and os.access(script, os.X_OK) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """One ``hns-emulator serve`` child process.

    It serves on ``--port 0`` and the port is read from its banner (tests/loopback.py):
    a port picked here and bound seconds later by a child slow to start on a loaded
    machine could meanwhile belong to another test's server, and a health check would
    answer for that one. Its stderr goes to a file, not a pipe nobody reads, so a chatty
    server (one WARNING line per refused call) never blocks on a full pipe.
    """

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = {**os.environ, **self.env}
        cmd = [sys.executable, "-m", "api.cli", "serve", "--port", "0", *self.args]
        self._log = tempfile.TemporaryFile(prefix="hns-serve-")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log,
        )
        try:
            url = served_url(self.proc)
        except RuntimeError as exc:
            self._log.seek(0)
            log = self._log.read().decode(errors="replace")
            self.stop()
            raise RuntimeError(f"{exc}{log}") from None
        self.port = int(url.rsplit(":", 1)[1])
        # Whatever it prints after the banner is read away, so stdout never fills up.
        assert self.proc.stdout is not None
        self._drain = threading.Thread(target=self.proc.stdout.read, daemon=True)
        self._drain.start()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._drain is not None:
            self._drain.join(timeout=10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()


class ThreadedServer:
    """A real uvicorn server for an app built in the test process (so the test can shape
    the switch behind it), in a daemon thread.

    The listening socket is bound here (port 0) and handed to uvicorn: no window in which
    another process could take a port picked ahead, and a client may connect as soon as
    ``start`` returns (the kernel queues it until uvicorn accepts), so nothing waits on a
    wall-clock deadline for the thread to come up.
    """

    def __init__(self, app: object) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
