"""HCN V2 request builders shared by the hns and faults tests (a uniquely named module:
tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hns.service import HnsService

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "hns"

V2 = {"Major": 2, "Minor": 0}


def network_v2(name: str = "cbr0", prefix: str = "10.0.0.0/24", gateway: str = "10.0.0.1",
               ntype: str = "L2Bridge", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Name": name,
        "Type": ntype,
        "Ipams": [{"Type": "Static", "Subnets": [{
            "IpAddressPrefix": prefix,
            "Routes": [{"NextHop": gateway, "DestinationPrefix": "0.0.0.0/0"}],
        }]}],
        "SchemaVersion": V2,
    }
    body.update(extra)
    return body


def create_network(svc: HnsService, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2(**kw)))
    return out


def create_endpoint(svc: HnsService, network: str, **extra: Any) -> dict[str, Any]:
    body = {"HostComputeNetwork": network, "SchemaVersion": V2, **extra}
    out: dict[str, Any] = svc.hcn_call("HcnCreateEndpoint", None, json.dumps(body))
    return out


def lb_body(endpoints: list[str], vip: str = "10.96.0.10", port: int = 80,
            **extra: Any) -> str:
    body = {"HostComputeEndpoints": endpoints, "SourceVIP": "10.0.0.250",
            "FrontendVIPs": [vip] if vip else [],
            "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": port}],
            "SchemaVersion": V2, **extra}
    return json.dumps(body)
