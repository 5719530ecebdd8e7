"""Bytes on the wire: Ethernet, ARP, IPv4/IPv6, ICMP, TCP, UDP, VXLAN (RFC 7348), pcap and
the underlay transports. Imports nothing above it.

Modules (one concept each):

    errors    DecodeError (header, offset, reason), its kinds, and DecapError
    addr      IPv4/IPv6 int <-> text, MAC bytes <-> text
    checksum  RFC 1071 checksum, RFC 1624 incremental update, pseudo-headers
    headers   the header codecs (frozen slotted dataclasses with unpack/pack)
    frame     Frame, decode_frame / encode_frame, flow_key, inner_flow_hash
    encap     encapsulate / decapsulate, EncapTemplate (fast path), Decapsulated
    packet    Packet / Outer: the flat view a packet filter matches and rewrites
              (parse_packet with checksums verified, serialize, build_packet)
    pcap      classic libpcap PcapWriter / PcapReader, write_pcap / read_pcap
    underlay  Underlay, MemoryNetwork / MemoryUnderlay (in-process), UdpUnderlay (sockets)
    guest     GuestStack: ARP, ICMP echo and UDP echo for an emulated container
    vtep      Vtep: guests on one VNI bridged to an underlay (static FDB, flooding)

The public API is re-exported here; docs/vxlan.md describes it and the choices made.
"""

from __future__ import annotations

from .addr import (
    BROADCAST_MAC,
    ZERO_MAC,
    ip_from_text,
    ip_to_text,
    ipv4_from_text,
    ipv4_to_text,
    ipv6_from_text,
    ipv6_to_text,
    mac_from_text,
    mac_to_text,
)
from .checksum import checksum, incremental_update, pseudo_header_sum
from .encap import (
    DEFAULT_TTL,
    OUTER_IPV4_LENGTH,
    OUTER_IPV6_LENGTH,
    Decapsulated,
    EncapTemplate,
    decapsulate,
    decapsulate_with_key,
    encapsulate,
)
from .errors import ChecksumError, DecapError, DecodeError, TruncatedError, UnsupportedError
from .frame import FlowKey, Frame, decode_frame, encode_frame, flow_key, inner_flow_hash
from .guest import EchoReply, GuestStack, UdpDatagram
from .headers import (
    ARP,
    ETH_P_8021Q,
    ETH_P_ARP,
    ETH_P_IPV4,
    ETH_P_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP,
    UDP,
    VXLAN_PORT,
    Ethernet,
    ICMPv4,
    ICMPv6,
    IPv4,
    IPv6,
    VXLANHeader,
)
from .packet import (
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    Outer,
    Packet,
    build_frame,
    build_packet,
    encap_template,
    parse_packet,
    serialize,
)
from .pcap import PcapReader, PcapRecord, PcapWriter, read_pcap, write_pcap
from .underlay import MemoryNetwork, MemoryUnderlay, UdpUnderlay, Underlay
from .vtep import Vtep

__all__ = [
    "ARP",
    "BROADCAST_MAC",
    "DEFAULT_TTL",
    "ETH_P_8021Q",
    "ETH_P_ARP",
    "ETH_P_IPV4",
    "ETH_P_IPV6",
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "OUTER_IPV4_LENGTH",
    "OUTER_IPV6_LENGTH",
    "TCP",
    "TCP_ACK",
    "TCP_FIN",
    "TCP_RST",
    "TCP_SYN",
    "UDP",
    "VXLAN_PORT",
    "ZERO_MAC",
    "ChecksumError",
    "DecapError",
    "Decapsulated",
    "DecodeError",
    "EchoReply",
    "EncapTemplate",
    "Ethernet",
    "FlowKey",
    "Frame",
    "GuestStack",
    "ICMPv4",
    "ICMPv6",
    "IPv4",
    "IPv6",
    "MemoryNetwork",
    "MemoryUnderlay",
    "Outer",
    "Packet",
    "PcapReader",
    "PcapRecord",
    "PcapWriter",
    "TruncatedError",
    "UdpDatagram",
    "UdpUnderlay",
    "Underlay",
    "UnsupportedError",
    "VXLANHeader",
    "Vtep",
    "build_frame",
    "build_packet",
    "checksum",
    "decapsulate",
    "decapsulate_with_key",
    "decode_frame",
    "encap_template",
    "encapsulate",
    "encode_frame",
    "flow_key",
    "incremental_update",
    "inner_flow_hash",
    "ip_from_text",
    "ip_to_text",
    "ipv4_from_text",
    "ipv4_to_text",
    "ipv6_from_text",
    "ipv6_to_text",
    "mac_from_text",
    "mac_to_text",
    "parse_packet",
    "pseudo_header_sum",
    "read_pcap",
    "serialize",
    "write_pcap",
]
