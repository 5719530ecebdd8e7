"""The ``GET /ui/api/overview`` document (api/ui/overview.py builds it) as pydantic models,
for the OpenAPI document (api/openapi.py names and references them).

Answers forbid extra fields, like api/emulator_bodies.py's: a test validates a real
overview against ``UiOverview``, so a field the overview grows without the document
saying so fails there. Field names are the ones on the wire.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.emulator_bodies import Answer, SchemaVersionAnswer, ServiceState

__all__ = ["MODELS", "UiEndpoint", "UiLoadBalancer", "UiNamespace", "UiNetwork",
           "UiOverview", "UiRoute", "UiTunnel"]


class UiNetwork(Answer):
    """A network row: its subnets, provider address and how many endpoints it has."""

    id: str = Field(alias="ID")
    name: str
    type: str
    subnets: list[str]
    provider_address: str = Field(description="empty without a ProviderAddress policy")
    endpoints: int


class UiEndpoint(Answer):
    """An endpoint row; ``Port`` says whether it has a VFP port on this host's switch
    (local endpoints do; remote ones are only mappings)."""

    id: str = Field(alias="ID")
    name: str
    network: str
    network_name: str
    ip_address: str = Field(alias="IPAddress", description="its addresses, comma separated")
    mac_address: str
    remote: bool
    provider_address: str
    namespace: str
    policies: list[str] = Field(description="the policy types, in order")
    port: bool


class UiLoadBalancer(Answer):
    """A load balancer row; ``Ports`` as ``protocol:external->internal``."""

    id: str = Field(alias="ID")
    vips: list[str] = Field(alias="VIPs")
    ports: list[str]
    endpoints: list[str]
    flags: int


class UiNamespace(Answer):
    """A namespace (compartment) row and the endpoints in it."""

    id: str = Field(alias="ID")
    type: str
    namespace_id: int
    endpoints: list[str]


class UiRoute(Answer):
    """An SDN route object; ``Routes`` as ``destination via next hop``."""

    id: str = Field(alias="ID")
    endpoints: list[str]
    routes: list[str]


class UiTunnel(Answer):
    """A PA-to-PA path: one per remote provider address remote endpoints live behind."""

    provider_address: str
    remote: int = Field(description="remote endpoints behind it")
    networks: list[str]


class UiOverview(Answer):
    """What the web view draws: the host, its service and every object, read from a copy
    of the state (looking adds no calls to the call log)."""

    profile: str
    version: SchemaVersionAnswer
    host_ip: str = Field(alias="HostIp")
    service: ServiceState
    last_seq: int = Field(description="the call log position the document was read at")
    error: str | None = Field(None, description="only when the service is closed")
    networks: list[UiNetwork]
    endpoints: list[UiEndpoint]
    load_balancers: list[UiLoadBalancer]
    namespaces: list[UiNamespace]
    routes: list[UiRoute]
    tunnels: list[UiTunnel]


MODELS: tuple[type[BaseModel], ...] = (UiOverview,)
