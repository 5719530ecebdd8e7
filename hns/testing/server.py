"""EmulatorServer: one live ``hns-emulator serve`` in a child process, for tests.

The child runs ``python -m api.cli serve`` (the code path of the ``hns-emulator`` console
script) on a free loopback port, with its state in an SQLite file (or ``:memory:``).  The
parent only speaks HTTP to it (httpx), so this module imports nothing from ``api``.

    server = EmulatorServer(state=tmp / "hns.sqlite").start()
    server.url          # http://127.0.0.1:<port>
    server.reset()      # POST /_emulator/reset
    server.restart()    # kill the process, start a new one on the same port and file
    server.stop()

``EmulatorServer.external(url, token=...)`` wraps a server someone else runs (the plugin's
``--hns-url``): the same HTTP helpers work, ``start``/``stop`` do nothing and ``restart``
refuses.

Start-up: the child serves on ``--port 0`` (unless the caller fixed the port), so the
kernel picks a free port inside the child and nothing can take it in between; the banner
``serve`` prints on stdout once *it* holds the socket (api/serving.py) names the port and
is the readiness signal. ``start`` returns on the banner and raises ServerStartError when
the child exits first; it does not race a wall clock (a loaded CI runner may take many
seconds to import the app), unless the caller passes a ``timeout``.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import httpx

__all__ = ["EmulatorServer", "ServerStartError", "free_port"]

_BANNER: Final[re.Pattern[str]] = re.compile(r"listening on http://\S+:(\d+) ")
_PR_SET_PDEATHSIG: Final[int] = 1
_LIVE: weakref.WeakSet[EmulatorServer] = weakref.WeakSet()


class ServerStartError(RuntimeError):
    """The child process exited before it listened (or, given a ``timeout``, did not
    listen in time)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmulatorServer:
    """A ``hns-emulator serve`` child process (or, via :meth:`external`, someone else's).

    Keyword-only options: ``state`` (SQLite path or ``":memory:"``), ``profile``
    (``ws2019``/``ws2022``/``ws2025``; None = the server's default), ``token`` (bearer
    token the server requires), ``port`` (None = a free one), ``extra_args`` (more
    ``serve`` arguments), ``env`` (extra environment for the child).
    """

    def __init__(
        self,
        *,
        state: str | os.PathLike[str] = ":memory:",
        profile: str | None = None,
        token: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.state = os.fspath(state)
        self.profile = profile
        self.token = token
        self.host = host
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self._fixed_port = port is not None
        # Until the child's banner names the port it holds (see _spawn).
        self.port = port if port is not None else free_port(host)
        self._external_url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None
        self._log: Any = None
        self._http: httpx.Client | None = None
        #: The profile the server answered with when it was first started (the one the
        #: plugin goes back to after a test marked with another).
        self.initial_profile: str | None = None

    # -- construction ----------------------------------------------------------------

    @classmethod
    def external(cls, url: str, *, token: str | None = None) -> EmulatorServer:
        """A handle on a server this process did not start (``--hns-url``)."""
        server = cls(token=token, port=0)
        server._external_url = url.rstrip("/")
        return server

    @property
    def is_external(self) -> bool:
        return self._external_url is not None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash)."""
        if self._external_url is not None:
            return self._external_url
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None for an external server)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float | None = None) -> EmulatorServer:
        """Start the child and return once it listens (its banner); ServerStartError if it
        exits first, or if ``timeout`` seconds pass first when a timeout is given."""
        if self.is_external:
            self.health()
        elif self.pid is None:
            self._spawn(timeout)
            _LIVE.add(self)
        if self.initial_profile is None:
            self.initial_profile = self.get_profile()
        return self

    def _spawn(self, timeout: float | None) -> None:
        # --port 0 unless fixed: the kernel's pick happens in the child, which holds it from
        # then on; a port picked here could be another process's by the time a slow child
        # binds it. The banner is printed only once the socket is bound, so a server some
        # other process runs on a fixed port is never mistaken for ours.
        port = self.port if self._fixed_port else 0
        cmd = [sys.executable, "-m", "api.cli", "serve", "--host", self.host,
               "--port", str(port), "--state", self.state, *self.extra_args]
        if self.profile:
            cmd += ["--profile", self.profile]
        env = {**os.environ, **self.env}
        env.pop("HNS_EMULATOR_TOKEN", None)
        if self.token:
            cmd += ["--token", self.token]
        # Closed in _kill(); a file, not a pipe, so a chatty child never blocks on it.
        self._log = tempfile.TemporaryFile(prefix="hns-emulator-", suffix=".log")  # noqa: SIM115
        self._proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=self._log,
                                      preexec_fn=_die_with_parent())
        listening: list[int] = []
        before: list[str] = []
        done = threading.Event()
        assert self._proc.stdout is not None
        self._drain = threading.Thread(target=_watch_stdout,
                                       args=(self._proc.stdout, listening, before, done),
                                       name=f"hns-emulator-{self._proc.pid}-stdout",
                                       daemon=True)
        self._drain.start()
        if not done.wait(timeout):
            self._kill()
            raise ServerStartError(
                f"hns-emulator serve did not listen in {timeout} s: {self.log()}")
        if not listening:
            # stdout closed without a banner: the child is ending (a taken fixed port, a
            # bad argument); its exit status and stderr say why.
            returncode = self._proc.wait()
            message = f"hns-emulator serve exited with {returncode}: {''.join(before)}{self.log()}"
            self._kill()
            raise ServerStartError(message)
        self.port = listening[0]

    def log(self, *, tail: bool = True) -> str:
        """What the child wrote to stdout/stderr so far (the last 4,000 characters when
        ``tail``; for failure messages)."""
        if self._log is None or self._log.closed:
            return ""
        self._log.seek(0)
        data: bytes = self._log.read()
        self._log.seek(0, os.SEEK_END)
        text = data.decode("utf-8", "replace")
        return text[-4000:] if tail else text

    def _kill(self) -> None:
        if self._http is not None:  # its pooled connections belong to the old process
            self._http.close()
            self._http = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        drain, self._drain = self._drain, None
        if drain is not None:  # the child is gone, so its stdout is at EOF
            drain.join()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """End the child (SIGTERM, then SIGKILL after 10 s); no-op when external."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if not self.is_external:
            self._kill()
        _LIVE.discard(self)

    def restart(self, timeout: float | None = None) -> EmulatorServer:
        """An emulator restart: the process ends and a new one opens the same state file
        on the same port (what a Windows HNS service restart looks like to clients)."""
        if self.is_external:
            raise RuntimeError("cannot restart a server this process did not start")
        if self.state == ":memory:":
            raise RuntimeError("restart needs a state file; this server runs on :memory:")
        self._kill()
        fixed, self._fixed_port = self._fixed_port, True
        try:
            self._spawn(timeout)
        finally:
            self._fixed_port = fixed
        return self

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- HTTP helpers (no api.client needed) -----------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=30.0)
        return self._http

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One raw HTTP request to the server (``body`` is sent as JSON when given)."""
        response = self._client().request(method, path, json=body)
        return response

    def _expect(self, response: httpx.Response, what: str) -> None:
        if response.is_error:
            raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:200]}")

    def health(self) -> dict[str, Any]:
        response = self.request("GET", "/_emulator/health")
        self._expect(response, "health")
        health: dict[str, Any] = response.json()
        return health

    def reset(self) -> None:
        """Empty the emulator (``POST /_emulator/reset``): objects and pending faults."""
        self._expect(self.request("POST", "/_emulator/reset"), "reset")

    def reboot(self) -> None:
        """An emulated host reboot (``POST /_emulator/reboot``)."""
        self._expect(self.request("POST", "/_emulator/reboot"), "reboot")

    def set_profile(self, name: str) -> None:
        """``PUT /_emulator/profile``: the host profile the server answers as."""
        self._expect(self.request("PUT", "/_emulator/profile", {"Profile": name}), "profile")

    def get_profile(self) -> str:
        response = self.request("GET", "/_emulator/profile")
        self._expect(response, "profile")
        return str(response.json()["Profile"])

    def dump(self) -> dict[str, Any]:
        response = self.request("GET", "/_emulator/state")
        self._expect(response, "state")
        state: dict[str, Any] = response.json()
        return state


def _watch_stdout(stdout: IO[bytes], listening: list[int], before: list[str],
                  done: threading.Event) -> None:
    """Read the child's stdout until the banner (its port goes into ``listening``) or EOF,
    then set ``done``; whatever follows is read away so the pipe never fills."""
    try:
        for raw in stdout:
            line = raw.decode("utf-8", "replace")
            match = _BANNER.search(line)
            if match is not None:
                listening.append(int(match.group(1)))
                break
            before.append(line)
    finally:
        done.set()
    stdout.read()


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to SIGTERM the child when this process
    dies, so a test run killed hard (timeout, ^C twice) leaves no server behind; atexit
    covers the orderly exits everywhere else."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(_stop_all)


def state_file(directory: str | os.PathLike[str], name: str = "hns.sqlite") -> Path:
    """A state file path inside ``directory`` (created if missing)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path / name
