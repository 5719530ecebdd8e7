"""The emulated Host Networking Service: :class:`HnsService`, the one backend behind both
Windows entry points (V1 ``HNSCall`` and V2 ``computenetwork.dll`` ``Hcn*``)."""

from __future__ import annotations

from hns.service.hnsservice import DUMP_FORMAT, HnsService, parse_json

__all__ = ["DUMP_FORMAT", "HnsService", "parse_json"]
