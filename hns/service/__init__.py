"""The emulated Host Networking Service: :class:`HnsService`, the one backend behind both
Windows entry points (V1 ``HNSCall`` and V2 ``computenetwork.dll`` ``Hcn*``).

Modules, each one concern of the service (``hnsservice.py`` says how they fit):
    hnsservice    HnsService: entry points, lifecycle, faults and the call log per call
    hnscall       V1 HNSCall: the path table and its handlers
    hcn           V2 Hcn* functions: dispatch, queries, rendering
    network, endpoint, loadbalancer, namespace
                  the semantics HNS enforces for each object kind
    base          state, lock, generic get / delete, shared helpers
"""

from __future__ import annotations

from hns.service.base import DUMP_FORMAT, parse_json
from hns.service.hnsservice import HnsService

__all__ = ["DUMP_FORMAT", "HnsService", "parse_json"]
