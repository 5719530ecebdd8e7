"""``vfpctrl``: the Windows VFP control tool, against a running emulator over HTTP.

::

    vfpctrl [--url URL] /list-vmswitch-port
    vfpctrl [--url URL] /port <id|name> /list-layer | /list-rule | /get-port-counter | ...
    vfpctrl [--url URL] /port <id> /process-tuples "6 10.0.0.4 1234 8.8.8.8 443 out 1"

Every argument except ``--url`` goes unchanged to ``POST /vfp/vfpctrl``, where
``vfp.ctl.run`` renders it against the host's switch; this command prints the text it
answers exactly (CRLF line ends, ``ERROR: ...`` first line on failure) and exits with its
exit code (0 done, 1 refused). The server comes from ``--url`` or ``HNS_EMULATOR_URL``,
the token from ``HNS_EMULATOR_TOKEN`` (as for ``hnsdiag``). An unreachable server or a
refused request is one line on stderr and exit status 1.

Handled here, without a server: ``/?``, ``/h``, ``/help``, ``-h`` and ``--help`` print the
usage (the text ``vfp.ctl`` renders); ``--version`` the version. Any other ``-``/``--``
flag is a usage error: one line naming it, exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import httpx

from api.client import HnsClient
from api.tooling import version_line
from hns.errors import HnsError
from vfp.ctl import USAGE

__all__ = ["main", "split_url"]


def split_url(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """(``--url`` value, the vfpctrl arguments); ``--url X`` and ``--url=X`` both work."""
    url: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--url" and i + 1 < len(args):
            url = args[i + 1]
            i += 2
            continue
        if arg.startswith("--url="):
            url = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return url, rest


_HELP = frozenset({"/?", "/h", "/help", "-?", "-h", "--help"})


def _local(args: Sequence[str], out: TextIO, err: TextIO) -> int | None:
    """The exit status of what needs no server (help, version, a bad flag); else None."""
    if any(arg.lower() in _HELP for arg in args):
        out.write(USAGE)
        return 0
    if "--version" in args:
        out.write(version_line("vfpctrl") + "\n")
        return 0
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not arg[1:2].isdigit():
            err.write(f"vfpctrl: error: unknown option {arg!r}: options start with '/' "
                      "(see vfpctrl /?)\n")
            return 2
    return None


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of the ``vfpctrl`` console script; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    url, args = split_url(list(sys.argv[1:] if argv is None else argv))
    local = _local(args, out, err)
    if local is not None:
        return local
    client = HnsClient(url)
    try:
        answer = client.request("POST", "/vfp/vfpctrl", {"Args": args})
    except httpx.TransportError as exc:
        cause = type(exc.__cause__ or exc).__name__
        err.write(f"vfpctrl: cannot reach the HNS emulator at {client.url}: {cause}\n")
        return 1
    except HnsError as exc:
        err.write(f"vfpctrl: {exc.message} (0x{exc.hresult & 0xFFFFFFFF:08x})\n")
        return 1
    finally:
        client.close()
    if not isinstance(answer, dict) or not isinstance(answer.get("Output"), str):
        err.write(f"vfpctrl: {client.url} did not answer as an HNS emulator\n")
        return 1
    out.write(answer["Output"])
    out.flush()
    code = answer.get("ExitCode", 1)
    return code if isinstance(code, int) else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
