"""The served OpenAPI document describes HNS: it validates, names a schema for every object,
policy settings type and V1 shape, every V1/V2/call-mirror body references them, its
examples are the real captures, and a client generated from it by a standard generator
(openapi-python-client) creates a network and an endpoint on a real server."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from api.app import create_app
from hns import schema as hns_schema
from hns.capture import extract_json
from hns.schema import ENDPOINT_POLICY_MODELS, NETWORK_POLICY_MODELS, SUBNET_POLICY_MODELS
from hns.service import HnsService
from tests.api.api_server_helpers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "hns"


@pytest.fixture(scope="module")
def doc() -> Iterator[dict[str, Any]]:
    svc = HnsService()
    try:
        yield create_app(svc).openapi()
    finally:
        svc.close()


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def test_document_validates(doc: dict[str, Any]) -> None:
    validate(doc)


def test_document_names_every_hns_schema(doc: dict[str, Any]) -> None:
    names = set(doc["components"]["schemas"])
    wanted = {"HostComputeNetwork", "HostComputeEndpoint", "HostComputeLoadBalancer",
              "HostComputeNamespace", "HostComputeRoute", "Ipam", "Subnet", "Route",
              "IpConfig", "MacPool", "Dns", "SchemaVersion", "LoadBalancerPortMapping",
              "V1Network", "V1Endpoint", "V1PolicyList", "V1Namespace", "V1Policy",
              "V1Envelope", "HnsErrorRecord", "NetworkPolicy", "SubnetPolicy",
              "EndpointPolicy", "ModifySettingRequest"}
    assert wanted <= names, wanted - names
    for prefix, table in (("NetworkPolicy", NETWORK_POLICY_MODELS),
                          ("SubnetPolicy", SUBNET_POLICY_MODELS),
                          ("EndpointPolicy", ENDPOINT_POLICY_MODELS)):
        for ptype in table:
            assert f"{prefix}{ptype}" in names
    # Every settings model a policy names is published too.
    assert {"AclSettings", "PortMappingSettings", "RemoteSubnetRouteSettings",
            "VsidSettings"} <= names


def test_every_hns_route_references_named_schemas(doc: dict[str, Any]) -> None:
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            op_id = op.get("operationId", "")
            if not (op_id.startswith(("v1_", "hcn_")) or op_id in ("hnscall", "hcncall")):
                continue
            checked += 1
            responses = op["responses"]
            ok = next(s for s in responses if s.startswith("2"))
            if ok != "204":
                assert _refs(responses[ok]), (method, path)
            error = "400"
            assert _refs(responses[error]) & {"HnsErrorRecord", "V1Envelope"}, (method, path)
            if "requestBody" in op:
                assert _refs(op["requestBody"]), (method, path)
    assert checked > 30


# POST/PUT routes that read no body (they act on the whole service).
_BODYLESS = {("post", "/_emulator/reset"), ("post", "/_emulator/reboot")}


def test_every_emulator_vfp_and_bridge_route_describes_its_bodies(doc: dict[str, Any]) -> None:
    """The emulator's own routes: every request body and every answer (but 204) references a
    named schema, every error answer the error schema of its family; a POST or PUT without
    a described body must be one that reads none."""
    errors = {"/vfp": "VfpErrorRecord", "/_bridge": "V1Envelope", "/_emulator": "HnsErrorRecord"}
    checked = 0
    for path, item in doc["paths"].items():
        family = next((f for f in errors if path.startswith(f + "/")), None)
        if family is None:
            continue
        for method, op in item.items():
            checked += 1
            where = (method, path)
            if method in ("post", "put") and where not in _BODYLESS:
                assert "requestBody" in op, where
            if "requestBody" in op:
                assert _refs(op["requestBody"]), where
            for status, answer in op["responses"].items():
                if status.startswith("2") and status != "204":
                    assert _refs(answer), where
                if status.startswith(("4", "5")):
                    assert _refs(answer) == {errors[family]}, (where, status)
    assert checked >= 36


def test_every_route_in_the_document_describes_its_answer_and_body(
        doc: dict[str, Any]) -> None:
    """Every operation, whatever its family (HCN enumerate id lists and /ui/api/overview
    included): a 2xx answer other than 204 references a named schema, and a POST or PUT
    without a described body is one that reads none."""
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            checked += 1
            where = (method, path)
            for status, answer in op["responses"].items():
                if status.startswith("2") and status != "204":
                    assert _refs(answer), (where, status)
            if method in ("post", "put") and where not in _BODYLESS:
                assert "requestBody" in op, where
                assert _refs(op["requestBody"]), where
    assert checked > 70


def test_hcn_query_parameter_is_a_described_host_compute_query(doc: dict[str, Any]) -> None:
    """``?query=`` of every V2 enumerate and query route: a string holding the JSON of
    the HostComputeQuery component, which takes what real clients send."""
    from api.hcn_bodies import HostComputeQuery

    checked = 0
    for path, item in doc["paths"].items():
        for op in item.values():
            if not str(op.get("operationId", "")).startswith(("hcn_enumerate_", "hcn_query_")):
                continue
            [param] = [p for p in op.get("parameters", []) if p["name"] == "query"]
            assert param["schema"]["type"] == "string", path
            assert _refs(param["schema"]) == {"HostComputeQuery"}, path
            checked += 1
    assert checked == 10
    assert "HostComputeQuery" in doc["components"]["schemas"]
    # hcsshim (Flags left out when 0), hns.v2.psm1 (Filter "{}"), the reference's example.
    for text in ('{"SchemaVersion":{"Major":2,"Minor":0}}',
                 '{"SchemaVersion":{"Major":2,"Minor":0},"Flags":1,"Filter":"{}"}',
                 '{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,'
                 '"Filter":"{\\"Name\\":\\"cbr0\\"}"}'):
        HostComputeQuery.model_validate_json(text)


def test_examples_are_the_real_captures(doc: dict[str, Any]) -> None:
    lb_text = (FIXTURES / "calico-7305-kubeproxy-v2-loadbalancer-created.txt").read_text()
    created = doc["paths"]["/hcn/loadbalancers"]["post"]["responses"]["201"]
    example = created["content"]["application/json"]["example"]
    assert example == extract_json(lb_text)
    hns_schema.HostComputeLoadBalancer.model_validate(example)
    net = doc["paths"]["/networks"]["post"]["responses"]["200"]["content"]["application/json"]
    assert net["example"] == json.loads((FIXTURES / "v1-post-networks-nat-response.json")
                                        .read_text(encoding="utf-8-sig"))
    err = created = doc["paths"]["/hcn/endpoints"]["post"]["responses"]["400"]
    record = err["content"]["application/json"]["example"]
    assert record == {"Success": False, "Error": "An address provided is invalid or reserved. ",
                      "ErrorCode": 0x803B002F}
    hns_schema.HnsErrorRecord.model_validate(record)


@pytest.fixture(scope="module")
def generated_client(doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    tool = shutil.which("openapi-python-client") or str(
        Path(sys.executable).parent / "openapi-python-client")
    out = tmp_path_factory.mktemp("generated")
    spec = out / "openapi.json"
    spec.write_text(json.dumps(doc))
    subprocess.run([tool, "generate", "--path", str(spec), "--meta", "none",
                    "--output-path", str(out / "hnsgen")], check=True, cwd=out,
                   capture_output=True, timeout=300)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("hnsgen")
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "hnsgen" or n.startswith("hnsgen.")]:
            del sys.modules[name]


def test_generated_client_creates_a_network_and_an_endpoint(generated_client: Any) -> None:
    gen = generated_client
    models = importlib.import_module("hnsgen.models")
    create_net = importlib.import_module("hnsgen.api.v2_networks.hcn_create_networks")
    create_ep = importlib.import_module("hnsgen.api.v2_endpoints.hcn_create_endpoints")
    query_ep = importlib.import_module("hnsgen.api.v2_endpoints.hcn_query_endpoints")
    get_v1 = importlib.import_module("hnsgen.api.v1_endpoints.v1_get_endpoints_id")
    server = ServerProcess(["--state", ":memory:"]).start()
    try:
        client = gen.Client(base_url=server.url)
        network = models.HostComputeNetwork.from_dict({
            "Name": "gen-net", "Type": "NAT",
            "Ipams": [{"Type": "Static", "Subnets": [{
                "IpAddressPrefix": "172.30.0.0/24",
                "Routes": [{"NextHop": "172.30.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
            "SchemaVersion": {"Major": 2, "Minor": 0}})
        created = create_net.sync(client=client, body=network)
        assert isinstance(created, models.HostComputeNetwork), created
        assert created.name == "gen-net"
        assert created.id
        endpoint = models.HostComputeEndpoint.from_dict({
            "Name": "gen-ep", "HostComputeNetwork": created.id,
            "IpConfigurations": [{"IpAddress": "172.30.0.7"}],
            "Policies": [{"Type": "PortMapping",
                          "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080}}],
            "SchemaVersion": {"Major": 2, "Minor": 0}})
        ep = create_ep.sync(client=client, body=endpoint)
        assert isinstance(ep, models.HostComputeEndpoint), ep
        assert ep.host_compute_network == created.id
        assert ep.ip_configurations[0].ip_address == "172.30.0.7"
        assert ep.policies[0].settings.external_port == 8080
        again = query_ep.sync(client=client, id=ep.id)
        assert isinstance(again, models.HostComputeEndpoint)
        assert again.mac_address == ep.mac_address
        v1 = get_v1.sync_detailed(client=client, id=ep.id)
        assert v1.status_code == 200
        assert json.loads(v1.content)["Output"]["IPAddress"] == "172.30.0.7"
        # An HNS error comes back typed: the same address again is refused.
        dup = create_ep.sync(client=client, body=endpoint)
        assert isinstance(dup, models.HnsErrorRecord), dup
        assert dup.success is False
    finally:
        server.stop()
