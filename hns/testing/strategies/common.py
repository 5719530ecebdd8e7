"""What the strategies share: edge-value helpers, the constants clients send, and the
scalar strategies (VSIDs, ports, priorities, addresses, prefixes, MACs, names).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from hns.profiles import PROFILES

Json = dict[str, Any]
T = TypeVar("T")


SCHEMA_V2: Final[Json] = {"Major": 2, "Minor": 0}

#: Network types drawn by default: the ones real clients create (hcsshim's set plus
#: Internal and ICS from the PowerShell module).
NETWORK_TYPES: Final[tuple[str, ...]] = (
    "NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay", "Private", "Internal")

#: LoadBalancerPortMappingFlags: ILB 1, LocalRoutedVIP 2, UseMux 4, PreserveDIP 8,
#: VipExternalIP 16.
LB_PORT_MAPPING_FLAGS: Final[tuple[int, ...]] = (1, 2, 4, 8, 16)

_VSID_EDGES = (4096, 4097, 5000, 16777214, 16777215)
_PORT_EDGES = (0, 1, 80, 443, 65535)
_PRIORITY_EDGES = (0, 100, 65500, 65535)
# Bases for network subnets: a few, so that networks drawn together often overlap.
_SUBNET_BASES = ("10.0.0.0", "10.244.0.0", "10.244.1.0", "172.16.0.0", "172.20.0.0",
                 "192.168.0.0", "192.168.1.0")
_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")


def _edged(edges: Sequence[int], lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([e for e in edges if lo <= e <= hi]), st.integers(lo, hi))


def _or(given: st.SearchStrategy[T] | None, default: st.SearchStrategy[T]
        ) -> st.SearchStrategy[T]:
    return default if given is None else given


def _profile(name: str) -> Any:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}")
    return PROFILES[name]


def vsids() -> st.SearchStrategy[int]:
    """VXLAN VNIs / overlay VSIDs HNS accepts: 4096..16777215; half the draws from the
    edges 4096, 4097, 5000, 16777214, 16777215."""
    return _edged(_VSID_EDGES, 4096, (1 << 24) - 1)


def ports(*, allow_zero: bool = True) -> st.SearchStrategy[int]:
    """TCP/UDP ports: half from 0 (if allowed), 1, 80, 443, 65535; else uniform."""
    return _edged(_PORT_EDGES, 0 if allow_zero else 1, 65535)


def priorities() -> st.SearchStrategy[int]:
    """ACL priorities (smaller wins): half from 0, 100, 65500, 65535; else uniform."""
    return _edged(_PRIORITY_EDGES, 0, 65535)


def ipv4_addresses(*, within: str | None = None) -> st.SearchStrategy[str]:
    """IPv4 addresses as text, uniform over ``within`` (a prefix; default all of IPv4),
    with the first and last address of the range oversampled."""
    net = ipaddress.IPv4Network(within or "0.0.0.0/0", strict=False)
    lo, hi = int(net.network_address), int(net.broadcast_address)
    return _edged((lo, hi), lo, hi).map(lambda v: str(ipaddress.IPv4Address(v)))


def ipv4_prefixes(*, min_len: int = 0, max_len: int = 32) -> st.SearchStrategy[str]:
    """IPv4 prefixes in strict CIDR form (``a.b.c.d/n``, host bits zero); half the draws use
    the edge lengths /0 and /32 (when in range), the rest a uniform length; the address is
    uniform."""
    lengths = _edged((0, 32, min_len, max_len), min_len, max_len)
    return st.builds(
        lambda addr, plen: str(ipaddress.IPv4Network(f"{addr}/{plen}", strict=False)),
        st.integers(0, (1 << 32) - 1).map(lambda v: str(ipaddress.IPv4Address(v))), lengths)


def macs(*, prefix: str = "00-15-5D") -> st.SearchStrategy[str]:
    """MAC addresses in HNS's dash form, upper case, under a 3-byte OUI ``prefix`` (Hyper-V's
    00-15-5D by default); the low three bytes uniform."""
    return st.integers(0, 0xFFFFFF).map(
        lambda v: f"{prefix}-{v >> 16:02X}-{(v >> 8) & 0xFF:02X}-{v & 0xFF:02X}")


def network_names() -> st.SearchStrategy[str]:
    """Network / endpoint names: a short ASCII word plus 8 hex digits.  Random draws are
    distinct with overwhelming odds, but hypothesis' simplest examples repeat them: when
    one example creates several networks (HNS refuses a second network of the same name),
    add a suffix of your own."""
    word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
    return st.builds(lambda w, u: f"{w}-{u.hex[:8]}", word, st.uuids())


def port_ranges() -> st.SearchStrategy[str]:
    """ACL port fields: a single port (edges 0 and 65535 oversampled), a ``lo-hi`` range
    (``0-65535`` among them), or a comma list of up to three of these."""
    single = ports().map(str)
    span = st.tuples(ports(), ports()).map(lambda t: f"{min(t)}-{max(t)}")
    one = st.one_of(single, span, st.just("0-65535"))
    return st.one_of(one, st.lists(one, min_size=2, max_size=3).map(",".join))


def address_lists() -> st.SearchStrategy[str]:
    """ACL address fields: a comma list of one to three IPv4 prefixes (``/0`` and ``/32``
    oversampled) or bare addresses."""
    item = st.one_of(ipv4_prefixes(), ipv4_addresses())
    return st.lists(item, min_size=1, max_size=3).map(",".join)
