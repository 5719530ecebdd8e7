"""Loopback ports for tests that run beside other tests (``pytest -n 2``, CI's load).

A port number from ``free_port()`` was free a moment ago; every server the other worker
starts draws from the same ephemeral range, so a test that keeps the number around (or
hands it to a child that binds it seconds later on a loaded machine) can find someone
else's server there. The two helpers here take no such chance:

- :func:`dead_url` holds the port with a bound socket that never listens: no other socket
  can bind it, the kernel never picks it as a connection's source port, and a connect to
  it is refused at once, for as long as the ``with`` block lasts.
- :func:`served_url` reads the URL from the banner ``hns-emulator serve --port 0`` prints
  once *it* holds the socket (api/serving.py): the kernel picks the port inside the child,
  and the banner is the readiness signal, so no health polling against a wall clock.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["dead_url", "served_url"]

_BANNER = re.compile(r"listening on (http://\S+) ")


@contextmanager
def dead_url() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` where nothing listens until the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"


def served_url(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> str:
    """The URL of a ``serve --port 0`` child, once its banner says it listens.

    ``proc.stdout`` must be a pipe. Blocks until the banner or the child's end (the
    banner is the child's first stdout line); pytest-timeout bounds a child that hangs.
    Raises RuntimeError, with the child's stderr when it was piped, if it ended first.
    """
    stdout: IO[bytes] | IO[str] | None = proc.stdout
    assert stdout is not None, "start the server with stdout=subprocess.PIPE"
    raw = stdout.readline()
    line = raw.decode() if isinstance(raw, bytes) else raw
    match = _BANNER.search(line)
    if match is None:
        proc.wait()
        err = proc.stderr.read() if proc.stderr is not None else ""
        text = err.decode(errors="replace") if isinstance(err, bytes) else err
        raise RuntimeError(f"serve exited with {proc.returncode} before listening: "
                           f"{line!r} {text}")
    return match.group(1)
