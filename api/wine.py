"""Windows builds of HNS clients on Linux: the stand-in DLLs, the Wine prefix, the runner.

This module owns three things:

- ``build_dlls()``: cross-compiles ``wine/*.c`` (shipped with the package) into
  computenetwork.dll, vmcompute.dll and bcryptprimitives.dll with mingw-w64, once per
  source hash, into the user's cache directory.
- ``setup()``: a headless 64-bit Wine prefix with those DLLs in system32 and the Windows
  release of a profile in its registry (``hns-emulator wine setup``). One prefix per
  profile by default, so programs of different profiles can run at the same time; a stamp
  makes the second run a no-op, a lock file makes concurrent runs safe.
- ``run()``: one Windows program under Wine in that prefix, pointed at an emulator
  (``hns-emulator wine exec`` and the ``go_windows_amd64_exec`` console script that
  ``GOOS=windows go test`` picks up from PATH).

Nothing here talks HNS: the DLLs reach the emulator through ``POST /_bridge/<Export>``
(api/bridge.py) at ``HNS_EMULATOR_URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

__all__ = [
    "DLLS",
    "RELEASES",
    "WineError",
    "build_dlls",
    "default_prefix",
    "exec_main",
    "run",
    "setup",
]

#: Each stand-in DLL and the C files it is built from (all in ``wine/``).
DLLS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "computenetwork.dll": (("computenetwork.c", "bridge.c"), ("-lws2_32", "-lole32")),
    "vmcompute.dll": (("vmcompute.c", "bridge.c"), ("-lws2_32", "-lole32")),
    "bcryptprimitives.dll": (("bcryptprimitives.c",), ("-ladvapi32",)),
}
_SOURCES: Final[tuple[str, ...]] = (
    "bridge.h", "bridge.c", "computenetwork.c", "computenetwork.def", "vmcompute.c",
    "vmcompute.def", "bcryptprimitives.c", "bcryptprimitives.def",
)
MINGW: Final[str] = "x86_64-w64-mingw32-gcc"
DEFAULT_PROFILE: Final[str] = "ws2025"
_STAMP: Final[str] = ".hns-emulator-stamp"


@dataclass(frozen=True)
class Release:
    """What a profile's Windows Server reports: hcsshim's osversion reads the build."""

    build: str
    product: str
    display: str


RELEASES: Final[dict[str, Release]] = {
    "ws2019": Release("17763", "Windows Server 2019 Datacenter", "1809"),
    "ws2022": Release("20348", "Windows Server 2022 Datacenter", "21H2"),
    "ws2025": Release("26100", "Windows Server 2025 Datacenter", "24H2"),
}


class WineError(RuntimeError):
    """A tool is missing or a step failed; the message says what to do."""


# -- where things are ------------------------------------------------------------------


def source_dir() -> Path:
    """``wine/`` beside the ``api`` package: the checkout's folder, or the installed copy
    (package data of the ``wine`` namespace package)."""
    here = Path(__file__).resolve().parent.parent / "wine"
    if (here / "bridge.c").is_file():
        return here
    raise WineError(f"the DLL sources are missing (looked in {here}); reinstall hns-emulator")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hns-emulator" / "wine"


def default_prefix(profile: str = DEFAULT_PROFILE) -> Path:
    """``HNS_EMULATOR_WINEPREFIX`` if set, else one prefix per profile in the cache."""
    given = os.environ.get("HNS_EMULATOR_WINEPREFIX")
    if given:
        return Path(given).expanduser().resolve()
    return cache_dir() / f"prefix-{profile}"


def wine_loader() -> str:
    """The 64-bit Wine loader. Debian's ``wine`` script is avoided: without wine32 it
    prints a hint on every start unless WINEDEBUG says -all."""
    for candidate in ("/usr/lib/wine/wine64", shutil.which("wine64"), shutil.which("wine")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise WineError("wine is not installed: apt-get install wine wine64 (Debian 12 packages)")


def wineserver() -> str:
    # Debian's /usr/lib/wine/wineserver script adds -p0 (exit with the last program), which
    # makes every program start cold; its wineserver64 takes our -p as given.
    for candidate in ("/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver",
                      shutil.which("wineserver")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise WineError("wineserver is missing: apt-get install wine wine64")


# -- the DLLs --------------------------------------------------------------------------


def _sources_hash(src: Path) -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode() + b"\0" + (src / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_dlls(out: Path | None = None) -> Path:
    """The directory holding the three DLLs, compiling them first if this source hash has
    not been built yet. Concurrent callers are safe (build in a temp dir, then rename)."""
    src = source_dir()
    target = out if out is not None else cache_dir() / f"dlls-{_sources_hash(src)}"
    if all((target / name).is_file() for name in DLLS):
        return target
    compiler = shutil.which(MINGW)
    if compiler is None:
        raise WineError(
            f"{MINGW} is not installed: apt-get install gcc-mingw-w64-x86-64 "
            "(Debian's mingw-w64 cross-compiler builds the stand-in DLLs)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        for dll, (files, libs) in DLLS.items():
            stem = dll.removesuffix(".dll")
            cmd = [compiler, "-shared", "-O2", "-s", "-Wall", "-static-libgcc",
                   "-o", str(work / dll), *(str(src / f) for f in files),
                   str(src / f"{stem}.def"), *libs]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise WineError(f"building {dll} failed:\n{done.stderr.strip()}")
        if out is not None:
            target.mkdir(parents=True, exist_ok=True)
            for dll in DLLS:
                os.replace(work / dll, target / dll)
        else:
            with contextlib.suppress(OSError):  # another builder won the race: same bytes
                os.rename(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


# -- the prefix ------------------------------------------------------------------------


def wine_env(prefix: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every Wine process here gets: the prefix, 64-bit, quiet, headless
    (no Mono/Gecko installer prompts)."""
    env = dict(os.environ if base is None else base)
    env["WINEPREFIX"] = str(prefix)
    env["WINEARCH"] = "win64"
    env.setdefault("WINEDEBUG", "-all")
    env["WINELOADER"] = wine_loader()
    dll_overrides = env.get("WINEDLLOVERRIDES", "")
    if "mscoree" not in dll_overrides:
        env["WINEDLLOVERRIDES"] = ";".join(filter(None, [dll_overrides, "mscoree,mshtml="]))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _release_reg(release: Release) -> str:
    """The registry values hcsshim's osversion and Wine's RtlGetVersion read, as a .reg
    file for ``regedit /S`` (one Wine process instead of one per value)."""
    return "\r\n".join([
        "REGEDIT4",
        "",
        r"[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows NT\CurrentVersion]",
        f'"CurrentBuildNumber"="{release.build}"',
        f'"CurrentBuild"="{release.build}"',
        f'"ProductName"="{release.product}"',
        f'"DisplayVersion"="{release.display}"',
        '"EditionID"="ServerDatacenter"',
        '"InstallationType"="Server"',
        "",
        r"[HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\ProductOptions]",
        '"ProductType"="ServerNT"',
        "",
    ])


def _run_wine(prefix: Path, *args: str) -> None:
    # Output to a file, not a pipe: the Wine services this may start inherit it and
    # outlive the program (see keep_warm), and a pipe reader would wait for them.
    with tempfile.TemporaryFile() as output:
        done = subprocess.run([wine_loader(), *args], env=wine_env(prefix), stdout=output,
                              stderr=output, stdin=subprocess.DEVNULL, check=False)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if done.returncode != 0:
        raise WineError(f"wine {' '.join(args)} failed ({done.returncode}): {text[-2000:]}")


def _wait_wineserver(prefix: Path) -> None:
    """Let the prefix's wineserver flush the registry to disk before we stamp it."""
    subprocess.run([wineserver(), "-w"], env=wine_env(prefix), check=False,
                   stdin=subprocess.DEVNULL, capture_output=True)


def keep_warm(prefix: Path, seconds: int = 20) -> None:
    """Make sure a live wineserver serves the prefix and will outlive its last program by
    ``seconds``: a Wine program starts in well under a second with a warm wineserver and
    takes seconds with a cold one, and ``go test ./...`` runs one program per package.

    The first program of a Wine session starts the session's services (services.exe,
    rpcss, explorer, ...), which inherit its stdout/stderr and live as long as the
    wineserver: started by a program whose output is a pipe, they would hold the pipe
    open and make the reader (``go test``, ``subprocess.run``) wait for the wineserver to
    exit. So the session is started here by ``cmd /c exit`` with no output at all.

    ``wineserver -p`` exits 2 whenever some wineserver holds the prefix's lock, and that
    may be one whose persistence delay has just run out: it has told its services to quit
    and stopped accepting clients, and it kills whatever is still attached two seconds
    later, with exit status 1 and no message (wineserver's kill_all_processes). A program
    started then waits for it to go and becomes the first program of a new session, whose
    services hold its output open (measured: 3.6-4.6 s more, their messages in its
    stderr). So a probe runs then too: on a live server it restarts the persistence
    delay; on a dying one it waits for it to go, and a second ``-p`` then starts a fresh
    server that the next probe starts quietly. A probe that fails (a server dying under
    it) is tried again, at most three rounds; the probe does nothing but start Wine, so
    repeating it is safe. A lock per prefix keeps concurrent runners (xdist workers,
    ``go test`` packages in parallel) from doing this over each other."""
    quiet: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                             "stderr": subprocess.DEVNULL, "check": False}
    env = wine_env(prefix)

    def own_server() -> bool:  # False: some wineserver (alive or dying) holds the lock
        return subprocess.run([wineserver(), f"-p{seconds}"], env=env, **quiet).returncode == 0

    def probe() -> int:
        return subprocess.run([wine_loader(), "cmd.exe", "/c", "exit", "0"], env=env,
                              **quiet).returncode

    status = 0
    with _locked(prefix, ".warm"):
        for _round in range(3):
            started = own_server()
            status = probe()
            if status != 0:
                continue
            if started or not own_server():
                return  # ours, or one that served the probe and still holds the lock
            status = probe()  # the old one was dying: start the fresh one's session
            if status == 0:
                return
    raise WineError(f"Wine could not start a program in {prefix} (cmd /c exit: status "
                    f"{status}, three times); 'WINEPREFIX={prefix} WINEDEBUG=err+all "
                    "wine64 cmd /c exit' shows why")


@contextlib.contextmanager
def _locked(prefix: Path, kind: str = "") -> Iterator[None]:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f".{prefix.name}{kind}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp_of(dlls: Path, profile: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    for name in sorted(DLLS):
        digest.update((dlls / name).read_bytes())
    return {"dlls": digest.hexdigest(), "profile": profile, "loader": wine_loader()}


def _read_stamp(prefix: Path) -> Any:
    try:
        return json.loads((prefix / _STAMP).read_text())
    except (OSError, ValueError):
        return None


def _system32(prefix: Path) -> Path:
    return prefix / "drive_c" / "windows" / "system32"


def _create_prefix(prefix: Path, log: TextIO | None) -> None:
    """wineboot a new prefix, or copy a ready one from the cache (about 3x faster)."""
    siblings = [p for p in sorted(cache_dir().glob("prefix-*"))
                if p != prefix and (p / _STAMP).is_file() and (p / "system.reg").is_file()]
    if siblings:
        if log:
            log.write(f"hns-emulator: copying the Wine prefix {siblings[0]} to {prefix}\n")
        # No waiting for the sibling's wineserver (it may be kept warm for minutes): it
        # writes its registry files whole (temp file, then rename), and the values that
        # matter here are rewritten below anyway.
        work = prefix.with_name(prefix.name + ".tmp")
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(siblings[0]), str(work)], check=True)
        (work / _STAMP).unlink(missing_ok=True)
        os.rename(work, prefix)
        return
    if log:
        log.write(f"hns-emulator: creating the Wine prefix {prefix} (about 15 s, once)\n")
    _run_wine(prefix, "wineboot", "--init")


def setup(prefix: Path | None = None, profile: str = DEFAULT_PROFILE, *,
          log: TextIO | None = None) -> Path:
    """A ready prefix for ``profile``: created if missing, DLLs and Windows release
    (re)installed when they changed, nothing done when the stamp says all is current."""
    if profile not in RELEASES:
        raise WineError(f"unknown profile {profile!r}; known: {', '.join(RELEASES)}")
    prefix = (prefix or default_prefix(profile)).expanduser().resolve()
    dlls = build_dlls()
    wanted = _stamp_of(dlls, profile)
    if _read_stamp(prefix) == wanted:
        return prefix
    with _locked(prefix):
        if _read_stamp(prefix) == wanted:
            return prefix
        if not (prefix / "system.reg").is_file():
            _create_prefix(prefix, log)
        system32 = _system32(prefix)
        if not system32.is_dir():
            raise WineError(f"{prefix} is not a 64-bit Wine prefix (no {system32})")
        for name in DLLS:
            shutil.copyfile(dlls / name, system32 / name)
        _run_wine(prefix, "winecfg", "/v", "win10")
        reg = prefix / "hns-emulator-release.reg"
        reg.write_text(_release_reg(RELEASES[profile]), encoding="ascii")
        _run_wine(prefix, "regedit", "/S", "Z:" + str(reg).replace("/", "\\"))
        _wait_wineserver(prefix)
        (prefix / _STAMP).write_text(json.dumps(wanted))
    if log:
        log.write(f"hns-emulator: Wine prefix {prefix} ready ({profile}, Windows build "
                  f"{RELEASES[profile].build})\n")
    return prefix


# -- running a program -----------------------------------------------------------------


@contextlib.contextmanager
def private_emulator(profile: str) -> Iterator[tuple[str, str]]:
    """A fresh emulator for one program: (url, token). It runs on a free loopback port
    with a random token, and start-up waits until uvicorn says it holds that port, so the
    DLLs never talk to some other server that happened to answer there."""
    from hns.testing.server import EmulatorServer

    token = secrets.token_hex(16)
    server = EmulatorServer(profile=profile, token=token).start()
    try:
        yield server.url, token
    finally:
        server.stop()


def _exec(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run one Windows program with this process's stdin/stdout/stderr; its exit status
    (128+N when a signal N ended it, as a shell reports it). Signals sent to us are
    passed on, so ``go test``'s time-out stops the program, not only this wrapper."""
    import signal

    child = subprocess.Popen([wine_loader(), *argv], env=env)
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    try:
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status


def run(argv: Sequence[str], *, prefix: Path | None = None, profile: str | None = None,
        url: str | None = None, log: TextIO | None = None) -> int:
    """Run ``argv`` (a Windows .exe and its arguments) under Wine against an emulator.

    The emulator is ``url``, else ``HNS_EMULATOR_URL`` (with ``HNS_EMULATOR_TOKEN``), else
    a private one started for this program and stopped after. The profile (prefix and
    private emulator) is ``profile``, else ``HNS_EMULATOR_PROFILE``, else ws2025.
    """
    if not argv:
        raise WineError("nothing to run: give the .exe and its arguments")
    profile = profile or os.environ.get("HNS_EMULATOR_PROFILE") or DEFAULT_PROFILE
    ready = setup(prefix, profile, log=log)
    keep_warm(ready)
    env = wine_env(ready)
    url = url or os.environ.get("HNS_EMULATOR_URL")
    if url:
        env["HNS_EMULATOR_URL"] = url
        return _exec(argv, env)
    with private_emulator(profile) as (own_url, token):
        env["HNS_EMULATOR_URL"] = own_url
        env["HNS_EMULATOR_TOKEN"] = token
        return _exec(argv, env)


# -- command line ----------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    """``hns-emulator wine setup|exec|build`` (called from api.cli)."""
    wine = sub.add_parser("wine", help="run Windows builds of HNS clients under Wine")
    verbs = wine.add_subparsers(dest="wine_command", required=True)
    setup_cmd = verbs.add_parser("setup", help="build the DLLs and prepare a Wine prefix")
    setup_cmd.add_argument("--prefix", default=None, help="Wine prefix (default: per profile "
                           "in the cache dir, or HNS_EMULATOR_WINEPREFIX)")
    setup_cmd.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(RELEASES))
    exec_cmd = verbs.add_parser("exec", help="run PROG.exe ARGS under Wine against an emulator")
    exec_cmd.add_argument("--prefix", default=None)
    exec_cmd.add_argument("--profile", default=None, choices=sorted(RELEASES))
    exec_cmd.add_argument("argv", nargs=argparse.REMAINDER, help="-- PROG.exe ARGS")
    build_cmd = verbs.add_parser("build", help="only build the DLLs (prints their folder)")
    build_cmd.add_argument("--out", default=None, help="folder to write the DLLs to")


def main_wine(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a parsed ``hns-emulator wine ...`` command; the exit status."""
    prefix = Path(ns.prefix) if getattr(ns, "prefix", None) else None
    try:
        if ns.wine_command == "build":
            out.write(f"{build_dlls(Path(ns.out) if ns.out else None)}\n")
            return 0
        if ns.wine_command == "setup":
            ready = setup(prefix, ns.profile, log=err)
            out.write(f"{ready}\n")
            return 0
        argv = list(ns.argv)
        if argv and argv[0] == "--":
            argv = argv[1:]
        return run(argv, prefix=prefix, profile=ns.profile, log=err)
    except WineError as exc:
        err.write(f"hns-emulator: {exc}\n")
        return 2


def exec_main(argv: Sequence[str] | None = None) -> int:
    """``go_windows_amd64_exec PROG.exe ARGS``: what ``GOOS=windows go test`` / ``go run``
    call when this console script is on PATH (the go command's go_$GOOS_$GOARCH_exec rule)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args, log=sys.stderr)
    except WineError as exc:
        sys.stderr.write(f"go_windows_amd64_exec: {exc}\n")
        return 2
