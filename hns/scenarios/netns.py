"""A small Linux network-namespace helper for the mixed Linux + Windows scenario.

It builds the Linux side of a flannel-style VXLAN overlay out of real kernel devices (ip
netns, veth, vxlan, bridge), and opens sockets inside a namespace without moving the whole
process: `open_in(ns, factory)` runs `factory` on a short-lived thread that has joined the
namespace with setns(2), so the socket it makes stays bound there while the rest of the
process keeps its own namespace.

`available()` says why the scenario cannot run here (not root, no `ip`, namespaces or the
vxlan driver refused), or returns None.  `Namespaces` removes everything it made on
`close()` (deleting a namespace deletes its devices).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Namespaces", "available", "open_in"]

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
_RUNS = itertools.count(1)  # several runs in one process get distinct namespace names
NETNS_DIR = "/var/run/netns"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def available() -> str | None:
    """None when namespaces, veth and vxlan devices can be made here; else the reason."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "not a Linux host"
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "ping"):
        if shutil.which(tool) is None:
            return f"the {tool!r} command is missing (iproute2 / iputils-ping)"
    probe = f"hnsprobe{os.getpid()}"
    try:
        made = _ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"ip netns add refused: {made.stderr.strip()}"
        link = _ip("-n", probe, "link", "add", "vxprobe", "type", "vxlan", "id", "4096",
                   "dstport", "4789", check=False)
        if link.returncode != 0:
            return f"the kernel refused a vxlan device: {link.stderr.strip()}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run ip: {exc}"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def open_in(ns: str, factory: Callable[[], T]) -> T:
    """Call `factory` inside network namespace `ns` (on a thread that joined it) and return
    what it made: sockets keep the namespace they were created in."""
    libc = ctypes.CDLL(None, use_errno=True)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(os.path.join(NETNS_DIR, ns), os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({ns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = factory()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


class Namespaces:
    """The namespaces one run made (names carry a per-process tag so runs never clash)."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or f"{os.getpid() % 100000}x{next(_RUNS)}"
        self.made: list[str] = []

    def name(self, role: str) -> str:
        return f"hns{role}{self.tag}"

    def add(self, role: str) -> str:
        ns = self.name(role)
        _ip("netns", "del", ns, check=False)
        _ip("netns", "add", ns)
        self.made.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def ip(self, ns: str, *args: str) -> None:
        _ip("-n", ns, *args)

    def sysctl(self, ns: str, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        proc = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", f"echo {value} > {path}"],
                              capture_output=True, text=True, timeout=20)
        if proc.returncode != 0:
            raise OSError(f"sysctl {key} in {ns}: {proc.stderr.strip()}")

    def exec(self, ns: str, *argv: str) -> subprocess.Popen[str]:
        """Start a command inside `ns` (stdout and stderr captured together)."""
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def close(self) -> None:
        while self.made:
            _ip("netns", "del", self.made.pop(), check=False)
