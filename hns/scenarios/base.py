"""The machinery every scenario shares: its fixture (the HNS calls, as data), the calls
runner, the packet helpers that print traces, and the checks that end in PASS or FAIL.

Glossary
--------
Fixture     ``fixtures/scenarios/<name>/scenario.json``: the hosts (name, provider
            address, per-host variables, ``options`` passed to hns.hosts.Host) and the
            ordered HNS calls each real caller makes, with the JSON bodies in the caller's
            own shape (V1 ``HNSCall`` for Docker and Felix, V2 ``Hcn*`` for flannel, the CNI
            plugins and kube-proxy).
Variables   ``${NAME}`` in a body, path or id is replaced before the call; a string that is
            exactly ``${NAME}`` takes the variable's value with its type (an int stays an
            int); ``${NAME|go_mac}`` writes a MAC as Go's net.HardwareAddr prints it
            (``0e:2a:0a:f4:01:0a``), the form Docker and flannel send.  Calls ``save``
            values from their answers into new variables (``"save": {"NET_${HOST}":
            "ID"}``), so later calls can name objects by the ids HNS gave them, as the real
            callers do.
Run         one scenario run: the output stream, the variables, the checks.  `Run.check`
            prints ``ok:`` or ``not ok:`` and goes on; the verdict is FAIL with the first
            broken expectation (a refused HNS call is one).  `Failed` ends a run at once
            (a variable no call saved); `Skipped` ends a scenario that cannot run here
            (no root, no netns).

The scenarios never hand-wire VFP: every rule a packet meets comes from the HNS objects
the calls made, through the compiler (hns.compiler) and the host's vSwitch (hns.hosts).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import vfp
import vxlan
from hns.errors import HnsError
from hns.hosts import Cluster, Host, InjectResult
from vfp import ctl as vfp_ctl

__all__ = [
    "Failed",
    "Run",
    "Skipped",
    "fixture_dir",
    "load_fixture",
    "substitute",
]

Json = dict[str, Any]

#: Environment variable naming another directory that holds the scenario fixtures
#: (one sub-directory per scenario); the default is the checkout's fixtures/scenarios.
FIXTURES_ENV = "HNS_SCENARIO_FIXTURES"

_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)(?:\|([a-z_]+))?\}")


class Failed(Exception):
    """A scenario's expectation did not hold; the message is the FAIL reason."""


class Skipped(Exception):
    """The scenario cannot run in this environment; the message says why."""


def fixture_dir(name: str) -> Path:
    """The directory of one scenario's data files."""
    root = os.environ.get(FIXTURES_ENV)
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"
    return base / name


def load_fixture(name: str) -> Json:
    path = fixture_dir(name) / "scenario.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise Failed(f"cannot read the scenario data {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("calls"), list):
        raise Failed(f"{path}: not a scenario (an object with a 'calls' list)")
    return data


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """``${NAME}`` -> the variable, recursively through lists and objects."""
    if isinstance(value, str):
        for _ in range(4):  # nested: ${NET_${HOST}} resolves the inner name first
            whole = _VAR.fullmatch(value)
            if whole is not None:
                return _lookup(whole.group(1), whole.group(2), variables)
            text = _VAR.sub(lambda m: str(_lookup(m.group(1), m.group(2), variables)), value)
            if text == value:
                break
            value = text
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def _lookup(name: str, how: str | None, variables: Mapping[str, Any]) -> Any:
    if name not in variables:
        raise Failed(f"the scenario data uses ${{{name}}}, which no earlier call saved")
    value = variables[name]
    if how is None:
        return value
    if how == "go_mac":
        # Go's net.HardwareAddr.String(): what Docker and flannel send after ParseMAC
        return ":".join(f"{b:02x}" for b in vxlan.mac_from_text(str(value)))
    raise Failed(f"the scenario data uses an unknown filter |{how}")


def pick(answer: Any, path: str) -> Any:
    """A value inside an HNS answer: dotted keys, list indexes, and ``Key[Field=Value]``
    for the first list item whose Field equals Value (``Policies[Type=ProviderAddress]``)."""
    cur = answer
    for part in path.split("."):
        m = re.fullmatch(r"([A-Za-z0-9_]*)\[([A-Za-z0-9_]+)=([^\]]*)\]", part)
        if m is not None:
            key, field, want = m.groups()
            items = cur.get(key) if key and isinstance(cur, dict) else cur
            found = [i for i in items or [] if isinstance(i, dict) and str(i.get(field)) == want]
            if not found:
                raise Failed(f"the answer has no {part} (path {path})")
            cur = found[0]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise Failed(f"the answer has no {part!r} (path {path})")
    return cur


def _short(value: Any, limit: int = 150) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Run:
    """One run of one scenario: the hosts, the variables, the output and the checks."""

    def __init__(self, name: str, out: TextIO, data: Json) -> None:
        self.name = name
        self.out = out
        self.data = data
        self.vars: dict[str, Any] = dict(data.get("vars") or {})
        self.hosts: dict[str, Host] = {}
        self.cluster: Cluster | None = None
        self._capture: Callable[[], list[bytes]] = list
        self.cleanups: list[Callable[[], None]] = []
        self.failures: list[str] = []

    def close(self) -> None:
        """Release the hosts (closing their sockets and the pcap file), then run the
        cleanups a scenario registered (pcap of a UDP host, netns teardown), last
        registered first."""
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        for host in self.hosts.values():
            host.close()
        self.hosts.clear()
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as exc:  # cleanup must not hide the verdict
                self.say(f"cleanup failed: {type(exc).__name__}: {exc}")

    # -- output ------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def section(self, title: str) -> None:
        self.say()
        self.say(f"=== {title}")

    def check(self, ok: bool, reason: str) -> bool:
        """Record one expectation.  A broken one prints ``not ok:`` and the scenario goes
        on (its sections are independent), so one run reports every broken expectation;
        the verdict is FAIL with the first of them."""
        if ok:
            self.say(f"ok: {reason}")
        else:
            self.say(f"not ok: {reason}")
            self.failures.append(reason)
        return ok

    def summary(self) -> None:
        """The hosts' drop counters (reason -> frames), to read next to the traces."""
        if not self.hosts:
            return
        self.section("drops counted by the hosts")
        for name, host in self.hosts.items():
            drops = ", ".join(f"{why}: {n}" for why, n in sorted(host.drops.items()))
            self.say(f"[{name}] {drops or 'none'}")

    def verdict(self) -> None:
        """Raise Failed when any check broke (the reason: the first, and how many)."""
        if self.failures:
            more = len(self.failures) - 1
            raise Failed(self.failures[0] + (f" (and {more} more 'not ok' above)" if more else ""))

    # -- hosts and calls ---------------------------------------------------------------

    def host_vars(self, host: str) -> dict[str, Any]:
        """The variables a call on `host` sees: the global ones, every host's own as
        ``NAME_<host>``, and this host's own under their plain names (and ``HOST``)."""
        hosts = self.data.get("hosts") or {}
        out = dict(self.vars)
        for name, spec in hosts.items():
            for key, value in (spec.get("vars") or {}).items():
                out[f"{key}_{name}"] = value
        out.update((hosts.get(host) or {}).get("vars") or {})
        out["HOST"] = host
        return out

    def build_cluster(self, *, pcap: str | None = None) -> Cluster:
        """A Cluster with the fixture's hosts at their provider addresses."""
        cluster = Cluster(pcap=pcap)
        self.cluster = cluster
        self._capture = cluster.capture
        for name, spec in (self.data.get("hosts") or {}).items():
            options = dict(spec.get("options") or {})
            self.hosts[name] = cluster.add_host(name, spec["pa"], **options)
            self.vars[f"PA_{name}"] = spec["pa"]
            if options:
                self.say(f"host {name} options: {options}")
        self.say(f"hosts: {', '.join(f'{n} (PA {h.host_ip})' for n, h in self.hosts.items())}")
        return cluster

    def run_calls(self, *, phase: str | None = None) -> None:
        """Make the fixture's calls (those of `phase`, or those without one)."""
        for call in self.data["calls"]:
            if call.get("phase") != phase:
                continue
            for host in call.get("hosts") or [call["host"]]:
                self.call(host, call)

    def add_host(self, name: str, host: Host, capture: Callable[[], list[bytes]]) -> None:
        """A host made outside a Cluster (a real UDP underlay); `capture` lists its
        underlay frames."""
        self.hosts[name] = host
        self.vars[f"PA_{name}"] = host.host_ip
        self._capture = capture

    def call(self, host_name: str, call: Json) -> Any:
        """One HNS call on one host, as its caller makes it; saves what it asks for."""
        host = self.hosts[host_name]
        v = self.host_vars(host_name)
        caller = call.get("caller", "?")
        body = substitute(call.get("body"), v)
        text = None if body is None else json.dumps(body)
        try:
            if "function" in call:
                function = str(call["function"])
                ident = substitute(call.get("id"), v)
                args = [a for a in (ident, None if body is None else _short(body)) if a]
                where = f"{function}({', '.join(args)})"
                self.say(f"[{host_name}] {caller}: {where}")
                answer = host.service.hcn_call(function, ident, text)
            else:
                method, path = str(call["method"]), str(substitute(call["path"], v))
                shown = "" if body is None else " " + _short(body)
                self.say(f"[{host_name}] {caller}: HNSCall {method} {path}{shown}")
                answer = host.service.hns_call(method, path, text)
        except HnsError as exc:
            # Later calls that need what this one would have saved stop the run; the
            # others go on, so the packets show what the refusal costs.
            self.check(False, f"[{host_name}] {caller}'s call was refused: {exc}")
            return None
        for var, path in (call.get("save") or {}).items():
            self.vars[substitute(var, v)] = pick(answer, path)
        if isinstance(answer, dict) and "ID" in answer:
            self.say(f"    -> ID {answer['ID']}")
        return answer

    # -- packets -----------------------------------------------------------------------

    def send(self, host_name: str, ep: str, frame: bytes, label: str) -> InjectResult:
        """A frame leaves the container of `ep` (an endpoint id or variable name): trace
        every port it crosses on this host, then run the cluster, tracing each underlay
        frame through the receiving host."""
        host = self.hosts[host_name]
        ep_id = self.vars.get(ep, ep)
        self.say()
        self.say(f"--- {label}: [{host_name}] {packet_line(frame)}")
        result = host.inject(ep_id, frame, vfp.OUT, trace=True)
        self._print_result(result)
        self.pump()
        return result

    def inject_in(self, host_name: str, ep: str, frame: bytes, label: str) -> InjectResult:
        """A frame arrives at the port of `ep` from the wire (host side / underlay)."""
        host = self.hosts[host_name]
        ep_id = self.vars.get(ep, ep)
        self.say()
        self.say(f"--- {label}: [{host_name}] into {ep} {packet_line(frame)}")
        result = host.inject(ep_id, frame, vfp.IN, trace=True)
        self._print_result(result)
        self.pump()
        return result

    def from_outside(self, host_name: str, frame: bytes, label: str) -> InjectResult:
        """A frame reaches the host from the physical network (a client outside the
        cluster): traced through the ports it crosses, then the cluster runs."""
        host = self.hosts[host_name]
        self.say()
        self.say(f"--- {label}: outside -> [{host_name}] {packet_line(frame)}")
        result = host.receive_external(frame, trace=True)
        self._print_result(result)
        self.pump()
        return result

    def from_host(self, host_name: str, frame: bytes, label: str) -> InjectResult:
        """The host's own IP stack sends a frame (through its host vNIC port)."""
        host = self.hosts[host_name]
        self.say()
        self.say(f"--- {label}: [{host_name}] host stack {packet_line(frame)}")
        result = host.send_from_host(frame, trace=True)
        self._print_result(result)
        self.pump()
        return result

    def host_port_vfpctrl(self, host_name: str, network: str, *args: str) -> str:
        """A vfpctrl listing of a network's host vNIC port (as networkhealth.ps1 reads it)."""
        host = self.hosts[host_name]
        port = host.host_port(str(self.vars.get(network, network)))
        if port is None:
            self.check(False, f"network {network} on {host_name} has no host vNIC port")
            return ""
        return self._run_vfpctrl(host_name, [args[0], "/port", port.id, *args[1:]])

    def resolve(self, host_name: str, ep: str, *ips: str) -> bytes:
        """The MAC the container of `ep` learns by ARP for the first of `ips` that gets an
        answer (the vSwitch answers ARP outside the layers); Failed if none does."""
        host = self.hosts[host_name]
        ep_id = self.vars.get(ep, ep)
        guest = host.guest(ep_id)
        for ip in ips:
            addr = vxlan.ipv4_from_text(ip)
            if addr not in guest.arp_cache:
                request = vxlan.encode_frame(vxlan.Frame(
                    vxlan.Ethernet(vxlan.BROADCAST_MAC, guest.mac, vxlan.ETH_P_ARP),
                    arp=vxlan.ARP(vxlan.ARP.REQUEST, guest.mac, guest.ip, vxlan.ZERO_MAC, addr)))
                result = host.send(ep_id, request)
                self.pump()
                self.say(f"    arp who-has {ip} from {ep}: {result.where}"
                         f"{' (' + result.reason + ')' if result.reason else ''}")
            mac = guest.arp_cache.get(addr)
            if mac is not None:
                return mac
        raise Failed(f"no ARP answer for {' or '.join(ips)} on host {host_name}")

    def decided_by(self, result: InjectResult, layer: str, group: str, rule_type: str) -> bool:
        """True when, on the first port the frame crossed, `layer` was decided by a rule of
        type `rule_type` in `group` (names as vfp.md section 3 lists them)."""
        trace = result.trace
        if trace is None:
            return False
        for step in trace.steps:
            if step.layer.name != layer or step.decided_by != "rule" or step.rule is None:
                continue
            for g in step.groups:
                if g.rule is step.rule and g.group.name == group:
                    return step.rule.action.kind == rule_type
        return False

    def vfpctrl(self, host_name: str, ep: str, *args: str) -> str:
        """Print (and return) a vfpctrl listing of a local endpoint's port, as an operator
        would look at the compiled rules on the Windows host."""
        host = self.hosts[host_name]
        ep_id = str(self.vars.get(ep, ep))
        with host.service.lock:
            # vfpctrl names the port by its own GUID (EndpointPortGuid), not the endpoint's.
            port = host.port_of(ep_id)
        return self._run_vfpctrl(
            host_name, [args[0], "/port", port.id if port is not None else ep_id, *args[1:]])

    def _run_vfpctrl(self, host_name: str, argv: list[str]) -> str:
        """Run vfpctrl `argv` on the host's switch; print and return its listing."""
        host = self.hosts[host_name]
        with host.service.lock:
            code, text = vfp_ctl.run(host.switch, argv)
        self.say()
        self.say(f"--- [{host_name}] vfpctrl {' '.join(argv)}")
        text = text.replace("\r\n", "\n")
        self.say(_indent(text))
        if code != 0:
            self.check(False, f"vfpctrl {' '.join(argv)} on {host_name} failed")
        return text

    def _print_result(self, result: InjectResult) -> None:
        for t in result.traces:
            self.say(_indent(vfp.trace_text(t)))
        target = f" {result.target}" if result.target else ""
        reason = f" ({result.reason})" if result.reason else ""
        self.say(f"    => {result.where}{target}{reason}")

    def pump(self, max_rounds: int = 100) -> None:
        """Move frames until the cluster is quiet; every underlay frame is traced through
        the host it reaches (frames the containers answer with are summarised)."""
        for _ in range(max_rounds):
            moved = 0
            for name, host in self.hosts.items():
                underlay = host.underlay
                while underlay is not None:
                    frame = underlay.recv(0.0)
                    if frame is None:
                        break
                    moved += 1
                    self.say(f"    underlay -> [{name}] {packet_line(frame)}")
                    result = host.receive(frame, trace=True)
                    for t in result.traces:
                        self.say(_indent(vfp.trace_text(t), 8))
                    target = f" {result.target}" if result.target else ""
                    reason = f" ({result.reason})" if result.reason else ""
                    self.say(f"        => {result.where}{target}{reason}")
                moved += host.pump()
            if moved == 0:
                break

    def underlay_since(self, start: int) -> list[bytes]:
        return self._capture()[start:]

    def underlay_count(self) -> int:
        return len(self._capture())

    def received(self, host_name: str, ep: str) -> list[bytes]:
        return self.hosts[host_name].received(self.vars.get(ep, ep))


def _indent(text: str, n: int = 4) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.rstrip("\n").split("\n"))


# ------------------------------------------------------------------------------- frames


def mac_bytes(text: str) -> bytes:
    return vxlan.mac_from_text(text)


def udp_frame(src_mac: str | bytes, dst_mac: str | bytes, src: str, dst: str, sport: int,
              dport: int, payload: bytes = b"scenario") -> bytes:
    return vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(_m(dst_mac), _m(src_mac), vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst), vxlan.IPPROTO_UDP,
                      ttl=128),
        l4=vxlan.UDP(sport, dport), payload=payload))


def tcp_frame(src_mac: str | bytes, dst_mac: str | bytes, src: str, dst: str, sport: int,
              dport: int, *, flags: int = 0x02) -> bytes:
    return vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(_m(dst_mac), _m(src_mac), vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst), vxlan.IPPROTO_TCP,
                      ttl=128),
        l4=vxlan.TCP(sport, dport, seq=1000, flags=flags)))


def icmp_echo(src_mac: str | bytes, dst_mac: str | bytes, src: str, dst: str, *,
              ident: int = 0x4D53, seq: int = 1) -> bytes:
    return vxlan.encode_frame(vxlan.Frame(
        vxlan.Ethernet(_m(dst_mac), _m(src_mac), vxlan.ETH_P_IPV4),
        ip=vxlan.IPv4(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst), vxlan.IPPROTO_ICMP,
                      ttl=128),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, ident, seq),
        payload=b"abcdefghijklmnopqrstuvwabcdefghi"))


def _m(mac: str | bytes) -> bytes:
    return mac if isinstance(mac, bytes) else vxlan.mac_from_text(mac)


class Seen:
    """The parts of a frame the checks look at (inner headers of a VXLAN frame, with the
    outer ones beside them)."""

    def __init__(self, frame: bytes, *, vxlan_port: int = vxlan.VXLAN_PORT) -> None:
        self.vni: int | None = None
        self.outer_src: str | None = None
        self.outer_dst: str | None = None
        self.outer_dport: int | None = None
        inner = frame
        try:
            d = vxlan.decapsulate(frame, dst_port=vxlan_port)
        except vxlan.DecodeError:
            pass
        else:
            self.vni = d.vni
            self.outer_src = vxlan.ip_to_text(d.src_pa, d.ip_version)
            self.outer_dst = vxlan.ip_to_text(d.dst_pa, d.ip_version)
            self.outer_dport = d.dst_port
            inner = d.inner
        self.src_mac = inner[6:12]
        self.dst_mac = inner[0:6]
        self.src: str | None = None
        self.dst: str | None = None
        self.proto: int | None = None
        self.sport: int | None = None
        self.dport: int | None = None
        self.icmp_type: int | None = None
        try:
            f = vxlan.decode_frame(inner)
        except vxlan.DecodeError:
            return
        if isinstance(f.ip, vxlan.IPv4):
            self.src = vxlan.ipv4_to_text(f.ip.src)
            self.dst = vxlan.ipv4_to_text(f.ip.dst)
            self.proto = f.ip.protocol
        if isinstance(f.l4, vxlan.UDP | vxlan.TCP):
            self.sport, self.dport = f.l4.sport, f.l4.dport
        elif isinstance(f.l4, vxlan.ICMPv4):
            self.icmp_type = f.l4.type

    @property
    def encapsulated(self) -> bool:
        return self.vni is not None


def packet_line(frame: bytes) -> str:
    """One readable line: outer PAs and VNI when encapsulated, then the inner packet."""
    s = Seen(frame)
    parts = []
    if s.encapsulated:
        parts.append(f"[vxlan {s.outer_src} > {s.outer_dst}:{s.outer_dport} vni {s.vni}]")
    if frame[12:14] == b"\x08\x06" or (s.encapsulated and s.src is None):
        parts.append("arp")
    elif s.src is None:
        parts.append(f"{len(frame)} bytes, not IPv4")
    else:
        l4 = {1: "icmp", 6: "tcp", 17: "udp"}.get(s.proto or 0, f"proto {s.proto}")
        ports = f" {s.sport} > {s.dport}" if s.sport is not None else ""
        parts.append(f"{l4} {s.src} > {s.dst}{ports}")
    return " ".join(parts)


def frames_matching(frames: Iterable[bytes], test: Callable[[Seen], bool]) -> list[Seen]:
    out = []
    for f in frames:
        s = Seen(f)
        if test(s):
            out.append(s)
    return out
