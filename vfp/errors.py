"""The vfp package's error tree and the reasons packets are dropped.

    VfpError                 base of every error raised by vfp/
     +-- InvalidRule         an object refused when added; names the offending field
     +-- NotFound            a port, layer, group, rule, space or pool that does not exist
     +-- AlreadyExists       an id reused inside its parent

Dropped packets never raise: they are counted under a `DropReason`.
"""

from __future__ import annotations

from enum import StrEnum


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
