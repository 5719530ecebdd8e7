"""Interop with the real Linux kernel VXLAN driver, in network namespaces this test creates.

Topology (packets.md section 2, static mode, as flannel programs a Linux node):

    ctr "Linux container"  lnx "Linux node"                           win "emulated Windows"
    eth0 10.244.7.10/24 -- vh-ctr -[br0]- vxlan0 (VNI 4096, dstport 4789, nolearning,
                                          MTU 1450, static FDB) veth-lnx 10.77.0.1/24 ==
                                                                 veth-win 10.77.0.2/24
                                          this project's UdpUnderlay on 10.77.0.2:4789, a Vtep
                                          and a GuestStack 10.244.7.20 / 00:15:5d:07:00:14

Each test runs twice: over an IPv4 underlay (10.77.0.1/.2, MTU 1450) and over an IPv6
underlay (fd00:77::1/::2, MTU 1430). All addresses live only inside the namespaces;
everything is deleted in `finally`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import vxlan
from hns.scenarios.netns import open_in
from vxlan import GuestStack, UdpUnderlay, Vtep

pytestmark = pytest.mark.netns

EMU_MAC = "00:15:5d:07:00:14"
CTR_MAC = "02:42:0a:f4:07:0a"
LNX_UNDERLAY_MAC = "02:77:00:00:00:01"
WIN_UNDERLAY_MAC = "02:77:00:00:00:02"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


UNDERLAYS = {
    # family: (Linux node PA, emulated node PA, prefix, overlay MTU = 1500 - outer header)
    "ipv4": ("10.77.0.1", "10.77.0.2", "24", "1450"),
    "ipv6": ("fd00:77::1", "fd00:77::2", "64", "1430"),
}


@pytest.fixture(params=sorted(UNDERLAYS))
def lab(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create network namespaces")
    tag = uuid.uuid4().hex[:6]
    ns = {"lnx": f"hnsx-lnx-{tag}", "win": f"hnsx-win-{tag}", "ctr": f"hnsx-ctr-{tag}"}
    lnx_pa, win_pa, plen, mtu = UNDERLAYS[request.param]
    nodad = ["nodad"] if ":" in lnx_pa else []
    probe = subprocess.run(["ip", "netns", "add", ns["lnx"]], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refused a network namespace: {probe.stderr.strip()}")
    try:
        _ip("netns", "add", ns["win"])
        _ip("netns", "add", ns["ctr"])
        lnx, win, ctr = ns["lnx"], ns["win"], ns["ctr"]
        for name in ns.values():
            _ip("-n", name, "link", "set", "lo", "up")
        # underlay
        _ip("link", "add", "veth-lnx", "netns", lnx, "address", LNX_UNDERLAY_MAC, "type",
            "veth", "peer", "name", "veth-win", "netns", win, "address", WIN_UNDERLAY_MAC)
        _ip("-n", lnx, "addr", "add", f"{lnx_pa}/{plen}", "dev", "veth-lnx", *nodad)
        _ip("-n", win, "addr", "add", f"{win_pa}/{plen}", "dev", "veth-win", *nodad)
        _ip("-n", lnx, "link", "set", "veth-lnx", "up")
        _ip("-n", win, "link", "set", "veth-win", "up")
        # overlay on the Linux node: vxlan0 (nolearning, static FDB) bridged to the container
        _ip("-n", lnx, "link", "add", "vxlan0", "address", "02:77:00:00:01:01", "type", "vxlan",
            "id", "4096", "dstport", "4789", "local", lnx_pa, "dev", "veth-lnx",
            "nolearning")
        _ip("-n", lnx, "link", "set", "vxlan0", "mtu", mtu)
        _ip("-n", lnx, "link", "add", "br0", "type", "bridge")
        _ip("-n", lnx, "link", "set", "vxlan0", "master", "br0")
        _ip("link", "add", "vh-ctr", "netns", lnx, "mtu", mtu, "type", "veth", "peer", "name",
            "eth0", "netns", ctr, "address", CTR_MAC, "mtu", mtu)
        _ip("-n", lnx, "link", "set", "vh-ctr", "master", "br0")
        _ip("-n", lnx, "addr", "add", "10.244.7.1/24", "dev", "br0")
        for dev in ("vxlan0", "br0", "vh-ctr"):
            _ip("-n", lnx, "link", "set", dev, "up")
        _ip("-n", ctr, "addr", "add", "10.244.7.10/24", "dev", "eth0")
        _ip("-n", ctr, "link", "set", "eth0", "up")
        _ip("-n", ctr, "route", "add", "default", "via", "10.244.7.1")
        # static FDB and neighbour entries, as flannel programs them
        subprocess.run(["bridge", "-n", lnx, "fdb", "append", EMU_MAC, "dev", "vxlan0", "dst",
                        win_pa, "self", "permanent"], check=True, capture_output=True)
        _ip("-n", ctr, "neigh", "replace", "10.244.7.20", "lladdr", EMU_MAC, "dev", "eth0",
            "nud", "permanent")
        yield {**ns, "lnx_pa": lnx_pa, "win_pa": win_pa}
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _emulated_side(lab: dict[str, str]) -> tuple[GuestStack, UdpUnderlay, Vtep]:
    guest = GuestStack(EMU_MAC, "10.244.7.20")
    underlay = open_in(lab["win"], lambda: UdpUnderlay(lab["win_pa"], 4789))
    vtep = Vtep(underlay, vni=4096, guests=[guest], flood=[lab["lnx_pa"]],
                fdb={vxlan.mac_from_text(CTR_MAC): lab["lnx_pa"]})
    return guest, underlay, vtep


# How long a Linux ping waits for the first answer (-W), and _wait_for for a condition:
# the emulated side answers from a Python thread or process that, on a loaded 2-core CI
# machine (pytest -n 2), may not run for seconds. Generous waits only lengthen a failing
# run; a lost frame still fails the test.
ANSWER_WAIT = "10"


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class _Capture:
    """Every frame arriving on `dev` inside `ns` (AF_PACKET), read by a thread; `stop()`
    joins the thread and then drains what is still queued on the socket, so a frame that
    arrived just before the stop is never missed (the thread may not have run yet on a
    busy machine, e.g. under pytest -n 2)."""

    def __init__(self, ns: str, dev: str) -> None:
        def open_socket() -> socket.socket:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            s.bind((dev, 0))
            s.settimeout(0.05)
            return s

        self.sock = open_in(ns, open_socket)
        self.frames: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read(self) -> bool:
        """Read one frame; False when none came within the socket timeout."""
        try:
            data, addr = self.sock.recvfrom(65535)
        except TimeoutError:
            return False
        if addr[2] == socket.PACKET_HOST:  # arriving from the Linux node
            self.frames.append(data)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read()
            except OSError:
                return

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            while self._read():
                pass

    def close(self) -> None:
        self.stop()
        self.sock.close()


def _wait_for_line(proc: subprocess.Popen[str], text: str) -> str:
    """Wait until the child writes a stderr line containing `text` (its readiness) or
    exits; no wall clock (a loaded machine may take long to import the child),
    pytest-timeout bounds a child that hangs."""
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no {text!r} from the child; stderr: {''.join(seen)!r}")


def _echo_replies_sent(ns: str) -> int:
    """ICMP echo replies the kernel of namespace `ns` has sent (Icmp OutEchoReps)."""
    snmp = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                          check=True, capture_output=True, text=True, timeout=30).stdout
    names, values = [line.split()[1:] for line in snmp.splitlines()
                     if line.startswith("Icmp:")][:2]
    return int(dict(zip(names, values, strict=True))["OutEchoReps"])


def test_linux_kernel_vxlan_ping_both_ways(lab: dict[str, str]) -> None:
    guest, underlay, vtep = _emulated_side(lab)
    capture = _Capture(lab["win"], "veth-win")
    kernel_frames = capture.frames
    vtep.start()
    try:
        ping = subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "ping", "-c", "3", "-i", "0.2", "-W",
             ANSWER_WAIT, "10.244.7.20"], capture_output=True, text=True, timeout=90,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert " 0% packet loss" in ping.stdout
        assert guest.counters["icmp echo reply"] >= 3
        capture.stop()
        # Our decoder reads the kernel's own VXLAN frames. Their UDP checksum is left to
        # offload on veth (CHECKSUM_PARTIAL, packets.md gotcha 2), so it is not verified.
        requests = []
        for frame in kernel_frames:
            try:
                d = vxlan.decapsulate(frame, expected_vni=4096, verify_checksums=False)
            except vxlan.DecapError:
                continue  # IPv6 neighbour discovery / MLD noise on the underlay
            inner = vxlan.decode_frame(d.inner)
            if isinstance(inner.l4, vxlan.ICMPv4) and inner.l4.type == vxlan.ICMPv4.ECHO_REQUEST:
                requests.append((d, inner))
        assert len(requests) >= 3, f"{len(kernel_frames)} frames captured"
        for d, inner in requests:
            assert (d.src_pa, d.dst_pa) == (vxlan.ip_from_text(lab["lnx_pa"])[1],
                                            vxlan.ip_from_text(lab["win_pa"])[1])
            assert (d.dst_port, d.flags) == (4789, 0x08)
            assert inner.eth.dst == vxlan.mac_from_text(EMU_MAC)
            assert isinstance(inner.ip, vxlan.IPv4)
            assert inner.ip.dst == vxlan.ipv4_from_text("10.244.7.20")
        # the emulated container originates: ARP over the tunnel, then the echo request
        vtep.send_all(guest.ping("10.244.7.10", ident=0x77, seq=1))
        assert _wait_for(lambda: guest.reply_for(0x77, 1) is not None), dict(vtep.counters)
        assert guest.arp_cache[vxlan.ipv4_from_text("10.244.7.10")] == \
            vxlan.mac_from_text(CTR_MAC)
        # a UDP datagram from the Linux container is echoed back through the tunnel
        udp = subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "python3", "-c",
             "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
             "s.settimeout(60); s.sendto(b'hello-vxlan', ('10.244.7.20', 7)); "
             "print(s.recvfrom(100)[0].decode())"],
            capture_output=True, text=True, timeout=90,
        )
        assert udp.stdout.strip() == "hello-vxlan", udp.stderr
    finally:
        capture.close()
        vtep.stop()
        underlay.close()


def test_linux_kernel_accepts_our_own_outer_headers(lab: dict[str, str]) -> None:
    """Our encapsulation bytes (not the kernel's) on the wire via AF_PACKET, with UDP
    checksum zero and computed: the Linux container's ping gets its replies."""
    guest = GuestStack(EMU_MAC, "10.244.7.20")
    # keep the UDP port bound, or the kernel answers every VXLAN frame with port unreachable
    rx = open_in(lab["win"], lambda: UdpUnderlay(lab["win_pa"], 4789))

    def raw_socket() -> socket.socket:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("veth-win", 0))
        return s

    tx = open_in(lab["win"], raw_socket)
    try:
        for csum in (False, True):
            template = vxlan.EncapTemplate(
                vni=4096, src_pa=lab["win_pa"], dst_pa=lab["lnx_pa"], src_mac=WIN_UNDERLAY_MAC,
                dst_mac=LNX_UNDERLAY_MAC, udp_checksum=csum,
            )
            stop = threading.Event()

            def serve(tpl: vxlan.EncapTemplate = template, done: threading.Event = stop) -> None:
                while not done.is_set():
                    frame = rx.recv(0.05)
                    if frame is None:
                        continue
                    d = vxlan.decapsulate(frame, expected_vni=4096)
                    for reply in guest.handle(d.inner):
                        tx.send(tpl.encapsulate(reply))

            server = threading.Thread(target=serve)
            server.start()
            try:
                ping = subprocess.run(
                    ["ip", "netns", "exec", lab["ctr"], "ping", "-c", "2", "-i", "0.2", "-W",
                     ANSWER_WAIT, "10.244.7.20"], capture_output=True, text=True, timeout=90,
                )
            finally:
                stop.set()
                server.join()
            assert ping.returncode == 0, f"udp_checksum={csum}: {ping.stdout}{ping.stderr}"
    finally:
        tx.close()
        rx.close()


def test_python_m_vxlan_process_interoperates_with_linux(
    lab: dict[str, str], tmp_path: Path
) -> None:
    """`python3 -m vxlan` as its own process in the emulated node's namespace: the Linux
    container pings it, it pings the Linux container, and its pcap decodes."""
    root = Path(__file__).resolve().parents[2]
    pcap = tmp_path / "emulator.pcap"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab["win"], sys.executable, "-m", "vxlan", "--bind",
         lab["win_pa"], "--vni", "4096", "--ip", "10.244.7.20", "--mac", EMU_MAC, "--flood",
         lab["lnx_pa"], "--fdb", f"{CTR_MAC}={lab['lnx_pa']}", "--duration", "240", "--ping",
         "10.244.7.10", "--pcap", str(pcap)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        # SIGINT ends it with its report; a pytest worker may run with SIGINT ignored,
        # which the child would inherit (and Python then never raises KeyboardInterrupt).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for_line(proc, "listening on")
        ping = subprocess.run(
            ["ip", "netns", "exec", lab["ctr"], "ping", "-c", "3", "-i", "0.2", "-W",
             ANSWER_WAIT, "10.244.7.20"], capture_output=True, text=True, timeout=90,
        )
        # The child pings once a second from its start; it is stopped (SIGINT: it prints
        # its report) once the Linux container has answered three of those, not after a
        # fixed 4 s a loaded machine may spend before the Linux ping even runs.
        while _echo_replies_sent(lab["ctr"]) < 3 and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert ping.returncode == 0, ping.stdout + ping.stderr
    report = json.loads(out.strip().splitlines()[-1])
    assert report["guest"]["icmp echo reply"] >= 3, (report, err)
    assert len(report["echo_replies"]) >= 2, report
    assert {r["from"] for r in report["echo_replies"]} == {"10.244.7.10"}
    frames = vxlan.read_pcap(pcap)
    vnis = {vxlan.decapsulate(f, expected_vni=4096).vni for f in frames}
    assert vnis == {4096}
