"""VFP port identity of endpoints: the port GUID and the ``Resources`` allocator that names it.

A local endpoint's VFP port has a GUID of its own, distinct from the endpoint ID. Real HNS
reports it in the endpoint's ``Resources.Allocators`` (the allocator tagged ``"Endpoint
Port"``, field ``EndpointPortGuid``), and that is how operators' scripts find the port:
microsoft/SDN ``networkhealth.ps1`` reads ``$ep.Resources.Allocators[0].EndpointPortGuid``
and ``collectlogs``/``SdnDiagnostics`` pick ``Allocators | Where Tag -eq "Endpoint Port"``
(also its ``CompartmendId``, spelled as HNS spells it), then run ``vfpctrl /port <guid>``.
Through HCN V2 the same resources sit in ``Health.Extra.Resources`` (hcsshim
``hcn.Health.Extra``; containerd's and hcsshim's VM NIC code read ``SwitchId`` and
``EndpointPortGuid`` there).

Stored form: ``ep["_PortId"]`` (upper-case GUID, as real allocators print GUIDs), set once
at create for local endpoints and kept across updates.
"""

from __future__ import annotations

import uuid
from typing import Any

Json = dict[str, Any]

PORT_KEY = "_PortId"
_SWITCH_NS = uuid.UUID("6f2a3c1e-4b5d-4e8f-9a0b-1c2d3e4f5a6b")
_HOST_NS = uuid.UUID("0c8e5a52-7d1b-4f0e-9a63-2b7f4d1e9c30")


def new_port_id() -> str:
    return str(uuid.uuid4()).upper()


def captured_port_id(body: Any) -> str | None:
    """The port GUID of an endpoint imported from a capture, from its own allocators: V1
    ``Resources`` or V2 ``Health.Extra.Resources``."""
    if not isinstance(body, dict):
        return None
    health = body.get("Health")
    extra = health.get("Extra") if isinstance(health, dict) else None
    item = _allocator(body.get("Resources"), extra, "Endpoint Port")
    return None if item is None else str(item["EndpointPortGuid"]).upper()


def _allocator(resources: Any, fallback: Any, tag: str) -> Json | None:
    """The first allocator tagged ``tag`` that names a port (a string
    ``EndpointPortGuid``) in ``resources``, a ``Resources`` block, or in ``fallback``'s
    ``Resources`` when ``resources`` is not one."""
    if not isinstance(resources, dict) and isinstance(fallback, dict):
        resources = fallback.get("Resources")
    allocators = resources.get("Allocators") if isinstance(resources, dict) else None
    for item in allocators if isinstance(allocators, list) else []:
        if isinstance(item, dict) and item.get("Tag") == tag and \
                isinstance(item.get("EndpointPortGuid"), str):
            return item
    return None


def port_id_of(ep: Json) -> str:
    """The GUID of a local endpoint's VFP port (the endpoint ID for objects stored before
    ports had their own GUID, e.g. old state files)."""
    return str(ep.get(PORT_KEY) or ep["ID"])


def switch_id_of(network_id: str) -> str:
    """A stable vSwitch GUID per network (one external vSwitch per adapter network)."""
    return str(uuid.uuid5(_SWITCH_NS, network_id.upper())).upper()


def endpoint_resources(ep: Json, *, compartment: int = 0) -> Json | None:
    """The ``Resources`` block of a local endpoint: one ``Endpoint Port`` allocator, first
    in the list (networkhealth.ps1 reads ``Allocators[0]``). Fields follow the real
    ``Host Vnic`` allocator (real/v1-post-networks-nat-response.json), which is the same
    port object for the host's vNIC, less ``PreferredPortFriendlyName`` ("Container NIC"
    + the first 8 hex digits of the allocator ID: a partial GUID the call-log replay could
    not rename). None for remote endpoints (they have no port)."""
    if PORT_KEY not in ep:
        return None
    port = ep[PORT_KEY]
    allocator: Json = {
        "AdditionalParams": {},
        "AllocationOrder": 0,
        "CompartmendId": compartment,
        "Connected": True,
        "EndpointNicGuid": str(uuid.uuid5(_SWITCH_NS, f"nic:{port}")).upper(),
        "EndpointPortGuid": port,
        "Flags": 0,
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        "ID": str(ep["ID"]).upper(),
        "IsPolicy": False,
        "IsolationId": 0,
        "MacAddress": ep.get("MacAddress") or "",
        "ManagementPort": False,
        "NicFriendlyName": str(ep.get("Name") or ""),
        "State": 3,
        "SwitchId": switch_id_of(str(ep.get("HostComputeNetwork") or "")),
        "Tag": "Endpoint Port",
        "nonPersistentPort": False,
    }
    return {
        "AdditionalParams": {},
        "AllocationOrder": 1,
        "Allocators": [allocator],
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        "ID": str(ep["ID"]).upper(),
        "PortOperationTime": 0,
        "State": 1,
        "SwitchOperationTime": 0,
        "VfpOperationTime": 0,
    }


# -- the host vNIC port of a network (hns/compiler/hostport.py programs it) ---------------

def _host_allocator(net: Json) -> Json | None:
    """The `Host Vnic` allocator of an imported network's V1 `Resources` (stored with the
    V1 extras), if any."""
    return _allocator(net.get("Resources"), net.get("_v1"), "Host Vnic")


def _host_allocator_id(net: Json) -> str:
    found = _host_allocator(net)
    if found is not None and isinstance(found.get("ID"), str):
        return str(found["ID"]).upper()
    return str(uuid.uuid5(_HOST_NS, f"allocator:{str(net['ID']).upper()}")).upper()


def host_port_id(net: Json) -> str:
    """The GUID of a network's host vNIC port: the imported `Host Vnic` allocator's
    `EndpointPortGuid`, else a stable GUID of the network ID (upper case)."""
    found = _host_allocator(net)
    if found is not None:
        return str(found["EndpointPortGuid"]).upper()
    return str(uuid.uuid5(_HOST_NS, f"port:{str(net['ID']).upper()}")).upper()


def host_port_name(net: Json) -> str:
    """`Container NIC <first 8 hex digits of the allocator ID>`, as real hosts name it
    (real/v1-post-networks-nat-response.json: ID C4700EC5-... -> "Container NIC c4700ec5")."""
    found = _host_allocator(net)
    if found is not None and isinstance(found.get("PreferredPortFriendlyName"), str):
        return str(found["PreferredPortFriendlyName"])
    return f"Container NIC {_host_allocator_id(net)[:8].lower()}"


def network_resources(net: Json) -> Json:
    """The V1 `Resources` of a network: one `Host Vnic` allocator naming the host vNIC
    port (the fields of the real one in real/v1-post-networks-nat-response.json that the
    emulator can give truthfully; the NAT allocator and the host interface GUIDs are not
    modelled)."""
    allocator: Json = {
        "AdditionalParams": {},
        "AllocationOrder": 0,
        "CompartmendId": 0,
        "Connected": True,
        "EndpointNicGuid": str(uuid.uuid5(_HOST_NS, f"nic:{host_port_id(net)}")).upper(),
        "EndpointPortGuid": host_port_id(net),
        "Flags": 0,
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        "ID": _host_allocator_id(net),
        "IsPolicy": False,
        "ManagementPort": True,
        "PreferredPortFriendlyName": host_port_name(net),
        "State": 3,
        "SwitchId": switch_id_of(str(net["ID"])),
        "Tag": "Host Vnic",
        "nonPersistentPort": False,
    }
    return {
        "AdditionalParams": {},
        "AllocationOrder": 1,
        "Allocators": [allocator],
        "CompartmentOperationTime": 0,
        "Flags": 0,
        "Health": {"LastErrorCode": 0, "LastUpdateTime": 0},
        # the resources block has an ID of its own (F7289430-... in the real sample)
        "ID": str(uuid.uuid5(_HOST_NS, f"resources:{str(net['ID']).upper()}")).upper(),
        "PortOperationTime": 0,
        "State": 1,
        "SwitchOperationTime": 0,
        "VfpOperationTime": 0,
    }
