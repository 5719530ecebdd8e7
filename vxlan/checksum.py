"""The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the TCP/UDP/
ICMPv6 pseudo-headers (RFC 793, RFC 768, RFC 8200 section 8.1)."""

from __future__ import annotations

import struct

__all__ = [
    "checksum",
    "fold",
    "incremental_update",
    "ones_sum",
    "pseudo_header_sum",
]


def ones_sum(data: bytes | bytearray | memoryview) -> int:
    """Unfolded 16-bit big-endian word sum of `data` (odd length padded with a zero byte)."""
    n = len(data)
    if n & 1:
        data = bytes(data) + b"\x00"
        n += 1
    return sum(struct.unpack(f"!{n >> 1}H", data))


def fold(total: int) -> int:
    """Fold carries into 16 bits (not complemented)."""
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """RFC 1071 checksum of `data` plus an unfolded partial sum `initial`."""
    return ~fold(ones_sum(data) + initial) & 0xFFFF


def pseudo_header_sum(version: int, src: int, dst: int, protocol: int, length: int) -> int:
    """Unfolded sum of the IPv4 or IPv6 pseudo-header for an upper-layer checksum."""
    if version == 4:
        return (
            (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + protocol + length
        )
    total = protocol + (length >> 16) + (length & 0xFFFF)
    for addr in (src, dst):
        while addr:
            total += addr & 0xFFFF
            addr >>= 16
    return total


def incremental_update(old_checksum: int, old_word: int, new_word: int) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one changed 16-bit word."""
    total = (~old_checksum & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    return ~fold(total) & 0xFFFF
