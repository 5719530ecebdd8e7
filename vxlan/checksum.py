"""The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the TCP/UDP/
ICMPv6 pseudo-headers (RFC 793, RFC 768, RFC 8200 section 8.1)."""

from __future__ import annotations

import sys

_LITTLE = sys.byteorder == "little"

__all__ = [
    "checksum",
    "fold",
    "incremental_update",
    "ones_sum",
    "pseudo_header_sum",
]


def ones_sum(data: bytes | bytearray | memoryview) -> int:
    """A partial one's-complement sum of `data` as 16-bit big-endian words (odd length
    padded with a zero byte), congruent mod 0xFFFF to the plain word sum, so it can be
    added to other partial sums and folded. Sums native-order words in C and swaps the
    folded result on little-endian hosts (RFC 1071 section 2(B): byte-order independence)."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    total = sum(memoryview(data).cast("B").cast("H"))
    if _LITTLE:
        total = fold(total)
        total = (total & 0xFF) << 8 | total >> 8
    return total


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
