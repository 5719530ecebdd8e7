"""``hns-emulator``: serve the emulator over HTTP, or load a state file into it.

::

    hns-emulator serve [--host 127.0.0.1] [--port 5588] [--state PATH|:memory:]
                       [--profile NAME] [--token T]
    hns-emulator load FILE [--state PATH | --url URL] [--profile NAME]

``serve`` binds loopback by default. Binding any other address needs a token (``--token``
or ``HNS_EMULATOR_TOKEN``); with a token, every request must carry
``Authorization: Bearer <token>``.

``load`` reads FILE and decides what it is: a state dump (the JSON ``GET /_emulator/state``
answers) replaces the whole state; anything else is handed to the backend's capture
importer (a V1 envelope, ``Get-HnsNetwork | ConvertTo-Json`` output, ...), which adds the
objects it holds. Without ``--url`` it writes into the ``--state`` file directly (the
server must not be running on that file); with ``--url`` it goes through the running
server.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

import httpx

from hns.errors import HnsError

if TYPE_CHECKING:
    from hns.service import HnsService

__all__ = ["DEFAULT_PORT", "DEFAULT_STATE", "main"]

DEFAULT_HOST: Final[str] = "127.0.0.1"
DEFAULT_PORT: Final[int] = 5588
DEFAULT_STATE: Final[str] = "./hns-state.sqlite"


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (``localhost``, 127/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _describe(exc: HnsError) -> str:
    """One line for a refused operation: the Windows message, its code and the reason."""
    text = f"{exc.message} (0x{exc.hresult & 0xFFFFFFFF:08x})"
    return f"{text}: {exc.detail}" if exc.detail else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hns-emulator",
        description="Emulator of the Windows Host Networking Service (HNS V1 and HCN V2).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HNS V1 and HCN V2 APIs over HTTP")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--state", default=DEFAULT_STATE, help="SQLite state file, or :memory: for none"
    )
    serve.add_argument("--profile", default=None, help="host profile: ws2019, ws2022, ws2025")
    serve.add_argument("--token", default=None, help="bearer token every request must carry")
    serve.add_argument("--log-level", default="warning")

    load = sub.add_parser("load", help="load a state dump or a real-host capture")
    load.add_argument("file", help="JSON state dump or captured HNS output ('-' for stdin)")
    load.add_argument("--state", default=DEFAULT_STATE, help="state file to write into")
    load.add_argument("--url", default=None, help="a running emulator to load into instead")
    load.add_argument("--profile", default=None)
    return parser


def _open_service(ns: argparse.Namespace, err: TextIO) -> HnsService | None:
    """The backend on ``--state`` with ``--profile``; None (after one line on stderr) if refused."""
    from hns.service import HnsService

    kwargs: dict[str, Any] = {"state": ns.state}
    if ns.profile:
        kwargs["profile"] = ns.profile
    try:
        return HnsService(**kwargs)
    except HnsError as exc:
        err.write(f"hns-emulator: {_describe(exc)}\n")
        return None


def _serve(ns: argparse.Namespace, err: TextIO) -> int:
    import uvicorn

    from api.app import create_app

    token = ns.token or os.environ.get("HNS_EMULATOR_TOKEN") or None
    if not is_loopback(ns.host) and not token:
        err.write(
            f"hns-emulator: binding {ns.host} (not loopback) needs a token: "
            "pass --token or set HNS_EMULATOR_TOKEN\n"
        )
        return 2
    service = _open_service(ns, err)
    if service is None:
        return 2
    try:
        app = create_app(service, token=token)
        uvicorn.run(app, host=ns.host, port=ns.port, log_level=ns.log_level, access_log=False)
    finally:
        service.close()
    return 0


def _looks_like_dump(doc: Any, dump_keys: set[str]) -> bool:
    return isinstance(doc, dict) and bool(doc) and set(doc) <= dump_keys


def _load(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        if ns.file == "-":
            text = sys.stdin.read()
        else:
            with open(ns.file, encoding="utf-8-sig") as f:
                text = f.read()
    except OSError as exc:
        err.write(f"hns-emulator: cannot read {ns.file}: {exc.strerror}\n")
        return 1
    try:
        doc: Any = json.loads(text)
    except ValueError:
        doc = None

    if ns.url:
        from api.client import HnsClient

        with HnsClient(ns.url) as client:
            try:
                if _looks_like_dump(doc, set(client.dump_state())):
                    client.load_state(text)
                    out.write(f"loaded state dump {ns.file}\n")
                else:
                    ids = client.import_capture(text)
                    out.write(f"imported {len(ids)} objects from {ns.file}\n")
            except httpx.TransportError as exc:
                err.write(f"hns-emulator: cannot reach {client.url}: {type(exc).__name__}\n")
                return 1
            except HnsError as exc:
                err.write(f"hns-emulator: {_describe(exc)}\n")
                return 1
        return 0

    service = _open_service(ns, err)
    if service is None:
        return 1
    try:
        if _looks_like_dump(doc, set(service.dump())):
            service.load(doc)
            out.write(f"loaded state dump {ns.file} into {ns.state}\n")
        else:
            ids = service.import_capture(text)
            out.write(f"imported {len(ids)} objects from {ns.file} into {ns.state}\n")
    except HnsError as exc:
        err.write(f"hns-emulator: {_describe(exc)}\n")
        return 1
    finally:
        service.close()
    return 0


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of the ``hns-emulator`` console script; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    ns = _parser().parse_args(argv)
    if ns.command == "serve":
        return _serve(ns, err)
    return _load(ns, out, err)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
