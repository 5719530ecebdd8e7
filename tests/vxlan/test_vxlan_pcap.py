"""pcap writer/reader round trips, scapy reading our files, and tshark (Wireshark's
dissectors) as the external oracle for the VXLAN frames we write."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers import l2 as _l2  # noqa: F401  (registers Ethernet as linktype 1)
from scapy.layers import vxlan as _scapy_vxlan  # noqa: F401  (binds UDP 4789 to VXLAN)
from scapy.utils import rdpcap

import vxlan
from vxlan import TCP, DecodeError, Ethernet, Frame, IPv4, encapsulate, encode_frame
from vxlan.pcap import PcapReader, PcapWriter, read_pcap, write_pcap


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=10))
def test_pcap_round_trip_frames_in_memory(frames: list[bytes]) -> None:
    import io

    buf = io.BytesIO()
    writer = PcapWriter(buf)
    for i, frame in enumerate(frames):
        writer.write(frame, 1_700_000_000 + i * 0.25)
    writer.close()
    records = list(PcapReader(buf.getvalue()))
    assert [r.data for r in records] == frames
    assert [r.timestamp for r in records] == [1_700_000_000 + i * 0.25 for i in range(len(frames))]


def test_pcap_reader_accepts_big_endian_nanosecond_files() -> None:
    data = struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1)
    data += struct.pack(">IIII", 10, 500_000_000, 3, 60) + b"abc"
    (record,) = list(PcapReader(data))
    assert record == (10.5, b"abc", 60)


def test_pcap_reader_malformed_raises_decode_error() -> None:
    good = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    with pytest.raises(DecodeError, match="bad magic"):
        PcapReader(b"\x00" * 24)
    with pytest.raises(DecodeError, match="truncated file header"):
        PcapReader(good[:10])
    with pytest.raises(DecodeError, match="runs past"):
        list(PcapReader(good + struct.pack("<IIII", 0, 0, 100, 100) + b"x"))


def _frames() -> list[tuple[int, bool, str, str, bytes]]:
    """(vni, udp checksum on, inner src, inner dst, outer frame) for the oracle tests."""
    out = []
    for i, (vni, csum) in enumerate([(4096, False), (4096, True), (4097, False),
                                     (0xABCDEF, True), ((1 << 24) - 1, False)]):
        src, dst = f"10.244.1.{10 + i}", f"10.244.2.{20 + i}"
        inner = encode_frame(Frame(
            Ethernet(bytes.fromhex("00155d000002"), bytes([0, 0x15, 0x5D, 0, 0, i]), 0x0800),
            ip=IPv4(vxlan.ipv4_from_text(src), vxlan.ipv4_from_text(dst), 6),
            l4=TCP(40000 + i, 80, flags=TCP.SYN | TCP.ACK), payload=b"p" * 64,
        ))
        frame = encapsulate(inner, vni=vni, src_pa="192.0.2.1", dst_pa="192.0.2.2",
                            src_mac="02:00:00:00:01:01", dst_mac="02:00:00:00:01:02",
                            udp_checksum=csum)
        out.append((vni, csum, src, dst, frame))
    return out


def test_scapy_reads_our_pcap(tmp_path: Path) -> None:
    cases = _frames()
    path = tmp_path / "vx.pcap"
    write_pcap(path, [c[4] for c in cases])
    assert read_pcap(path) == [c[4] for c in cases]
    pkts = rdpcap(str(path))
    assert [bytes(p) for p in pkts] == [c[4] for c in cases]
    assert [p["VXLAN"].vni for p in pkts] == [c[0] for c in cases]


def test_tshark_decodes_vxlan_frames_with_good_checksums(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (Debian package tshark; .ci/run installs it)")
    cases = _frames()
    path = tmp_path / "vx.pcap"
    write_pcap(path, [c[4] for c in cases])
    fields = ["udp.srcport", "udp.dstport", "udp.checksum.status", "vxlan.flags", "vxlan.vni",
              "eth.src", "ip.src", "ip.dst", "ip.checksum.status", "tcp.srcport",
              "tcp.checksum.status"]
    cmd = [tshark, "-r", str(path), "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in fields:
        cmd += ["-e", field]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(cases)
    for line, (vni, csum, src, dst, frame) in zip(lines, cases, strict=True):
        row = dict(zip(fields, line.split("|"), strict=True))
        assert row["udp.srcport"] == str(int.from_bytes(frame[34:36], "big"))
        assert row["udp.dstport"] == "4789"
        assert row["udp.checksum.status"] == ("1" if csum else "3")  # good / not present
        assert row["vxlan.flags"] == "0x0800"
        assert row["vxlan.vni"] == str(vni)
        assert row["eth.src"] == f"02:00:00:00:01:01,00:15:5d:00:00:{frame[61]:02x}"
        assert row["ip.src"] == f"192.0.2.1,{src}"
        assert row["ip.dst"] == f"192.0.2.2,{dst}"
        assert row["ip.checksum.status"] == "1,1"
        assert row["tcp.checksum.status"] == "1"


def _tshark_fields(path: Path, fields: list[str]) -> list[dict[str, str]]:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (Debian package tshark; .ci/run installs it)")
    cmd = [tshark, "-r", str(path), "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in fields:
        cmd += ["-e", field]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return [dict(zip(fields, line.split("|"), strict=True))
            for line in result.stdout.strip().splitlines()]


def test_tshark_decodes_ipv6_underlay_and_tagged_inner_icmp(tmp_path: Path) -> None:
    inner = encode_frame(Frame(
        Ethernet(bytes.fromhex("00155d000002"), bytes.fromhex("00155d000001"), 0x0800, vlan=7),
        ip=IPv4(vxlan.ipv4_from_text("10.244.1.10"), vxlan.ipv4_from_text("10.244.2.20"), 1),
        l4=vxlan.ICMPv4(vxlan.ICMPv4.ECHO_REQUEST, 0, 0, 1, 9), payload=b"abcdefgh" * 4,
    ))
    frame = encapsulate(inner, vni=0xABCDEF, src_pa="fd00:77::1", dst_pa="fd00:77::2",
                        src_mac="02:00:00:00:01:01", dst_mac="02:00:00:00:01:02")
    path = tmp_path / "v6.pcap"
    write_pcap(path, [frame])
    fields = ["ipv6.src", "ipv6.dst", "ipv6.hlim", "udp.dstport", "udp.checksum.status",
              "vxlan.vni", "vlan.id", "ip.src", "ip.checksum.status", "icmp.type",
              "icmp.seq", "icmp.checksum.status"]
    (row,) = _tshark_fields(path, fields)
    assert row == {
        "ipv6.src": "fd00:77::1", "ipv6.dst": "fd00:77::2", "ipv6.hlim": "128",
        "udp.dstport": "4789", "udp.checksum.status": "1", "vxlan.vni": str(0xABCDEF),
        "vlan.id": "7", "ip.src": "10.244.1.10", "ip.checksum.status": "1", "icmp.type": "8",
        "icmp.seq": "9", "icmp.checksum.status": "1",
    }
