"""What every object kind of the model shares: the flag and state constants HNS uses,
new ids, field checks that raise the kind's HRESULT, V1-or-V2 detection, and V2 queries.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Mapping
from typing import Any

from hns.errors import (
    HnsError,
    InvalidJson,
)
from hns.validate import (
    Bad,
    Validator,
)

Json = dict[str, Any]

NETWORK_TYPES = ("NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay", "Private",
                 "Internal", "Mirrored", "Infiniband", "ConstrainedICS")
NAMESPACE_TYPES = ("Host", "HostDefault", "Guest", "GuestDefault")

# NetworkFlags / EndpointFlags / LoadBalancer flags used by the semantics.
NET_ENABLE_NON_PERSISTENT = 8
NET_DISABLE_HOST_PORT = 1024
EP_REMOTE = 1
EP_DISABLE_ICC = 2
EP_LOW_METRIC = 8
LB_DSR = 1
LB_IPV6 = 2
PM_ILB = 1
PM_LOCAL_ROUTED_VIP = 2

# V1 endpoint State values (hcsshim internal/hns).
STATE_CREATED = 1
STATE_ATTACHED = 2
STATE_ATTACHED_SHARING = 3
STATE_DETACHED = 4
STATE_DEGRADED = 5

DEFAULT_EXTENSIONS = [
    {"Id": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A", "IsEnabled": False,
     "Name": "Microsoft Windows Filtering Platform"},
    {"Id": "F74F241B-440F-4433-BB28-00F89EAD20D8", "IsEnabled": False,
     "Name": "Microsoft Azure VFP Switch Extension"},
    {"Id": "430BDADD-BAB0-41AB-A369-94B67FA5BE0A", "IsEnabled": True,
     "Name": "Microsoft NDIS Capture"},
]


def new_guid(*, upper: bool) -> str:
    text = str(uuid.uuid4())
    return text.upper() if upper else text


def _field(kind: type[HnsError], body: Json, key: str, check: Validator,
           default: Any = None) -> Any:
    value = body.get(key)
    if value is None:
        return default
    try:
        return check(value)
    except Bad as exc:
        raise kind(detail=f"{key}: {exc}") from None


def _obj(kind: type[HnsError], value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise kind(detail=f"{what} must be a JSON object")
    return value


def is_v1_settings(body: Json, v1_keys: frozenset[str]) -> bool:
    """Whether HCN create settings are V1 JSON (hcsshim's hcnv1schema_test sends V1)."""
    schema = body.get("SchemaVersion")
    if isinstance(schema, dict) and isinstance(schema.get("Major"), int):
        return bool(schema["Major"] < 2)
    return bool(v1_keys & body.keys())




# ---- queries --------------------------------------------------------------------------

def parse_query(text: str | None) -> tuple[Json, int]:
    """A HostComputeQuery: ``(filter, schema major)``.  Accepts "" / None (defaults), a query
    object, or a bare filter object (one client in the wild sends that)."""
    if text is None or text.strip() == "":
        return {}, 2
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidJson(detail="query is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidJson(detail="query is not a JSON object")
    if not ({"SchemaVersion", "Filter", "Flags"} & body.keys()):
        return _filter_dict(body), 2
    major = 2
    schema = body.get("SchemaVersion")
    if isinstance(schema, dict):
        got = schema.get("Major")
        if isinstance(got, int) and not isinstance(got, bool):
            major = got
    raw = body.get("Filter")
    if raw is None or raw == "":
        return {}, major
    if isinstance(raw, dict):
        return _filter_dict(raw), major
    if not isinstance(raw, str):
        raise InvalidJson(detail="Filter must be a JSON string")
    try:
        flt = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJson(detail="Filter is not JSON") from None
    if not isinstance(flt, dict):
        raise InvalidJson(detail="Filter is not a JSON object")
    return _filter_dict(flt), major


def _filter_dict(flt: Mapping[str, Any]) -> Json:
    return {str(k): v for k, v in flt.items()}


def ip_in_subnet(ip: str, prefix: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
