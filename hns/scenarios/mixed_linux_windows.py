"""mixed-linux-windows: the emulated Windows node's overlay joined by a real Linux kernel
VXLAN node, in network namespaces; ping both ways.

The Linux node is built as flannel builds one (packets.md section 2, "static" mode):
a vxlan device ``flannel.4096`` (VNI 4096, dstport 4789, nolearning, MTU 1450, the node's
VtepMAC) holding the node's ``10.244.1.0/32``, a bridge with the pod subnet's gateway, a
container namespace behind a veth, and for the Windows node's lease a route
``10.244.2.0/24 via 10.244.2.0 onlink``, a permanent neighbour 10.244.2.0 -> the Windows DR
MAC and an FDB entry DR MAC -> the Windows PA.  Linux learns nothing else.

The Windows node is one emulated Host whose underlay is a real UDP socket bound to its PA
inside its own namespace (``hns/scenarios/netns.py`` opens it there), and whose forwarding
comes only from HNS objects (fixtures/scenarios/mixed-linux-windows/scenario.json): the
Overlay network with its DR MAC, a RemoteSubnetRoute for the Linux lease and one pod
endpoint.  The scenario pumps the host itself, tracing every frame that arrives.

Needs root, iproute2, ping and the vxlan driver; without them it prints SKIP (run()
returns True: it did not fail, it did not run).  In CI, as root, it must PASS.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable

import vxlan
from hns.hosts import Host
from hns.scenarios import netns
from hns.scenarios.base import Failed, Run, Seen, Skipped, icmp_echo, packet_line

NAME = "mixed-linux-windows"
SUMMARY = "a real Linux kernel VXLAN node (netns) and an emulated Windows node ping both ways"


class RecordingUnderlay(vxlan.Underlay):
    """An underlay that keeps a copy of every frame sent and received (for checks and the
    pcap file)."""

    def __init__(self, inner: vxlan.Underlay) -> None:
        super().__init__()
        self.inner = inner
        self.pa = inner.pa
        self.port = inner.port
        self.frames: list[bytes] = []
        self._lock = threading.Lock()

    def send(self, frame: bytes) -> None:
        with self._lock:
            self.frames.append(bytes(frame))
        self.inner.send(frame)
        self.sent += 1

    def recv(self, timeout: float | None = 0.0) -> bytes | None:
        frame = self.inner.recv(timeout)
        if frame is not None:
            self.received += 1
            with self._lock:
                self.frames.append(bytes(frame))
        return frame

    def capture(self) -> list[bytes]:
        with self._lock:
            return list(self.frames)

    def close(self) -> None:
        self.inner.close()


def _build_underlay(ns: netns.Namespaces, spec: dict[str, object],
                    win_pa: str) -> tuple[str, str]:
    """The two nodes' namespaces and one veth between them: (linux ns, windows ns)."""
    lnx, win = ns.add("lnx"), ns.add("win")
    pa, plen = str(spec["pa"]), str(spec["underlay_prefix"])
    ns.ip(lnx, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", win)
    ns.ip(lnx, "addr", "add", f"{pa}/{plen}", "dev", "ul0")
    ns.ip(win, "addr", "add", f"{win_pa}/{plen}", "dev", "ul0")
    ns.ip(lnx, "link", "set", "ul0", "up")
    ns.ip(win, "link", "set", "ul0", "up")
    return lnx, win


def _build_linux(ns: netns.Namespaces, spec: dict[str, object], lnx: str, win_pa: str,
                 win_cidr: str, win_dr_mac: str, vni: int) -> str:
    """The Linux node's overlay device, bridge and container, and what flannel programs
    for the Windows node's lease: returns the container's namespace."""
    ctr = ns.add("ctr")
    pa = str(spec["pa"])
    mtu = str(spec["mtu"])
    # the flannel.<VNI> device, as flannel's Linux vxlan backend makes it
    dev = f"flannel.{vni}"
    ns.ip(lnx, "link", "add", dev, "address", str(spec["vtep_mac"]), "type", "vxlan", "id",
          str(vni), "dstport", "4789", "local", pa, "dev", "ul0", "nolearning")
    ns.ip(lnx, "link", "set", dev, "mtu", mtu)
    ns.ip(lnx, "addr", "add", f"{spec['vtep_ip']}/32", "dev", dev)
    ns.ip(lnx, "link", "set", dev, "up")
    # the pod bridge and one pod
    ns.ip(lnx, "link", "add", "cni0", "type", "bridge")
    ns.ip(lnx, "addr", "add", f"{spec['bridge_ip']}/{str(spec['pod_cidr']).split('/')[1]}",
          "dev", "cni0")
    ns.ip(lnx, "link", "set", "cni0", "mtu", mtu)
    ns.ip(lnx, "link", "add", "veth0", "mtu", mtu, "type", "veth", "peer", "name", "eth0",
          "netns", ctr)
    ns.ip(lnx, "link", "set", "veth0", "master", "cni0")
    ns.ip(lnx, "link", "set", "veth0", "up")
    ns.ip(lnx, "link", "set", "cni0", "up")
    ns.ip(ctr, "link", "set", "eth0", "address", str(spec["container_mac"]))
    ns.ip(ctr, "link", "set", "eth0", "mtu", mtu)
    ns.ip(ctr, "addr", "add", f"{spec['container_ip']}/24", "dev", "eth0")
    ns.ip(ctr, "link", "set", "eth0", "up")
    ns.ip(ctr, "route", "add", "default", "via", str(spec["bridge_ip"]))
    for key in ("net.ipv4.ip_forward",):
        ns.sysctl(lnx, key, "1")
    for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
        ns.sysctl(lnx, key, "0")
    # what flannel programs for the Windows node's lease (VtepMAC = its DR MAC)
    gw = win_cidr.split("/")[0]
    mac = ":".join(f"{b:02x}" for b in vxlan.mac_from_text(win_dr_mac))
    ns.ip(lnx, "route", "add", win_cidr, "via", gw, "dev", dev, "onlink")
    ns.ip(lnx, "neigh", "replace", gw, "lladdr", mac, "dev", dev, "nud", "permanent")
    proc = ns.exec(lnx, "bridge", "fdb", "append", mac, "dev", dev, "dst", win_pa, "self",
                   "permanent")
    out, _ = proc.communicate(timeout=20)
    if proc.returncode != 0:
        raise Failed(f"bridge fdb append refused: {out.strip()}")
    return ctr


def _pump_while(run: Run, busy: Callable[[], bool], underlay: vxlan.UdpUnderlay, *,
                limit: float = 60.0) -> None:
    """Trace frames arriving from the Linux node while `busy()` (a ping runs): each wait
    ends when a datagram reaches `underlay` (or after 0.1 s, to see `busy()` change without
    one); `limit` only bounds a peer that never answers, as a loaded machine may be slow."""
    deadline = time.monotonic() + limit
    run.pump()
    while busy() and (left := deadline - time.monotonic()) > 0:
        select.select([underlay], [], [], min(left, 0.1))
        run.pump()


def play(run: Run, *, pcap: str | None, before_traffic: Callable[[Run], None] | None) -> None:
    reason = netns.available()
    if reason is not None:
        raise Skipped(reason)
    v = run.vars
    linux = dict(run.data["linux"])
    win_pa = str(run.data["hosts"]["W"]["pa"])
    win_vars = run.host_vars("W")
    ns = netns.Namespaces()
    run.cleanups.append(ns.close)

    run.section("the Windows node: an emulated host on a real UDP socket (its own netns)")
    # The Linux lease's route needs the Windows DR MAC first: the network is made before the
    # Linux side so the DR MAC is read back from HNS, as flannel publishes it.
    lnx, win = _build_underlay(ns, linux, win_pa)
    udp = netns.open_in(win, lambda: vxlan.UdpUnderlay(win_pa))
    underlay = RecordingUnderlay(udp)
    host = Host("W", win_pa, underlay=underlay)
    run.add_host("W", host, underlay.capture)
    if pcap is not None:
        run.cleanups.append(lambda: vxlan.write_pcap(pcap, underlay.capture()))
    run.say(f"host W: PA {win_pa} (UDP {underlay.port} bound in netns {win})")

    run.section("HNS calls (flannel + sdnoverlay CNI on the Windows node; HCN V2)")
    run.run_calls()

    run.section("the Linux node: kernel vxlan device, bridge, container (as flannel makes them)")
    ctr = _build_linux(ns, linux, lnx, win_pa, str(win_vars["POD_CIDR"]), str(v["DRMAC"]),
                       int(v["VNI"]))
    run.say(f"linux node netns {lnx} (PA {linux['pa']}), container netns {ctr} "
            f"({linux['container_ip']})")
    if before_traffic is not None:
        before_traffic(run)

    run.section("Linux container -> Windows container: kernel ping over VXLAN")
    ping = ns.exec(ctr, "ping", "-c", "3", "-i", "0.3", "-W", "2", str(v["W1_IP"]))
    _pump_while(run, lambda: ping.poll() is None, udp)
    out, _ = ping.communicate(timeout=10)
    run.say(out.rstrip())
    received = _received_count(out)
    run.check(received >= 2, f"the Linux container got {received} of 3 echo replies "
                             f"from {v['W1_IP']}")
    arrived = [Seen(f) for f in run.received("W", "EP_W1")]
    run.check(any(a.src == linux["container_ip"] and a.icmp_type == 8 for a in arrived),
              "the Windows container received the Linux container's echo requests")

    run.section("Windows container -> Linux container: echo through the RemoteSubnetRoute")
    gw_mac = run.resolve("W", "EP_W1", str(win_vars["POD_GW"]))
    guest = host.guest(str(v["EP_W1"]))
    w1_mac = vxlan.mac_from_text(str(v["W1_MAC"]))
    replies = 0
    for seq in (101, 102, 103):
        mark = run.underlay_count()
        frame = icmp_echo(w1_mac, gw_mac, str(v["W1_IP"]), str(linux["container_ip"]), seq=seq)
        run.send("W", "EP_W1", frame, f"w1 -> {linux['container_ip']} icmp echo seq {seq}")
        sent = [Seen(f) for f in run.underlay_since(mark)]
        out_frames = [s for s in sent if s.outer_dst == linux["pa"]]
        run.check(bool(out_frames) and all(s.vni == int(v["VNI"]) for s in out_frames),
                  f"echo {seq} encapsulated to the Linux PA with VNI {v['VNI']}")

        def waiting(seq: int = seq) -> bool:
            return not any(r.seq == seq for r in guest.echo_replies)

        _pump_while(run, waiting, udp)
        if not waiting():
            replies += 1
    run.check(replies >= 2, f"the Windows container got {replies} of 3 echo replies from Linux")
    run.say("underlay frames: " + "; ".join(packet_line(f) for f in underlay.capture()[-4:]))


def _received_count(ping_output: str) -> int:
    for line in ping_output.splitlines():
        if "received" in line:
            for part in line.split(","):
                part = part.strip()
                if part.endswith("received"):
                    try:
                        return int(part.split()[0])
                    except ValueError:
                        return 0
    return 0
