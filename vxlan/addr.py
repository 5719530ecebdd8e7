"""Address conversions: IPv4/IPv6 as `int` (the codecs' representation, cheap to compare
and hash) to and from text, and MAC addresses as 6-byte `bytes` to and from text."""

from __future__ import annotations

import ipaddress
import socket

__all__ = [
    "BROADCAST_MAC",
    "ZERO_MAC",
    "ip_from_text",
    "ip_to_text",
    "ipv4_from_text",
    "ipv4_to_text",
    "ipv6_from_text",
    "ipv6_to_text",
    "mac_from_text",
    "mac_to_text",
]

BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6


def ipv4_from_text(text: str) -> int:
    """'10.244.7.20' -> 0x0AF40714. Raises ValueError on anything but dotted-quad IPv4."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError as exc:
        raise ValueError(f"not an IPv4 address: {text!r}") from exc


def ipv4_to_text(value: int) -> str:
    return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))


def ipv6_from_text(text: str) -> int:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError as exc:
        raise ValueError(f"not an IPv6 address: {text!r}") from exc


def ipv6_to_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


def ip_from_text(text: str) -> tuple[int, int]:
    """Text -> (version, int) for either family."""
    if ":" in text:
        return 6, ipv6_from_text(text)
    return 4, ipv4_from_text(text)


def ip_to_text(value: int, version: int = 4) -> str:
    return ipv4_to_text(value) if version == 4 else ipv6_to_text(value)


def mac_from_text(text: str) -> bytes:
    """'00:15:5d:07:00:14' or '00-15-5D-07-00-14' (Windows spelling) -> 6 bytes."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a MAC address: {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError as exc:
        raise ValueError(f"not a MAC address: {text!r}") from exc


def mac_to_text(mac: bytes, sep: str = ":") -> str:
    """6 bytes -> '00:15:5d:07:00:14' (lower case; pass sep='-' for the Windows form)."""
    if len(mac) != 6:
        raise ValueError(f"a MAC address is 6 bytes, got {len(mac)}")
    return sep.join(f"{b:02x}" for b in mac)
