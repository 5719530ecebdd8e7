"""Policy settings are parsed by their pydantic models (hns/schema/policy.py, and the V1
flat models in hns/schema/v1.py): every settings field carries its request check, a
failure keeps HNS's order (a bad value, then the missing fields, then a value the type
refuses), and V1's own spellings (NAT protocol names, ExternalPortReserved) are the V1
model's to read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hns_test_helpers import FIXTURES
from pydantic import BaseModel

from hns import errors
from hns.policies import (
    ENDPOINT_POLICY_TYPES,
    NETWORK_POLICY_TYPES,
    SUBNET_POLICY_TYPES,
    parse_policies,
    to_v1,
)
from hns.profiles import PROFILES
from hns.schema import (
    ENDPOINT_POLICY_MODELS,
    NETWORK_POLICY_MODELS,
    SUBNET_POLICY_MODELS,
    V1_POLICY_MODELS,
)
from hns.schema.request import Checked
from hns.service import HnsService
from tests.hcn_builders import create_network

PROFILE = PROFILES["ws2025"]
TABLES = [NETWORK_POLICY_MODELS, SUBNET_POLICY_MODELS, ENDPOINT_POLICY_MODELS]


def _settings_model(policy_model: type[BaseModel]) -> type[BaseModel]:
    annotation = policy_model.model_fields["settings"].annotation
    return next(a for a in annotation.__args__ if a is not type(None))  # type: ignore[union-attr]


@pytest.mark.parametrize("table", TABLES, ids=["network", "subnet", "endpoint"])
def test_every_settings_field_carries_its_request_check(table: dict[str, Any]) -> None:
    # A field without one would be judged by pydantic's own rules and messages, not HNS's.
    for ptype, model in table.items():
        for name, info in _settings_model(model).model_fields.items():
            assert any(isinstance(m, Checked) for m in info.metadata), f"{ptype}.{name}"


def _refused(policy: dict[str, Any], table: Any = ENDPOINT_POLICY_TYPES, *,
             v1: bool = False) -> errors.HnsError:
    with pytest.raises(errors.HnsError) as caught:
        parse_policies([policy], table, PROFILE, v1=v1)
    return caught.value


@pytest.mark.parametrize(("policy", "table", "detail"), [
    # a bad value comes before a missing field
    ({"Type": "RemoteSubnetRoute", "Settings": {"IsolationId": "x"}}, NETWORK_POLICY_TYPES,
     "RemoteSubnetRoute: expected a number, got str"),
    # every missing field at once, sorted
    ({"Type": "VSwitchExtension", "Settings": {"Enable": True}}, NETWORK_POLICY_TYPES,
     "VSwitchExtension: VSwitchExtension is missing ExtensionID"),
    # a type's own wording of its missing fields
    ({"Type": "ACL", "Settings": {"Action": "Allow"}}, ENDPOINT_POLICY_TYPES,
     "ACL: ACL needs Action and Direction"),
    ({"Type": "SetPolicy", "Settings": {"Name": "s"}}, NETWORK_POLICY_TYPES,
     "SetPolicy: SetPolicy needs Id and PolicyType"),
    # a refused value comes after every bad value ...
    ({"Type": "PortMapping", "Settings": {"Protocol": 1, "ExternalPort": "80"}},
     ENDPOINT_POLICY_TYPES, "PortMapping: expected a number, got str"),
    # ... and is reported when it is the only fault
    ({"Type": "PortMapping", "Settings": {"Protocol": 1}}, ENDPOINT_POLICY_TYPES,
     "PortMapping: PortMapping protocol must be TCP (6) or UDP (17)"),
    # the first bad value in the model's field order
    ({"Type": "ACL", "Settings": {"Priority": -1, "Action": "Allow", "Direction": "Up"}},
     ENDPOINT_POLICY_TYPES, "ACL: 'Up' is not one of In, Out"),
])
def test_failures_keep_hns_order(policy: dict[str, Any], table: Any, detail: str) -> None:
    err = _refused(policy, table)
    assert isinstance(err, errors.InvalidPolicy)
    assert err.detail == detail


def test_stored_values_are_what_the_model_checks_return() -> None:
    (pol,) = parse_policies([{"Type": "VSwitchExtension", "Settings": {
        "ExtensionID": "{E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A}", "Enable": None,
        "Other": [1]}}], NETWORK_POLICY_TYPES, PROFILE, v1=False)
    # braces off, the null dropped, the unknown key kept as given, the client's key order
    assert pol == {"Type": "VSwitchExtension", "Settings": {
        "ExtensionID": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A", "Other": [1]}}
    (pm,) = parse_policies([{"Type": "portmapping", "Settings": {
        "VIP": "", "ExternalPort": 8080.0, "Protocol": 6}}], ENDPOINT_POLICY_TYPES, PROFILE,
        v1=False)
    assert pm == {"Type": "PortMapping", "Settings": {"ExternalPort": 8080, "Protocol": 6}}
    (vlan,) = parse_policies([{"Type": "VLAN", "Settings": {"IsolationId": 7}}],
                             SUBNET_POLICY_TYPES, PROFILE, v1=False)
    assert vlan == {"Type": "VLAN", "Settings": {"IsolationId": 7}}


# ---- V1 flat policies ------------------------------------------------------------------

def test_every_v1_twin_names_a_v2_type_of_its_kind() -> None:
    v2_names = set(ENDPOINT_POLICY_TYPES) | set(NETWORK_POLICY_TYPES)
    twins = {name: m.v2_type for name, m in V1_POLICY_MODELS.items() if m.v2_type}
    assert set(twins) == set(V1_POLICY_MODELS) - {"ELB"}  # ELB: a policy list's, not a policy
    assert set(twins.values()) <= v2_names


def test_v1_nat_spellings_are_read_by_the_v1_model() -> None:
    # Docker's libnetwork (windows driver) writes NAT policies with the protocol by name
    # and ExternalPortReserved; V2 keeps a number and a Flags bit.
    flat = {"Type": "nat", "Protocol": "udp", "InternalPort": 53, "ExternalPort": 5353,
            "ExternalPortReserved": True, "Flags": 1.0}
    (pol,) = parse_policies([flat], ENDPOINT_POLICY_TYPES, PROFILE, v1=True)
    assert pol == {"Type": "PortMapping", "Settings": {
        "Protocol": 17, "InternalPort": 53, "ExternalPort": 5353, "Flags": 5}}
    assert to_v1(pol, ENDPOINT_POLICY_TYPES) == {
        "Type": "NAT", "Protocol": "UDP", "InternalPort": 53, "ExternalPort": 5353,
        "Flags": 1, "ExternalPortReserved": True}


@pytest.mark.parametrize(("flat", "detail"), [
    ({"Type": "NAT", "Protocol": "SCTP"}, "PortMapping: unknown protocol 'SCTP'"),
    ({"Type": "NAT", "ExternalPortReserved": "yes"},
     "PortMapping: ExternalPortReserved must be a boolean"),
    # a bad Flags is Flags's fault, also beside ExternalPortReserved
    ({"Type": "NAT", "ExternalPortReserved": True, "Flags": "1"},
     "PortMapping: expected a number, got str"),
    ({"Type": "NAT", "Protocol": True}, "PortMapping: expected a number, got a boolean"),
])
def test_v1_nat_faults_are_invalid_policy(flat: dict[str, Any], detail: str) -> None:
    err = _refused(flat, v1=True)
    assert isinstance(err, errors.InvalidPolicy)
    assert err.detail == detail


def test_real_calico_v1_policies_parse_and_read_back(svc: HnsService) -> None:
    # A Calico endpoint's V1 Policies items, as pasted in Azure/azure-container-networking#1752.
    text = (FIXTURES / "acn-1752-calico-endpoint-policies-v1-acl.txt").read_text()
    items = json.loads("[" + text.strip().rstrip(",") + "]")
    stored = parse_policies(items, ENDPOINT_POLICY_TYPES, PROFILE, v1=True)
    assert [p["Type"] for p in stored] == ["OutBoundNAT", "SDNRoute", "ProviderAddress", "ACL"]
    assert stored[0]["Settings"] == {"Exceptions": ["10.96.0.0/12", "192.168.0.0/16"]}
    assert stored[2]["Settings"] == {"ProviderAddress": "10.1.0.5"}
    for item, pol in zip(items, stored, strict=True):
        assert to_v1(pol, ENDPOINT_POLICY_TYPES) == item
    net = create_network(svc)
    ep = svc.hns_call("POST", "/endpoints/", json.dumps(
        {"VirtualNetwork": net["ID"], "Policies": items}))
    assert ep["Policies"] == items


def test_v1_type_names_unmapped_for_a_kind_stay_v2_names() -> None:
    # A network knows no PA: V1 "PA" on a network is an unknown type, as before.
    err = _refused({"Type": "PA", "PA": "10.0.0.1"}, NETWORK_POLICY_TYPES, v1=True)
    assert isinstance(err, errors.InvalidPolicyType)
    # V1 takes a V2 type name written flat.
    (pol,) = parse_policies([{"Type": "RemoteSubnetRoute", "DestinationPrefix": "10.0.0.0/24"}],
                            NETWORK_POLICY_TYPES, PROFILE, v1=True)
    assert pol["Settings"]["DestinationPrefix"] == "10.0.0.0/24"

