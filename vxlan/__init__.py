"""Bytes on the wire: Ethernet, ARP, IPv4/IPv6, ICMP, TCP, UDP, VXLAN (RFC 7348), pcap and
the underlay transports. Imports nothing above it."""
