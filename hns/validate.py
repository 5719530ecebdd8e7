"""Field validators for HNS JSON: GUIDs, addresses, prefixes, MACs, bounded integers.

Each validator takes the raw JSON value and either returns it normalised or raises
:class:`Bad`, a private signal that the caller turns into the right HnsError
(InvalidNetwork, InvalidEndpoint, InvalidPolicy, ...): the same bad VSID is an
InvalidPolicy in a subnet policy and an InvalidNetwork elsewhere, so the validators
cannot know the HRESULT themselves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from hns.strict import did_you_mean

__all__ = [
    "IOV_MODERATIONS",
    "Bad",
    "Refused",
    "Validator",
    "acl_addresses",
    "acl_ports",
    "acl_protocols",
    "as_bool",
    "as_dict",
    "as_guid",
    "as_int",
    "as_ip",
    "as_list",
    "as_mac",
    "as_prefix",
    "as_str",
    "as_str_list",
    "as_vlan",
    "as_vsid",
    "enum_of",
    "guid_or_none",
    "iov_moderation",
    "ip_or_prefix",
    "nonzero_port",
    "uint",
]

Validator = Callable[[Any], Any]

GUID_RE = re.compile(r"^\{?[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?$")
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


class Bad(Exception):
    """A value failed validation; ``args[0]`` says why (for HnsError.detail)."""


class Refused(Bad):
    """A well-formed value the object's type does not allow (a PortMapping's protocol 1):
    HNS reports it only after every field's own check and every missing field."""


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad(f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise Bad("NUL in string")
    return value


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"expected a boolean, got {type(value).__name__}")
    return value


def as_int(value: Any, lo: int, hi: int) -> int:
    # JSON numbers like 6.0 are accepted by HNS's parser only when integral.
    if isinstance(value, bool):
        raise Bad("expected a number, got a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise Bad(f"expected an integer, got {value}")
        value = int(value)
    if not isinstance(value, int):
        raise Bad(f"expected a number, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise Bad(f"{value} is out of range {lo}..{hi}")
    return value


def uint(bits: int) -> Validator:
    hi = (1 << bits) - 1
    return lambda value: as_int(value, 0, hi)


def as_guid(value: Any) -> str:
    text = as_str(value)
    if not GUID_RE.match(text):
        raise Bad(f"{text!r} is not a GUID")
    return text.strip("{}")


def guid_or_none(value: Any) -> str | None:
    """A GUID, or None for the zero GUID / empty string (callers then make one)."""
    if value is None or value == "":
        return None
    text = as_guid(value)
    return None if text == ZERO_GUID else text


def endpoint_ref(value: Any) -> str:
    """An endpoint reference: its GUID, or a path ending in it (``/endpoints/<id>``, as V1
    policy lists' ``References`` write it)."""
    text = as_str(value)
    tail = text.rstrip("/").rsplit("/", 1)[-1]
    got = guid_or_none(tail)
    if got is None:
        raise Bad(f"{text!r} names no endpoint")
    return got


def endpoint_refs(value: Any) -> list[str]:
    return [endpoint_ref(item) for item in as_list(value)]


def as_ip(value: Any) -> str:
    text = as_str(value)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise Bad(f"{text!r} is not an IP address") from exc


def as_prefix(value: Any) -> str:
    text = as_str(value)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise Bad(f"{text!r} is not an IP prefix") from exc
    if "/" not in text:
        raise Bad(f"{text!r} has no prefix length")
    return text


def as_mac(value: Any) -> str:
    text = as_str(value)
    if not MAC_RE.match(text):
        raise Bad(f"{text!r} is not a MAC address")
    return text.replace(":", "-")


def as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Bad(f"expected an array, got {type(value).__name__}")
    return value


def as_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Bad(f"expected an object, got {type(value).__name__}")
    return value


def as_str_list(value: Any) -> list[str]:
    return [as_str(item) for item in as_list(value)]


def enum_of(*names: str, fold: bool = False) -> Validator:
    """A string enum; with ``fold`` the match ignores case and returns the canonical name."""
    lookup = {n.lower(): n for n in names}

    def check(value: Any) -> str:
        text = as_str(value)
        if text in names:
            return text
        if fold and text.lower() in lookup:
            return lookup[text.lower()]
        raise Bad(f"{text!r} is not one of {', '.join(names)}{did_you_mean(text, names)}")

    return check


def list_of(item: Validator) -> Validator:
    return lambda value: [item(v) for v in as_list(value)]


def ip_list(value: Any) -> list[str]:
    return [as_ip(v) for v in as_list(value)]


def any_json(value: Any) -> Any:
    return value


def obj(value: Any) -> dict[str, Any]:
    return as_dict(value)


# ---- policy settings values (hns/schema/policy.py attaches them to the fields) --------

def acl_protocols(value: Any) -> str:
    """ACL ``Protocols``: comma-separated protocol numbers 0..256 (256 = any)."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        as_int(_int_text(part), 0, 256)
    return text


def _int_text(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise Bad(f"{text!r} is not a number") from exc


def acl_ports(value: Any) -> str:
    """ACL ports: comma-separated ports or ``lo-hi`` ranges, 0..65535."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            raise Bad(f"bad port range {part!r}")
        nums = [as_int(_int_text(b), 0, 65535) for b in bounds]
        if len(nums) == 2 and nums[0] > nums[1]:
            raise Bad(f"bad port range {part!r}")
    return text


def acl_addresses(value: Any) -> str:
    """ACL addresses: comma-separated IPs or CIDRs.  ``"Any"`` is refused, as on real hosts
    (microsoft/hcsshim#1059: InvalidPolicy)."""
    text = as_str(value)
    if text == "":
        return text
    for part in text.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError as exc:
            raise Bad(f"{part!r} is not an address or prefix") from exc
    return text


def ip_or_prefix(value: Any) -> str:
    text = as_str(value)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise Bad(f"{text!r} is not an address or prefix") from exc
    return text


def as_vsid(value: Any) -> int:
    # Windows overlay isolation ids are 24-bit VXLAN VNIs, 4096 and up.
    return as_int(value, 4096, (1 << 24) - 1)


def as_vlan(value: Any) -> int:
    return as_int(value, 0, 4094)


def nonzero_port(value: Any) -> int:
    return as_int(value, 1, 65535)


IOV_MODERATIONS = ("IovInterruptModerationDefault", "IovInterruptModerationAdaptive",
                   "IovInterruptModerationOff", "IovInterruptModerationLow",
                   "IovInterruptModerationMedium", "IovInterruptModerationHigh")


_IOV_MODERATION = enum_of(*IOV_MODERATIONS)


def iov_moderation(value: Any) -> Any:
    """Iov ``InterruptModeration``: one of the enum's names, or its number."""
    if isinstance(value, str):
        return _IOV_MODERATION(value)
    return as_int(value, 0, (1 << 32) - 1)
