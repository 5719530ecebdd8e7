"""The vfp package's error tree and the reasons packets are dropped.

    VfpError                 base of every error raised by vfp/
     +-- InvalidRule         an object refused when added; names the offending field
     +-- NotFound            a port, layer, group, rule, space or pool that does not exist
     +-- AlreadyExists       an id reused inside its parent

Dropped packets never raise: they are counted under a `DropReason`. `parse_frame` is the
pipeline's parse step: vxlan's codec (vxlan.packet.parse_packet), with a refused frame
answered by its drop reason (`drop_reason`) instead of an exception.
"""

from __future__ import annotations

from enum import StrEnum

from vxlan import (
    VXLAN_PORT,
    ChecksumError,
    DecodeError,
    Packet,
    TruncatedError,
    UnsupportedError,
    parse_packet,
)


class VfpError(Exception):
    """Base of every error raised by the vfp package."""


class InvalidRule(VfpError):
    """An object (rule, group, layer, mapping ...) with an impossible value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(VfpError):
    """A named object that does not exist."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} not found")
        self.kind = kind
        self.name = name


class AlreadyExists(VfpError):
    """An id already used inside the same parent."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} already exists")
        self.kind = kind
        self.name = name


class DropReason(StrEnum):
    """Why a packet was dropped; the value is the text vfpctrl-style counters print."""

    TRUNCATED = "Truncated"
    BAD_CHECKSUM = "Bad checksum"
    BAD_HEADER = "Malformed header"
    UNKNOWN_ETHERTYPE = "Unknown ethertype"
    PORT_BLOCKED = "Port blocked"
    RULE_BLOCK = "Blocked by rule"
    LAYER_DEFAULT = "Layer default block"
    NO_MAPPING = "No CA-PA mapping"
    NAT_EXHAUSTED = "NAT pool exhausted"
    BAD_VNI = "VNI mismatch"
    TCP_STATE = "TCP state violation"


def drop_reason(err: DecodeError) -> DropReason:
    """The drop reason for a frame vxlan.packet.parse_packet refuses."""
    if isinstance(err, TruncatedError):
        return DropReason.TRUNCATED
    if isinstance(err, ChecksumError):
        return DropReason.BAD_CHECKSUM
    if isinstance(err, UnsupportedError):
        return DropReason.UNKNOWN_ETHERTYPE
    return DropReason.BAD_HEADER


def parse_frame(frame: bytes, vxlan_port: int | None = VXLAN_PORT, *,
                strict_vxlan: bool = True) -> Packet | DropReason:
    """vxlan.packet.parse_packet, with a refusal returned as its drop reason."""
    try:
        return parse_packet(frame, vxlan_port, strict_vxlan=strict_vxlan)
    except DecodeError as err:
        return drop_reason(err)
