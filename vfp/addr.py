"""Address helpers: IPv4/IPv6 and MAC text <-> int, prefixes and ranges.

Addresses are plain ints everywhere in vfp/ (as in vxlan/); only the printers here turn
them back into the text vfpctrl shows (`10.0.0.1`, `00-15-5D-01-02-03`).
"""

from __future__ import annotations

import ipaddress


def ip_width(version: int) -> int:
    """Bits in an address of this IP version."""
    return 32 if version == 4 else 128


def parse_ip(text: str) -> tuple[int, int]:
    """`'10.0.0.1'` -> (int, version)."""
    addr = ipaddress.ip_address(text.strip())
    return int(addr), addr.version


def format_ip(value: int, version: int = 4) -> str:
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


def parse_mac(text: str) -> int:
    """`00-15-5D-01-02-03` or `00:15:5d:01:02:03` -> int; ValueError when malformed."""
    parts = text.strip().replace(":", "-").split("-")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a MAC address: {text!r}")
    return int("".join(parts), 16)


def format_mac(value: int) -> str:
    """int -> `00-15-5D-01-02-03` (the Windows spelling)."""
    raw = value.to_bytes(6, "big")
    return "-".join(f"{b:02X}" for b in raw)


def prefix_range(network: int, length: int, width: int) -> tuple[int, int]:
    """The (first, last) addresses of a prefix."""
    host = width - length
    first = (network >> host) << host
    return first, first | ((1 << host) - 1)


def range_to_prefixes(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    """Cover [lo, hi] exactly with the fewest (network, length) prefixes."""
    out: list[tuple[int, int]] = []
    while lo <= hi:
        # largest block aligned at lo that fits
        size = (lo & -lo).bit_length() - 1 if lo else width
        while size > 0 and lo + (1 << size) - 1 > hi:
            size -= 1
        out.append((lo, width - size))
        lo += 1 << size
    return out
