"""Generated JSON thrown at every create (and modify) function: only HnsError ever comes
out, never E_UNEXPECTED, and a refused call leaves the store exactly as it was."""

from __future__ import annotations

import json
import os
from typing import Any

from hns_test_helpers import V2, network_v2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hns import errors
from hns.errors import HnsError
from hns.service import HnsService

KEYS = [
    "ID", "Name", "Type", "Flags", "Policies", "Settings", "Ipams", "Subnets", "Routes",
    "IpAddressPrefix", "AddressPrefix", "GatewayAddress", "NextHop", "DestinationPrefix",
    "MacPool", "Ranges", "StartMacAddress", "EndMacAddress", "MacPools", "Dns", "ServerList",
    "HostComputeNetwork", "VirtualNetwork", "VirtualNetworkName", "IpConfigurations",
    "IpAddress", "PrefixLength", "IPAddress", "MacAddress", "IsRemoteEndpoint",
    "HostComputeEndpoints", "FrontendVIPs", "SourceVIP", "PortMappings", "Protocol",
    "InternalPort", "ExternalPort", "DistributionType", "References", "VIPs", "IsDSR",
    "IsolationId", "VSID", "VLAN", "PA", "ProviderAddress", "Action", "Direction",
    "Protocols", "LocalAddresses", "RemotePorts", "Priority", "SchemaVersion", "Major",
    "Minor", "NamespaceId", "IsDefault", "Setting", "Exceptions", "ExceptionList",
    "ResourceType", "RequestType", "EndpointId", "HostComputeNamespace", "DNSSuffix",
]
POLICY_TYPES = ["PortMapping", "ACL", "QOS", "OutBoundNAT", "SDNRoute", "ProviderAddress",
                "PA", "NAT", "ELB", "ROUTE", "VSID", "VLAN", "RemoteSubnetRoute", "HostRoute",
                "SetPolicy", "L4Proxy", "TierAcl", "Iov", "VxlanPort", "Bogus", "NetAdapterName"]
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, 1, 6, 17, 32, 33, 255, 4095, 4096, 65535, 65536, (1 << 24) - 1,
                     1 << 24, 1 << 32, 1 << 64, -1]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "10.0.0.5", "10.0.0.1", "10.0.0.0/24", "10.0.0.0/33", "::/0",
                     "fd00::5", "0.0.0.0/0", "00-15-5D-00-00-01", "0E-2A-0a-f4-02-8d",
                     "1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10",
                     "{1b4f9f53-6c0e-4b0c-9a57-2f3e5d8c7a10}",
                     "00000000-0000-0000-0000-000000000000", "not-a-guid", "Any", "256",
                     "TCP", "NAT", "Overlay", "l2bridge", "Bogus", "Static", "/endpoints/x",
                     "Add", "Remove", "Update", "Policy", "Endpoint", "In", "Allow"]),
    st.sampled_from(POLICY_TYPES),
    st.text(max_size=8),
)


def _json() -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), children,
                            max_size=6),
        ),
        max_leaves=25,
    )


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with one key replaced by anything (deep mutations come from _json)."""
    return st.builds(lambda k, v: {**base, k: v}, st.sampled_from(sorted(base) + KEYS), _json())


def _service() -> tuple[HnsService, dict[str, str]]:
    svc = HnsService()
    net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(network_v2()))
    ep = svc.hcn_call("HcnCreateEndpoint", None,
                      json.dumps({"HostComputeNetwork": net["ID"], "SchemaVersion": V2}))
    ns = svc.hcn_call("HcnCreateNamespace", None, "{}")
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(
        {"HostComputeEndpoints": [ep["ID"]], "FrontendVIPs": ["10.96.0.3"],
         "PortMappings": [{"Protocol": 6, "InternalPort": 80, "ExternalPort": 80}]}))
    return svc, {"network": net["ID"], "endpoint": ep["ID"], "namespace": ns["ID"],
                 "loadbalancer": lb["ID"]}


SVC, IDS = _service()
NET, EP = IDS["network"], IDS["endpoint"]

CREATES = [
    ("hns", "/networks/"), ("hns", "/endpoints/"), ("hns", "/policylists/"),
    ("hns", "/namespaces/"), ("hcn", "HcnCreateNetwork"), ("hcn", "HcnCreateEndpoint"),
    ("hcn", "HcnCreateLoadBalancer"), ("hcn", "HcnCreateNamespace"),
    ("hcn", "HcnCreateSdnRoute"), ("hns", f"/endpoints/{EP}"),
    ("hns", f"/namespaces/{IDS['namespace']}/addresource"),
]
BASES: dict[str, dict[str, Any]] = {
    "/networks/": {"Name": "n", "Type": "nat",
                   "Subnets": [{"AddressPrefix": "10.9.0.0/24", "GatewayAddress": "10.9.0.1"}]},
    "/endpoints/": {"VirtualNetwork": NET, "Policies": []},
    "/policylists/": {"References": [f"/endpoints/{EP}"],
                      "Policies": [{"Type": "ELB", "Protocol": 6, "InternalPort": 80,
                                    "ExternalPort": 80, "VIPs": ["10.96.0.1"]}]},
    "/namespaces/": {"IsDefault": False},
    "HcnCreateNetwork": network_v2(name="m", prefix="10.8.0.0/24", gateway="10.8.0.1"),
    "HcnCreateEndpoint": {"HostComputeNetwork": NET, "SchemaVersion": V2},
    "HcnCreateLoadBalancer": {"HostComputeEndpoints": [EP], "FrontendVIPs": ["10.96.0.2"],
                              "PortMappings": [{"Protocol": 6, "InternalPort": 80,
                                                "ExternalPort": 80}]},
    "HcnCreateNamespace": {"SchemaVersion": V2},
    f"/endpoints/{EP}": {"VirtualNetwork": NET, "IPAddress": "10.0.0.77"},
    f"/namespaces/{IDS['namespace']}/addresource": {"Type": "Endpoint", "Data": {"Id": EP}},
    "HcnCreateSdnRoute": {"HostComputeEndpoints": [EP],
                          "Routes": [{"DestinationPrefix": "10.0.0.0/8", "NextHop": "10.0.0.1"}]},
}


def _call(api: str, target: str, body: str) -> Any:
    if api == "hns":
        return SVC.hns_call("POST", target, body)
    return SVC.hcn_call(target, None, body)


def _check(api: str, target: str, body: str) -> None:
    before = SVC.dump()
    try:
        _call(api, target, body)
    except errors.Unexpected as exc:  # a bug, not an HNS answer
        raise AssertionError(f"{target} raised E_UNEXPECTED: {exc}") from exc
    except HnsError:
        assert SVC.dump() == before, "a refused call changed the store"
        return
    # Accepted: put the store back so examples stay independent.
    SVC.load(before)


FUZZ = settings(max_examples=int(os.environ.get("HNS_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(which=st.sampled_from(CREATES), data=st.data())
def test_fuzz_create_raises_only_hns_errors_and_creates_nothing_on_error(
        which: tuple[str, str], data: st.DataObject) -> None:
    api, target = which
    body = data.draw(st.one_of(_json(), _mutated(BASES[target])))
    _check(api, target, json.dumps(body))


@FUZZ
@given(which=st.sampled_from(CREATES), text=st.text(max_size=40))
def test_fuzz_create_with_arbitrary_text(which: tuple[str, str], text: str) -> None:
    _check(*which, text)


@FUZZ
@given(fn=st.sampled_from(["HcnModifyNetwork", "HcnModifyEndpoint", "HcnModifyNamespace",
                           "HcnModifyLoadBalancer", "HcnEnumerateEndpoints",
                           "HcnQueryNetworkProperties"]),
       body=st.one_of(_json(), st.builds(
           lambda r, q, s: {"ResourceType": r, "RequestType": q, "Settings": s},
           st.sampled_from(["Policy", "DNS", "Subnet", "Extension", "Port", "Endpoint", "X"]),
           st.sampled_from(["Add", "Remove", "Update", "Refresh", "X"]), _json())))
def test_fuzz_modify_and_query_raise_only_hns_errors(fn: str, body: Any) -> None:
    before = SVC.dump()
    ident = {"HcnModifyEndpoint": EP, "HcnModifyNamespace": IDS["namespace"],
             "HcnModifyLoadBalancer": IDS["loadbalancer"]}.get(fn, NET)
    try:
        SVC.hcn_call(fn, ident, json.dumps(body))
    except errors.Unexpected as exc:
        raise AssertionError(f"{fn} raised E_UNEXPECTED: {exc}") from exc
    except HnsError:
        assert SVC.dump() == before
        return
    SVC.load(before)
