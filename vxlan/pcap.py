"""Classic libpcap files (the format every Wireshark reads): `PcapWriter`, `PcapReader`,
and the one-call helpers `write_pcap` / `read_pcap`.

File header (24 bytes): magic 0xA1B2C3D4 (microsecond) or 0xA1B23C4D (nanosecond), in
the writer's byte order; version 2.4; thiszone 0; sigfigs 0; snaplen; linktype (1 =
Ethernet). Record header (16 bytes): ts_sec, ts_usec (or ns), incl_len, orig_len.
The writer writes little-endian microsecond files; the reader accepts both byte orders
and both resolutions. A malformed file raises DecodeError("pcap", offset, reason).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from .errors import DecodeError

__all__ = ["LINKTYPE_ETHERNET", "PcapReader", "PcapRecord", "PcapWriter", "read_pcap", "write_pcap"]

LINKTYPE_ETHERNET = 1
_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D


class PcapRecord(NamedTuple):
    timestamp: float
    data: bytes
    orig_len: int


class PcapWriter:
    """Append frames to a classic pcap file (or any binary stream)."""

    def __init__(
        self,
        target: str | Path | BinaryIO,
        *,
        snaplen: int = 65535,
        linktype: int = LINKTYPE_ETHERNET,
    ) -> None:
        if isinstance(target, str | Path):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self.snaplen = snaplen
        self._file.write(struct.pack("<IHHiIII", _MAGIC_US, 2, 4, 0, 0, snaplen, linktype))

    def write(self, frame: bytes, timestamp: float | None = None) -> None:
        ts = time.time() if timestamp is None else timestamp
        sec = int(ts)
        usec = min(round((ts - sec) * 1_000_000), 999_999)
        data = frame[: self.snaplen]
        self._file.write(struct.pack("<IIII", sec, usec, len(data), len(frame)) + data)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PcapReader:
    """Iterate over the records of a classic pcap file (bytes or path)."""

    def __init__(self, source: str | Path | bytes) -> None:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        if len(data) < 24:
            raise DecodeError("pcap", 0, f"truncated file header ({len(data)} bytes)")
        magic_le = struct.unpack_from("<I", data)[0]
        magic_be = struct.unpack_from(">I", data)[0]
        if magic_le in (_MAGIC_US, _MAGIC_NS):
            self._order, magic = "<", magic_le
        elif magic_be in (_MAGIC_US, _MAGIC_NS):
            self._order, magic = ">", magic_be
        else:
            raise DecodeError("pcap", 0, f"bad magic 0x{magic_le:08x}")
        self._divisor = 1e9 if magic == _MAGIC_NS else 1e6
        _, major, minor, _, _, self.snaplen, self.linktype = struct.unpack_from(
            self._order + "IHHiIII", data
        )
        self.version = (major, minor)
        self._data = data

    def __iter__(self) -> Iterator[PcapRecord]:
        data, off = self._data, 24
        rec = struct.Struct(self._order + "IIII")
        while off < len(data):
            if len(data) - off < 16:
                raise DecodeError("pcap", off, "truncated record header")
            sec, frac, incl, orig = rec.unpack_from(data, off)
            if len(data) - off - 16 < incl:
                raise DecodeError("pcap", off, f"record of {incl} bytes runs past the file")
            yield PcapRecord(sec + frac / self._divisor, data[off + 16 : off + 16 + incl], orig)
            off += 16 + incl


def write_pcap(path: str | Path, frames: Iterable[bytes], *, start: float = 0.0) -> None:
    """Write frames with timestamps start, start + 1 ms, ..."""
    with PcapWriter(path) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, start + i / 1000)


def read_pcap(path: str | Path) -> list[bytes]:
    return [record.data for record in PcapReader(path)]
