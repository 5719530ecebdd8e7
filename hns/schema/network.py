"""``HostComputeNetwork``: the V2 network (hcsshim hcn/hcnnetwork.go; hns/model/)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from hns.errors import InvalidNetworkType
from hns.schema.base import Guid, HnsModel
from hns.schema.common import Dns, Health, Ipam, MacPool, SchemaVersion
from hns.schema.policy import NetworkPolicy
from hns.schema.request import checked
from hns.validate import as_list, as_str, enum_of, guid_or_none, uint

__all__ = ["NETWORK_TYPES", "HostComputeNetwork"]

# hns/model/ NETWORK_TYPES in the spelling HNS writes (it accepts any case on input);
# tests/hns/test_hns_schema.py keeps the two in step.
NetworkType = Literal["NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay",
                      "Private", "Internal", "Mirrored", "Infiniband", "ConstrainedICS"]
NETWORK_TYPES: tuple[str, ...] = get_args(NetworkType)


def _network_type(value: Any) -> str:
    """HNS reads ``"Type": ""`` as NAT, and any case of a type name."""
    return "NAT" if value == "" else str(enum_of(*NETWORK_TYPES, fold=True)(value))


def _falsy_is_absent(value: Any) -> Any:
    return value or None


class HostComputeNetwork(HnsModel):
    """A V2 network; ``Type`` one of NETWORK_TYPES."""

    # In a request (hns/schema/request.py) a bad field is HCN_E_INVALID_NETWORK, a bad
    # Type HCN_E_INVALID_NETWORK_TYPE; the policies go through hns/policies.py.
    id: Annotated[Guid | None, checked(guid_or_none)] = Field(None, alias="ID")
    name: Annotated[str | None, checked(as_str)] = None
    type: Annotated[NetworkType | None, checked(_network_type, InvalidNetworkType)] = None
    policies: list[NetworkPolicy] | None = None
    mac_pool: Annotated[MacPool | None, checked(_falsy_is_absent)] = None
    dns: Annotated[Dns | None, checked(_falsy_is_absent)] = None
    ipams: Annotated[list[Ipam] | None, checked(as_list)] = None
    flags: Annotated[int | None, checked(uint(32))] = Field(None, ge=0, le=(1 << 32) - 1)
    health: Health | None = None
    schema_version: SchemaVersion | None = None
    state: int | None = None
