"""The stand-in DLLs' Windows contracts, checked by a Windows Go program (contract/main.go,
standard library only) calling the exports under Wine: handles, NULL pointers, 1 MB input,
non-ASCII names, 8 threads, and an emulator that is down, refuses the token or answers
garbage. Each case's program prints a FAIL line per broken expectation."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import dead_url
from wine_helpers import RunExe

from hns.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("wine_tools")


def _ok(done: object) -> None:
    out = getattr(done, "stdout", "") + getattr(done, "stderr", "")
    assert getattr(done, "returncode", None) == 0, out
    assert "ok" in getattr(done, "stdout", "").split(), out


@pytest.mark.parametrize(
    "case", ["lifecycle", "nulls", "big", "unicode", "threads", "hnscall", "hcs", "prng"])
def test_contract(case: str, contract_exe: Path, run_exe: RunExe,
                  hns_server: EmulatorServer) -> None:
    _ok(run_exe(contract_exe, case, url=hns_server.url, token=hns_server.token))


def test_hcs_without_a_model_is_e_notimpl(contract_exe: Path, run_exe: RunExe,
                                          hns_server: EmulatorServer) -> None:
    import importlib.util

    done = run_exe(contract_exe, "hcs", url=hns_server.url, token=hns_server.token)
    _ok(done)
    if importlib.util.find_spec("api.hcs") is None:
        assert "open-missing 0x80004001" in done.stdout


def test_every_call_is_in_the_call_log(contract_exe: Path, run_exe: RunExe,
                                       hns_server: EmulatorServer) -> None:
    _ok(run_exe(contract_exe, "lifecycle", url=hns_server.url, token=hns_server.token))
    answer = hns_server.request("GET", "/_emulator/calls")
    text = answer.text
    for export in ("HcnCreateNetwork", "HcnOpenNetwork", "HcnCreateEndpoint",
                   "HcnQueryEndpointProperties", "HcnCloseNetwork", "HcnDeleteNetwork"):
        assert export in text, export


def test_emulator_down_is_rpc_server_unavailable(contract_exe: Path, run_exe: RunExe) -> None:
    with dead_url() as url:
        _ok(run_exe(contract_exe, "down", url=url))


def test_wrong_token_is_access_denied(contract_exe: Path, run_exe: RunExe) -> None:
    server = EmulatorServer(token="right-token").start()
    try:
        _ok(run_exe(contract_exe, "denied", url=server.url, token="wrong-token"))
        _ok(run_exe(contract_exe, "denied", url=server.url))
        _ok(run_exe(contract_exe, "lifecycle", url=server.url, token="right-token"))
    finally:
        server.stop()


# Answers a broken or hostile emulator might give; the DLL must turn each into an HRESULT.
GARBAGE: list[bytes] = [
    b"\x00\xffnot http at all\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",  # no X-Bridge-HResult
    b"HTTP/1.1 200 OK\r\nX-Bridge-HResult: 0xZZZ\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Bridge-HResult: 0x00000000\r\nContent-Length: 99999\r\n\r\nshort",
    b"",  # connection closed without a byte
    b"HTTP/1.1 200 OK\r\nX-Bridge-HResult: 0x80004005\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Bridge-HResult: 0x0\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Bridge-HResult: 0x00000000" + b"A" * 70000,  # never ends its head
    b"HTTP/1.1 999999999999 OK\r\n\r\n",
]


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length: *(\d+)", head)
    want = int(match.group(1)) if match else 0
    while len(body) < want:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


@pytest.fixture
def garbage_server() -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        n = 0
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    _read_request(conn)
                    conn.sendall(GARBAGE[n % len(GARBAGE)])
                except OSError:
                    pass
            n += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_garbage_answers_are_hresults(contract_exe: Path, run_exe: RunExe,
                                      garbage_server: str) -> None:
    done = run_exe(contract_exe, "garbage", url=garbage_server)
    _ok(done)
    codes = set(re.findall(r"0x[0-9A-F]{8}", done.stdout))
    assert {"0x8000FFFF", "0x800706BE"} <= codes, done.stdout


def test_removeall_works_and_fails_without_the_fix(contract_exe: Path, run_exe: RunExe,
                                                   hns_server: EmulatorServer) -> None:
    """Wine 8.0 gap: os.RemoveAll (t.TempDir clean-up). bcryptprimitives.dll fixes it; with
    the fix turned off the same program shows the failure it fixes."""
    _ok(run_exe(contract_exe, "removeall", url=hns_server.url))
    broken = run_exe(contract_exe, "removeall", url=hns_server.url,
                     env={"HNS_EMULATOR_WINE_KEEP_GAPS": "1"})
    if broken.returncode == 0:
        pytest.skip("this Wine implements FileDispositionInformationEx: nothing to fix")
    assert "Invalid function" in broken.stdout, broken.stdout
