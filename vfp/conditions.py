"""Rule conditions: what a rule (or a group) matches on.

Each condition type holds a list of values; an empty list means "any". A condition matches
when any of its values matches (OR), a rule when all its conditions match (AND), as
vfpctrl's grammar and OPTE (which copies VFP) describe. IP values are inclusive ranges of
ints (a prefix is stored as its range; a single address as a range of one), ports are
inclusive ranges, MACs and VNIs exact values, tags names of the port's IP sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vfp.addr import format_ip, format_mac, ip_width, parse_ip, parse_mac, prefix_range
from vfp.errors import InvalidRule

IpRange = tuple[int, int]
PortRange = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Conditions:
    """The conditions of one rule or group; every field empty = match everything."""

    protocols: tuple[int, ...] = ()
    src_ips: tuple[IpRange, ...] = ()
    dst_ips: tuple[IpRange, ...] = ()
    src_ports: tuple[PortRange, ...] = ()
    dst_ports: tuple[PortRange, ...] = ()
    src_macs: tuple[int, ...] = ()
    dst_macs: tuple[int, ...] = ()
    vnis: tuple[int, ...] = ()
    src_tags: tuple[str, ...] = ()
    dst_tags: tuple[str, ...] = ()
    tcp_syn: int = 0  # 0 any, 1 TCP SYN only (rule flag 16), 2 not SYN (rule flag 4)

    def is_empty(self) -> bool:
        return not any(
            (self.protocols, self.src_ips, self.dst_ips, self.src_ports, self.dst_ports,
             self.src_macs, self.dst_macs, self.vnis, self.src_tags, self.dst_tags,
             self.tcp_syn)
        )

    def validate(self, version: int) -> None:
        """Refuse impossible values, naming the field (InvalidRule)."""
        top = (1 << ip_width(version)) - 1
        for p in self.protocols:
            if not 0 <= p <= 255:
                raise InvalidRule("protocol", f"{p} is not in 0..255")
        for name, ranges in (("source IP", self.src_ips), ("destination IP", self.dst_ips)):
            for lo, hi in ranges:
                if not 0 <= lo <= hi <= top:
                    raise InvalidRule(name, f"range {lo}-{hi} is empty or not IPv{version}")
        for name, ports in (("source port", self.src_ports),
                            ("destination port", self.dst_ports)):
            for lo, hi in ports:
                if not 0 <= lo <= hi <= 65535:
                    raise InvalidRule(name, f"range {lo}-{hi} is not within 0..65535")
        for name, macs in (("source MAC", self.src_macs), ("destination MAC", self.dst_macs)):
            for m in macs:
                if not 0 <= m < 1 << 48:
                    raise InvalidRule(name, f"{m} is not a 48-bit MAC")
        for v in self.vnis:
            if not 0 <= v < 1 << 24:
                raise InvalidRule("VNI", f"{v} is not a 24-bit VNI")

    def matches(
        self,
        proto: int,
        src_ip: int,
        dst_ip: int,
        sport: int,
        dport: int,
        src_mac: int = 0,
        dst_mac: int = 0,
        vni: int | None = None,
        tags: Mapping[str, frozenset[int]] | None = None,
        tcp_flags: int = 0,
    ) -> bool:
        """True when every non-empty condition has a value that matches."""
        if self.tcp_syn:
            syn = proto == 6 and bool(tcp_flags & 0x02)
            if syn != (self.tcp_syn == 1):
                return False
        if self.protocols and proto not in self.protocols:
            return False
        if self.src_ips and not _in_ranges(src_ip, self.src_ips):
            return False
        if self.dst_ips and not _in_ranges(dst_ip, self.dst_ips):
            return False
        if self.src_ports and not _in_ranges(sport, self.src_ports):
            return False
        if self.dst_ports and not _in_ranges(dport, self.dst_ports):
            return False
        if self.src_macs and src_mac not in self.src_macs:
            return False
        if self.dst_macs and dst_mac not in self.dst_macs:
            return False
        if self.vnis and vni not in self.vnis:
            return False
        if self.src_tags or self.dst_tags:
            known = tags or {}
            if self.src_tags and not any(src_ip in known.get(t, ()) for t in self.src_tags):
                return False
            if self.dst_tags and not any(dst_ip in known.get(t, ()) for t in self.dst_tags):
                return False
        return True

    def describe(self, version: int = 4) -> list[tuple[str, str]]:
        """(label, value) pairs in vfpctrl's order and spelling."""
        out: list[tuple[str, str]] = []
        if self.protocols:
            out.append(("Protocols", ", ".join(str(p) for p in self.protocols)))
        if self.src_ips:
            out.append(("Source IP", _ips_text(self.src_ips, version)))
        if self.dst_ips:
            out.append(("Destination IP", _ips_text(self.dst_ips, version)))
        if self.src_ports:
            out.append(("Source ports", _ports_text(self.src_ports)))
        if self.dst_ports:
            out.append(("Destination ports", _ports_text(self.dst_ports)))
        if self.src_macs:
            out.append(("Source MAC", ", ".join(format_mac(m) for m in self.src_macs)))
        if self.dst_macs:
            out.append(("Destination MAC", ", ".join(format_mac(m) for m in self.dst_macs)))
        if self.vnis:
            out.append(("TNI", ", ".join(str(v) for v in self.vnis)))
        if self.src_tags:
            out.append(("Source tag", ", ".join(self.src_tags)))
        if self.dst_tags:
            out.append(("Destination tag", ", ".join(self.dst_tags)))
        return out


def _in_ranges(value: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= value <= hi for lo, hi in ranges)


def _ips_text(ranges: Iterable[IpRange], version: int) -> str:
    return ", ".join(
        format_ip(lo, version) if lo == hi else f"{format_ip(lo, version)}-{format_ip(hi, version)}"
        for lo, hi in ranges
    )


def _ports_text(ranges: Iterable[PortRange]) -> str:
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def parse_ips(text: str | None, field: str = "IP") -> tuple[tuple[IpRange, ...], int | None]:
    """`'10.0.0.0/24,10.1.0.1,10.2.0.1-10.2.0.9'` (or `*`/None) -> (ranges, version)."""
    if text is None or text.strip() in ("", "*"):
        return (), None
    out: list[IpRange] = []
    version: int | None = None
    for part in text.split(","):
        part = part.strip()
        try:
            if "/" in part:
                net_text, len_text = part.split("/", 1)
                net, ver = parse_ip(net_text)
                length = int(len_text)
                if not 0 <= length <= ip_width(ver):
                    raise InvalidRule(field, f"prefix length {length} out of range")
                out.append(prefix_range(net, length, ip_width(ver)))
            elif "-" in part:
                lo_text, hi_text = part.split("-", 1)
                lo, ver = parse_ip(lo_text)
                hi, ver2 = parse_ip(hi_text)
                if ver != ver2 or lo > hi:
                    raise InvalidRule(field, f"bad range {part!r}")
                out.append((lo, hi))
            else:
                value, ver = parse_ip(part)
                out.append((value, value))
        except ValueError as exc:
            raise InvalidRule(field, f"{part!r} is not an address: {exc}") from None
        if version is not None and ver != version:
            raise InvalidRule(field, "mixes IPv4 and IPv6")
        version = ver
    return tuple(out), version


def parse_ports(text: str | None, field: str = "port") -> tuple[PortRange, ...]:
    """`'80,443,8000-8080'` (or `*`/None) -> ranges; refuses values outside 0..65535."""
    if text is None or text.strip() in ("", "*"):
        return ()
    out: list[PortRange] = []
    for part in text.split(","):
        part = part.strip()
        try:
            lo, _, hi = part.partition("-")
            pair = (int(lo), int(hi) if hi else int(lo))
        except ValueError:
            raise InvalidRule(field, f"{part!r} is not a port") from None
        if not 0 <= pair[0] <= pair[1] <= 65535:
            raise InvalidRule(field, f"{part!r} is not within 0..65535")
        out.append(pair)
    return tuple(out)


def parse_protocols(text: str | None) -> tuple[int, ...]:
    """`'6,17'` (or `*`, `256` = any) -> protocol numbers."""
    if text is None or text.strip() in ("", "*", "256"):
        return ()
    out: list[int] = []
    for part in text.split(","):
        try:
            value = int(part)
        except ValueError:
            raise InvalidRule("protocol", f"{part!r} is not a number") from None
        if not 0 <= value <= 255:
            raise InvalidRule("protocol", f"{value} is not in 0..255")
        out.append(value)
    return tuple(out)


def parse_macs(text: str | None, field: str = "MAC") -> tuple[int, ...]:
    if text is None or text.strip() in ("", "*"):
        return ()
    try:
        return tuple(parse_mac(p) for p in text.split(","))
    except ValueError as exc:
        raise InvalidRule(field, str(exc)) from None


def conditions(
    *,
    proto: str | None = None,
    src_ip: str | None = None,
    dst_ip: str | None = None,
    src_port: str | None = None,
    dst_port: str | None = None,
    src_mac: str | None = None,
    dst_mac: str | None = None,
    vni: str | None = None,
    src_tag: str | None = None,
    dst_tag: str | None = None,
) -> Conditions:
    """Build Conditions from vfpctrl-style text fields (`*` or None = any)."""
    src, _ = parse_ips(src_ip, "source IP")
    dst, _ = parse_ips(dst_ip, "destination IP")
    vnis: tuple[int, ...] = ()
    if vni not in (None, "", "*"):
        try:
            vnis = tuple(int(v) for v in str(vni).split(","))
        except ValueError:
            raise InvalidRule("VNI", f"{vni!r} is not a number") from None
    return Conditions(
        protocols=parse_protocols(proto),
        src_ips=src,
        dst_ips=dst,
        src_ports=parse_ports(src_port, "source port"),
        dst_ports=parse_ports(dst_port, "destination port"),
        src_macs=parse_macs(src_mac, "source MAC"),
        dst_macs=parse_macs(dst_mac, "destination MAC"),
        vnis=vnis,
        src_tags=tuple(t for t in (src_tag or "").split(",") if t and t != "*"),
        dst_tags=tuple(t for t in (dst_tag or "").split(",") if t and t != "*"),
    )
