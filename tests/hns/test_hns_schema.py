"""hns/schema (the pydantic models) agrees with what HNS writes and what the emulator does:
real captures validate and round-trip, every object the service returns validates, every
hypothesis-drawn valid body validates, and the policy types match hns/policies.py's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from hns import policies
from hns.capture import classify, extract_json
from hns.schema import (
    ENDPOINT_POLICY_MODELS,
    NETWORK_POLICY_MODELS,
    SUBNET_POLICY_MODELS,
    V1_POLICY_MODELS,
    V2_MODELS,
    EndpointPolicy,
    HnsErrorRecord,
    HostComputeEndpoint,
    HostComputeLoadBalancer,
    HostComputeNetwork,
    V1Endpoint,
    V1Envelope,
    V1Namespace,
    V1Network,
    V1Policy,
    V1PolicyList,
)
from hns.service import HnsService
from hns.testing import strategies as hst
from tests.hcn_builders import create_endpoint, create_network, lb_body

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hns"
V1_MODELS: dict[str, type[BaseModel]] = {"network": V1Network, "endpoint": V1Endpoint,
                                         "loadbalancer": V1PolicyList, "route": V1PolicyList,
                                         "namespace": V1Namespace}


def _objects(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")
    value = extract_json(text)
    if isinstance(value, dict) and "Success" in value and "Output" in value:
        value = value["Output"]
    return value if isinstance(value, list) else [value]


def _is_v2(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("SchemaVersion"), dict) and obj["SchemaVersion"].get("Major") == 2


CAPTURES = ["v1-post-networks-nat-response.json", "v1-remote-endpoint-overlay-pa.json",
            "calico-7305-kubeproxy-v2-loadbalancer-created.txt",
            "v1-get-networks-overlay-vsid-and-nat.console-wrapped.txt"]


@pytest.mark.parametrize("name", CAPTURES)
def test_real_capture_validates_and_round_trips(name: str) -> None:
    objs = _objects(name)
    assert objs
    for obj in objs:
        kind = classify(obj)
        model = V2_MODELS[kind] if _is_v2(obj) else V1_MODELS[kind]
        parsed = model.model_validate(obj)
        assert parsed.model_dump(by_alias=True, exclude_none=True) == obj


def test_real_v1_envelope_validates() -> None:
    text = (FIXTURES / "v1-post-networks-nat-response.json").read_text(encoding="utf-8-sig")
    envelope = json.loads(text)
    assert V1Envelope.model_validate(envelope).model_dump(
        by_alias=True, exclude_none=True) == envelope


def test_capture_typed_fields_read_as_hns_wrote_them() -> None:
    (net,) = _objects("v1-post-networks-nat-response.json")
    parsed = V1Network.model_validate(net)
    assert parsed.type == "nat"
    assert parsed.subnets
    assert parsed.subnets[0].address_prefix == "172.21.16.0/20"
    assert parsed.policies
    assert parsed.policies[0].type == "VLAN"
    (lb,) = _objects("calico-7305-kubeproxy-v2-loadbalancer-created.txt")
    got = HostComputeLoadBalancer.model_validate(lb)
    assert got.port_mappings
    assert got.port_mappings[0].external_port == 31416
    assert got.source_vip == "10.10.253.194"


def test_every_object_the_service_returns_validates(svc: HnsService) -> None:
    net = create_network(svc)
    acl = {"Type": "ACL", "Settings": {"Action": "Block", "Direction": "Out",
                                       "RemoteAddresses": "10.0.0.0/8", "Priority": 200}}
    pm = {"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80,
                                              "ExternalPort": 8080}}
    onat = {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.0.0.0/8"]}}
    ep = create_endpoint(svc, net["ID"], Policies=[acl, pm, onat])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_body([ep["ID"]]))
    ns = svc.hcn_call("HcnCreateNamespace", None,
                      json.dumps({"SchemaVersion": {"Major": 2, "Minor": 0}}))
    for model, obj in ((HostComputeNetwork, net), (HostComputeEndpoint, ep),
                       (HostComputeLoadBalancer, lb), (V2_MODELS["namespace"], ns)):
        assert model.model_validate(obj).model_dump(by_alias=True, exclude_none=True) == obj
    for path, model in (("/networks/", V1Network), ("/endpoints/", V1Endpoint),
                        ("/policylists/", V1PolicyList), ("/namespaces/", V1Namespace)):
        for obj in svc.hns_call("GET", path):
            assert model.model_validate(obj).model_dump(by_alias=True,
                                                        exclude_none=True) == obj


def test_schema_rejects_what_the_emulator_rejects() -> None:
    # An ACL without Direction: hns/policies.py refuses it (InvalidPolicy), so must the model.
    with pytest.raises(ValidationError):
        TypeAdapter(EndpointPolicy).validate_python(
            {"Type": "ACL", "Settings": {"Action": "Allow"}})
    with pytest.raises(ValidationError):
        TypeAdapter(EndpointPolicy).validate_python({"Type": "NoSuchPolicy", "Settings": {}})
    with pytest.raises(ValidationError):
        HostComputeNetwork.model_validate({"Flags": "8"})


def test_error_bodies_validate() -> None:
    from api.wire import v1_error, v2_error
    from hns.errors import InvalidNetwork

    HnsErrorRecord.model_validate(v2_error(InvalidNetwork()))
    V1Envelope.model_validate(v1_error(InvalidNetwork()))


@pytest.mark.parametrize(("models", "table"), [
    (NETWORK_POLICY_MODELS, policies.NETWORK_POLICY_TYPES),
    (SUBNET_POLICY_MODELS, policies.SUBNET_POLICY_TYPES),
    (ENDPOINT_POLICY_MODELS, policies.ENDPOINT_POLICY_TYPES),
])
def test_policy_types_match_hns_policies(models: dict[str, Any], table: Any) -> None:
    # Fails when either side gains (or loses) a type: add its settings model with it.
    assert set(models) == set(table)
    for ptype, model in models.items():
        annotation = model.model_fields["settings"].annotation
        settings_model = next(a for a in annotation.__args__ if a is not type(None))
        spec = table[ptype]
        fields = {f.alias or name for name, f in settings_model.model_fields.items()}
        assert set(spec.keys) == fields, ptype


def test_network_types_match_hns_model() -> None:
    from hns.model import NETWORK_TYPES as ACCEPTED
    from hns.schema.network import NETWORK_TYPES

    assert set(NETWORK_TYPES) == set(ACCEPTED)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_strategy_bodies_and_their_results_validate(data: st.DataObject) -> None:
    svc = HnsService()
    try:
        body = data.draw(hst.networks())
        HostComputeNetwork.model_validate(body)
        net = svc.hcn_call("HcnCreateNetwork", None, json.dumps(body))
        HostComputeNetwork.model_validate(net)
        ep_body = data.draw(hst.endpoints(net))
        HostComputeEndpoint.model_validate(ep_body)
        ep = svc.hcn_call("HcnCreateEndpoint", None, json.dumps(ep_body))
        HostComputeEndpoint.model_validate(ep)
        lb_body_ = data.draw(hst.load_balancers([ep["ID"]]))
        HostComputeLoadBalancer.model_validate(lb_body_)
        lb = svc.hcn_call("HcnCreateLoadBalancer", None, json.dumps(lb_body_))
        HostComputeLoadBalancer.model_validate(lb)
    finally:
        svc.close()


def test_real_v1_flat_policies_validate_and_round_trip() -> None:
    # A Calico endpoint's V1 Policies items, as pasted (objects separated by commas).
    text = (FIXTURES / "acn-1752-calico-endpoint-policies-v1-acl.txt").read_text()
    items = json.loads("[" + text.strip().rstrip(",") + "]")
    assert [p["Type"] for p in items] == ["OutBoundNAT", "ROUTE", "PA", "ACL"]
    for item in items:
        model = V1_POLICY_MODELS[item["Type"]]
        assert model.model_validate(item).model_dump(by_alias=True, exclude_none=True) == item
        assert V1Policy.model_validate(item).model_dump(by_alias=True, exclude_none=True) == item
