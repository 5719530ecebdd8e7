"""``hns-emulator``: serve the emulator over HTTP, or load a state file into it.

::

    hns-emulator serve [--host 127.0.0.1] [--port 5588] [--state PATH|:memory:]
                       [--profile NAME] [--token T | --token-file PATH]
                       [--read-timeout SECONDS] [--underlay udp:<PA>[:<port>]]
    hns-emulator load FILE [--state PATH | --url URL] [--profile NAME]
    hns-emulator scenario NAME [--pcap FILE]
    hns-emulator scenario --list
    hns-emulator wine setup [--prefix DIR] [--profile NAME]   (api/wine.py, docs/go.md)
    hns-emulator wine exec [--prefix DIR] [--profile NAME] -- PROG.exe ARGS
    hns-emulator completion bash|zsh
    hns-emulator --version

``serve`` prints one line once it listens: its URL, state file, profile, and the URLs of
the web view (``/ui/``) and the API docs (``/docs``). ``--log-level`` sets the server log
(a refused call is one WARNING line with its reason); ``--access-log`` adds one line per
request; ``--strict`` refuses what real HNS silently accepts (api/detail.py). Usage errors
are one line naming the bad flag, exit status 2. ``completion bash|zsh`` prints a shell
completion script (``eval "$(hns-emulator completion bash)"``).

``serve`` binds loopback by default. Binding any other address needs a token (``--token``,
``--token-file PATH`` or ``HNS_EMULATOR_TOKEN``); with a token, every request must carry
``Authorization: Bearer <token>`` (the scheme in any case, RFC 7235).

``serve`` runs one emulated host (``hns.hosts.Host``): HNS, its VFP switch and the
compiler between them, with the switch under ``/vfp``. ``--underlay udp:<PA>[:<port>]``
binds the host's provider address on a real UDP socket (port 4789 unless given): the PA
becomes the HNS management IP, overlay networks created through the API send VXLAN
there, and a background pump feeds what arrives to the local endpoints. SIGTERM or
SIGINT stops the server, then the pump, then closes the socket and the state file.

``scenario NAME`` runs one shipped scenario (``hns.scenarios``): it prints the traces of
the packets it sends and a pass/fail line, writes every underlay frame to ``--pcap FILE``
when asked, and exits 0 on pass, 1 on fail, 2 for an unknown name. ``--list`` names them.

``load`` reads FILE and decides what it is: a state dump (the JSON ``GET /_emulator/state``
answers) replaces the whole state; anything else is handed to the backend's capture
importer (a V1 envelope, ``Get-HnsNetwork | ConvertTo-Json`` output, ...), which adds the
objects it holds. Without ``--url`` it writes into the ``--state`` file directly (the
server must not be running on that file); with ``--url`` it goes through the running
server.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

from api.limits import DEFAULT_READ_TIMEOUT
from api.tooling import SHELLS, ToolParser, completion_script, version_line
from hns.capture import read_capture
from hns.errors import HnsError

if TYPE_CHECKING:
    from hns.hosts import Host
    from hns.service import HnsService

__all__ = ["DEFAULT_PORT", "DEFAULT_STATE", "main"]

DEFAULT_HOST: Final[str] = "127.0.0.1"
DEFAULT_PORT: Final[int] = 5588
DEFAULT_STATE: Final[str] = "./hns-state.sqlite"
LOG_LEVELS: Final[tuple[str, ...]] = ("critical", "error", "warning", "info", "debug")


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
    parser = ToolParser(
        prog="hns-emulator",
        description="Emulator of the Windows Host Networking Service (HNS V1 and HCN V2).",
    )
    parser.add_argument("--version", action="version", version=version_line("hns-emulator"))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ToolParser)

    serve = sub.add_parser("serve", help="serve the HNS V1 and HCN V2 APIs over HTTP")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--state", default=DEFAULT_STATE, help="SQLite state file, or :memory: for none"
    )
    serve.add_argument("--profile", default=None, help="host profile: ws2019, ws2022, ws2025")
    serve.add_argument("--token", default=None, help="bearer token every request must carry")
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=LOG_LEVELS,
        help="server log level (default warning: one line per refused call)",
    )
    serve.add_argument(
        "--access-log", action="store_true", help="log one line per HTTP request"
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="refuse what real HNS silently accepts (unknown policy settings keys)",
    )
    serve.add_argument(
        "--token-file",
        default=None,
        metavar="PATH",
        help="read the bearer token from PATH (first line), so it is not on the command "
        "line where other local users can see it (ps, /proc)",
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help="close a connection that sends no request data for this long mid-request "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    serve.add_argument(
        "--underlay",
        default=None,
        metavar="udp:PA[:PORT]",
        help="bind this host's provider address for real VXLAN (e.g. udp:192.168.1.10)",
    )

    load = sub.add_parser("load", help="load a state dump or a real-host capture")
    load.add_argument("file", help="JSON state dump or captured HNS output ('-' for stdin)")
    load.add_argument("--state", default=DEFAULT_STATE, help="state file to write into")
    load.add_argument("--url", default=None, help="a running emulator to load into instead")
    load.add_argument("--profile", default=None)

    scenario = sub.add_parser("scenario", help="run a shipped end-to-end scenario")
    scenario.add_argument("name", nargs="?", help="the scenario (see --list)")
    scenario.add_argument("--list", action="store_true", help="name the scenarios")
    scenario.add_argument("--pcap", default=None, help="write every underlay frame here")

    from api.wine import add_parser as add_wine_parser  # hns-emulator wine setup|exec|build

    add_wine_parser(sub)

    completion = sub.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=SHELLS)
    return parser


def _open_service(
    ns: argparse.Namespace, err: TextIO, *, host_ip: str | None = None
) -> HnsService | None:
    """The backend on ``--state`` with ``--profile``; None (after one line on stderr) if refused."""
    from hns.service import HnsService

    kwargs: dict[str, Any] = {"state": ns.state}
    if ns.profile:
        kwargs["profile"] = ns.profile
    if host_ip is not None:
        kwargs["host_ip"] = host_ip
    try:
        return HnsService(**kwargs)
    except HnsError as exc:
        err.write(f"hns-emulator: {_describe(exc)}\n")
        return None


def _open_host(ns: argparse.Namespace, service: HnsService, err: TextIO) -> Host | None:
    """The emulated host over ``service``, bound on ``--underlay`` if given; None (after
    one line on stderr) if the socket cannot be bound."""
    from hns.hosts import Host

    if ns.underlay is None:
        return Host(service=service)
    try:
        return Host.from_underlay_spec(ns.underlay, service=service)
    except OSError as exc:
        err.write(f"hns-emulator: cannot bind the underlay {ns.underlay}: {exc.strerror or exc}\n")
        return None


def _serve(ns: argparse.Namespace, err: TextIO) -> int:
    # Startup (issue 11): no cyclic collection until the loaded state is frozen. The
    # imports, the store read and the compile allocate millions of long-lived objects;
    # each time the young generations fill, the collector walks them (a full collection
    # at kube-proxy scale took ~0.8 s, ~1.2 s of a 3.5 s start in all). Nothing built
    # here is cyclic garbage worth a walk; gc.freeze() below keeps it out of every later
    # collection, and the collector runs again once the app is built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _serve_loaded(ns, err, collecting)
    finally:
        if collecting:
            gc.enable()


def _serve_loaded(ns: argparse.Namespace, err: TextIO, collecting: bool) -> int:
    from api.app import create_app
    from api.serving import serve_app
    from api.transport import read_token_file
    from hns.hosts import parse_underlay_spec

    token = ns.token or os.environ.get("HNS_EMULATOR_TOKEN") or None
    if ns.token_file is not None:
        try:
            token = read_token_file(ns.token_file)
        except (OSError, ValueError) as exc:
            err.write(f"hns-emulator: --token-file {ns.token_file}: {exc}\n")
            return 2
    if not is_loopback(ns.host) and not token:
        err.write(
            f"hns-emulator: binding {ns.host} (not loopback) needs a token: "
            "pass --token or set HNS_EMULATOR_TOKEN\n"
        )
        return 2
    pa: str | None = None
    if ns.underlay is not None:
        try:
            _, pa, _ = parse_underlay_spec(ns.underlay)
        except ValueError as exc:
            err.write(f"hns-emulator: {exc}\n")
            return 2
    service = _open_service(ns, err, host_ip=pa)
    if service is None:
        return 2
    host: Host | None = None
    try:
        host = _open_host(ns, service, err)
        if host is None:
            return 2
        app = create_app(host, token=token, strict=ns.strict)
        gc.freeze()  # the loaded state is long-lived: keep it out of every collection
        if collecting:
            gc.enable()
        # The pump moves the containers' answers to injected frames, and with an
        # underlay what arrives on the socket.
        host.start()
        with _stop_signals():
            serve_app(app, ns, service.profile)
    except _Stopped:
        pass
    finally:
        if host is not None:
            host.close()
        service.close()
        # At kube-proxy scale the compiled state is millions of objects: the interpreter's
        # last collection would walk them all before exiting (SIGTERM took minutes).
        gc.freeze()
    return 0


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: stop serving, then close the host and the state."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise ``_Stopped`` while serving.

    uvicorn shuts down gracefully on either, then restores the handlers it found and
    raises the signal again; with the default handlers that would kill the process before
    the host's pump, socket and state file are closed. Ours turns it into an exception the
    caller's ``finally`` sees, so the process exits 0 after a clean stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _scenario(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if importlib.util.find_spec("hns.scenarios") is None:
        err.write("hns-emulator: this build has no scenarios (hns.scenarios is missing)\n")
        return 2
    scenarios = importlib.import_module("hns.scenarios")
    names = [str(n) for n in scenarios.names()]
    if ns.list:
        for name in names:
            out.write(name + "\n")
        return 0
    if not ns.name:
        err.write("hns-emulator: scenario needs a NAME (or --list); known: "
                  + ", ".join(names) + "\n")
        return 2
    if ns.name not in names:
        err.write(f"hns-emulator: unknown scenario {ns.name!r}; known: {', '.join(names)}\n")
        return 2
    try:
        passed = bool(scenarios.run(ns.name, out, pcap=ns.pcap))
    except OSError as exc:
        err.write(f"hns-emulator: scenario {ns.name}: {exc}\n")
        return 1
    out.flush()
    return 0 if passed else 1


def _looks_like_dump(doc: Any, dump_keys: set[str]) -> bool:
    return isinstance(doc, dict) and bool(doc) and set(doc) <= dump_keys


def _load(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        # a file in any encoding PowerShell writes, or a collectlogs folder or zip
        text = sys.stdin.read() if ns.file == "-" else read_capture(ns.file)
    except OSError as exc:
        err.write(f"hns-emulator: cannot read {ns.file}: {exc.strerror}\n")
        return 1
    except HnsError as exc:
        err.write(f"hns-emulator: {_describe(exc)}\n")
        return 1
    try:
        doc: Any = json.loads(text)
    except ValueError:
        doc = None

    if ns.url:
        # The HTTP client (httpx, ~0.1 s of imports) only here: ``serve`` never needs it.
        import httpx

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
                cause = type(exc.__cause__ or exc).__name__
                err.write(f"hns-emulator: cannot reach {client.url}: {cause}\n")
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
    if ns.command == "scenario":
        return _scenario(ns, out, err)
    if ns.command == "wine":
        from api.wine import main_wine

        return main_wine(ns, out, err)
    if ns.command == "completion":
        out.write(completion_script(_parser(), ns.shell))
        return 0
    return _load(ns, out, err)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
