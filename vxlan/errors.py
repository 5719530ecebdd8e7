"""The error tree of the bytes layer.

    ValueError
     +-- DecodeError           truncated or malformed bytes; names the header, offset and
          |                    reason (a plain DecodeError: a malformed header)
          +-- TruncatedError   the bytes end before the header or datagram does
          +-- ChecksumError    a checksum that does not verify (vxlan.packet)
          +-- UnsupportedError a frame the parser does not handle (vxlan.packet: not IPv4,
          |                    IPv6 or ARP)
          +-- DecapError       a well-formed frame that decapsulation refuses (no I flag,
                               wrong VNI, not UDP to the VXLAN port, bad checksum, ...)

The subclasses let a caller count refusals by kind (vfp counts them as drop reasons).

Every parser in `vxlan` raises only `DecodeError` (or a subclass) on bad input: never
`IndexError`, `struct.error` or `ValueError` from deeper down.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "DecapError",
    "DecodeError",
    "TruncatedError",
    "UnsupportedError",
]


class DecodeError(ValueError):
    """Bytes that do not parse as the named header.

    `header` is the header's name ("IPv4", "TCP", "VXLAN", ...), `offset` the byte offset
    into the buffer where that header starts (or where the problem is), `reason` a short
    human-readable explanation.
    """

    def __init__(self, header: str, offset: int, reason: str) -> None:
        super().__init__(f"{header} at offset {offset}: {reason}")
        self.header = header
        self.offset = offset
        self.reason = reason

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, int, str]]:
        return (type(self), (self.header, self.offset, self.reason))


class DecapError(DecodeError):
    """A frame that decapsulation refuses; `reason` says why."""


class TruncatedError(DecodeError):
    """The bytes end before the header (or the datagram its length field gives) does."""


class ChecksumError(DecodeError):
    """A header or datagram whose checksum does not verify."""


class UnsupportedError(DecodeError):
    """A well-formed frame of a kind the parser does not handle (e.g. its ethertype)."""
