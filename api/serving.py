"""Running the app under uvicorn for ``hns-emulator serve``: logging and the banner.

- The ``hns_emulator`` logger (api/detail.py: one WARNING line per refused call) writes
  to stderr at ``--log-level``, formatted as uvicorn's own lines.
- ``--access-log`` turns uvicorn's access log on at INFO whatever ``--log-level`` says
  (uvicorn would otherwise hide it below ``info``).
- Once the socket is bound, one line on stdout says where everything is:
  ``hns-emulator 0.1.0 listening on http://127.0.0.1:5588 (state ./hns-state.sqlite,
  profile ws2025); web view http://127.0.0.1:5588/ui/, API docs http://.../docs``.
  It names the port the kernel chose when ``--port 0`` was given.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from typing import Any, Final

import uvicorn

from api import collector
from api.detail import LOGGER
from api.limits import DEFAULT_READ_TIMEOUT
from api.stalls import StallMonitor, start_from_env
from api.tooling import version
from api.transport import uvicorn_options

__all__ = ["SWITCH_INTERVAL", "banner", "serve_app"]

#: The GIL switch interval of a server (seconds).  Every time the loop comes back from
#: select() or a socket call it waits for a busy call thread to drop the GIL, up to this
#: long, and one request needs several such returns.  With two threads creating LBs
#: (600, in process), the loop's 2 ms heartbeat was late by a median of 1.8-2.0 ms at
#: 1 ms and 0.6-1.4 ms at 0.2 ms, for the same CPU per LB (1.5-1.7 ms either way).
SWITCH_INTERVAL: Final = 0.0002


def banner(url: str, state: str, profile: str) -> str:
    """The one line ``serve`` prints once it listens."""
    return (
        f"hns-emulator {version()} listening on {url} (state {state}, profile {profile}); "
        f"web view {url}/ui/, API docs {url}/docs"
    )


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that prints the banner once its sockets are bound."""

    def __init__(self, config: uvicorn.Config, state: str, profile: str) -> None:
        super().__init__(config)
        self._state = state
        self._profile = profile
        self._stalls: StallMonitor | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        # opt-in: HNS_EMULATOR_DEBUG_STALLS=PATH logs every event-loop stall (api/stalls.py)
        self._stalls = start_from_env(asyncio.get_running_loop())
        port = self.config.port
        for server in getattr(self, "servers", []):
            for sock in server.sockets or ():
                port = int(sock.getsockname()[1])
                break
        sys.stdout.write(banner(_url(self.config.host, port), self._state, self._profile) + "\n")
        sys.stdout.flush()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._stalls is not None:
            self._stalls.stop()  # the summary line
        await super().shutdown(sockets)


def _configure_logging(level: str) -> None:
    LOGGER.setLevel(level.upper())
    if not any(getattr(h, "_hns_emulator", False) for h in LOGGER.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
        handler._hns_emulator = True  # type: ignore[attr-defined]
        LOGGER.addHandler(handler)
    LOGGER.propagate = False


def serve_app(app: Any, ns: argparse.Namespace, profile: str) -> None:
    """Serve ``app`` on ``ns.host``:``ns.port`` until stopped."""
    config = uvicorn.Config(
        app,
        host=ns.host,
        port=ns.port,
        log_level=ns.log_level,
        access_log=bool(ns.access_log),
        **uvicorn_options(getattr(ns, "read_timeout", DEFAULT_READ_TIMEOUT)),
    )
    _configure_logging(ns.log_level)
    if ns.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    # The event loop shares the GIL with the call threads: a short switch interval (5 ms by
    # default) lets health checks in between a long compile's bytecodes promptly. Set here,
    # where the process becomes a server, not as a side effect of reading options.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # A full collection walks only what was promoted since the last one (api/collector.py).
    collector.install()
    _Server(config, str(ns.state), profile).run()
