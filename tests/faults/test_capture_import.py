"""Import of real-host captures beyond single JSON documents: ``hnsdiag list all -d``/``-df``
output, the microsoft/SDN collectlogs bundle (directory or zip, UTF-16 files), and V1/V2
``ConvertTo-Json`` of networks, endpoints and policy lists."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults_helpers import (
    FIXTURES,
    create_endpoint,
    create_network,
    lb_settings,
    live_server,
)

from api import hnsdiag
from api.client import HnsClient
from hns import errors
from hns.capture import decode_capture, extract_documents, read_capture
from hns.service import HnsService

NAT_RESPONSE = FIXTURES / "v1-post-networks-nat-response.json"
REMOTE_ENDPOINT = FIXTURES / "v1-remote-endpoint-overlay-pa.json"
WSL_DF_PARTIAL = FIXTURES / "wsl-6457-hnsdiag-list-all-df-ics-network.partial.txt"
REMOTE_EP_ID = "8f109901-9970-4fda-bb2b-e9882fb3e8fb"


def populate(svc: HnsService) -> dict[str, Any]:
    nat = svc.hns_call("POST", "/networks/", json.dumps({
        "Name": "nat", "Type": "NAT",
        "Subnets": [{"AddressPrefix": "172.20.0.0/24", "GatewayAddress": "172.20.0.1"}]}))
    net = create_network(svc)
    ep1, ep2 = create_endpoint(svc, net["ID"]), create_endpoint(svc, net["ID"])
    lb = svc.hcn_call("HcnCreateLoadBalancer", None, lb_settings([ep1["ID"], ep2["ID"]]))
    ns = svc.hcn_call("HcnCreateNamespace", None, json.dumps({"SchemaVersion": {
        "Major": 2, "Minor": 0}}))
    svc.hcn_call("HcnModifyNamespace", ns["ID"], json.dumps({
        "ResourceType": "Endpoint", "RequestType": "Add",
        "Settings": {"EndpointId": ep1["ID"]}}))
    return {"nat": nat, "net": net, "eps": [ep1, ep2], "lb": lb, "ns": ns}


@pytest.fixture
def source() -> Iterator[HnsService]:
    svc = HnsService()
    try:
        yield svc
    finally:
        svc.close()


def hnsdiag_output(svc: HnsService, detail: str) -> str:
    """What ``hnsdiag list all -d`` (or ``-df``) prints for ``svc``, via the api's hnsdiag."""
    with live_server(svc) as url, HnsClient(url) as client:
        snap = hnsdiag.snapshot(client, hnsdiag.TYPES)
    dump = hnsdiag.pretty_json if detail == "-df" else hnsdiag.compact_json
    lines = ["HNS objects:"]
    for kind in hnsdiag.TYPES:
        lines += [dump(obj) for obj in snap.get(kind, [])]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("detail", ["-d", "-df"])
def test_hnsdiag_list_all_detailed_output_imports_every_object(
        source: HnsService, svc: HnsService, detail: str) -> None:
    made = populate(source)
    text = hnsdiag_output(source, detail)
    ids = svc.import_capture(text)
    assert len(ids) == 6
    assert {n["Name"] for n in svc.hns_call("GET", "/networks/")} == {"nat", "cbr0"}
    mine = {e["ID"]: e["IPAddress"] for e in svc.hns_call("GET", "/endpoints/")}
    theirs = {e["ID"]: e["IPAddress"] for e in source.hns_call("GET", "/endpoints/")}
    assert mine == theirs
    lb = svc.hcn_call("HcnQueryLoadBalancerProperties", made["lb"]["ID"], None)
    assert lb["FrontendVIPs"] == ["10.96.0.10"]
    assert len(lb["HostComputeEndpoints"]) == 2
    assert svc.hcn_call("HcnEnumerateNamespaces", None, None) == [made["ns"]["ID"]]
    assert svc.hcn_call("HcnQueryNamespaceProperties", made["ns"]["ID"], None) == \
        source.hcn_call("HcnQueryNamespaceProperties", made["ns"]["ID"], None)
    ep = svc.hcn_call("HcnQueryEndpointProperties", made["eps"][0]["ID"], None)
    assert ep["HostComputeNamespace"] == made["ns"]["ID"]


def test_truncated_hnsdiag_df_sample_is_refused_and_changes_nothing(svc: HnsService) -> None:
    text = WSL_DF_PARTIAL.read_text(encoding="utf-8")
    assert extract_documents(text) is None
    with pytest.raises(errors.InvalidJson):
        svc.import_capture(text)
    assert svc.hns_call("GET", "/networks/") == []


def _table(header: list[str], row: list[str]) -> str:
    widths = [max(len(h), len(r)) for h, r in zip(header, row, strict=True)]
    line = lambda cells: " ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\r\n" + "\r\n".join([line(header), line(["-" * len(h) for h in header]),
                                 line(row)]).rstrip() + "\r\n\r\n"


def _convertto_json(value: Any) -> str:
    # Windows PowerShell 5.1 indents by 4 and writes CRLF; the exact spacing does not matter
    # to the parser, the layout (table first, then the document) does.
    return json.dumps(value, indent=4).replace("\n", "\r\n") + "\r\n"


def _policy_list() -> dict[str, Any]:
    """A V1 ELB policy list naming the real remote endpoint (shape of hns.psm1's
    New-HnsLoadBalancer request; this object itself is made up for the test)."""
    return {"ID": "5c0ffee0-0000-4000-8000-000000000001",
            "Policies": [{"Type": "ELB", "Protocol": 6, "InternalPort": 8080,
                          "ExternalPort": 80, "VIPs": ["10.96.0.20"], "ILB": False}],
            "References": [f"/endpoints/{REMOTE_EP_ID}"]}


def write_bundle(folder: Path) -> dict[str, Any]:
    """A collectlogs.ps1 output folder built from the real samples, in its file layout
    and encoding (Windows PowerShell's ``>`` writes UTF-16LE with a byte-order mark)."""
    folder.mkdir(parents=True)
    nat = json.loads(NAT_RESPONSE.read_text(encoding="utf-8"))["Output"]
    network_txt = _table(["Name", "Type", "Id", "AddressPrefix"],
                         [nat["Name"], nat["Type"], nat["ID"], ""]) + _convertto_json(nat)
    (folder / "network.txt").write_bytes(b"\xff\xfe" + network_txt.encode("utf-16-le"))
    endpoint_txt = _table(["IpAddress", "MacAddress", "IsRemoteEndpoint", "State"],
                          ["10.244.2.141", "0E-2A-0a-f4-02-8d", "True", "0"]) + \
        REMOTE_ENDPOINT.read_text(encoding="utf-8")
    (folder / "endpoint.txt").write_bytes(b"\xff\xfe" + endpoint_txt.encode("utf-16-le"))
    (folder / "policy.txt").write_bytes(
        b"\xff\xfe" + _convertto_json(_policy_list()).encode("utf-16-le"))
    (folder / "ports.txt").write_text("Port name : {not json", encoding="utf-8")
    return nat


def check_bundle_loaded(svc: HnsService, nat: dict[str, Any]) -> None:
    got = svc.hns_call("GET", f"/networks/{nat['ID']}")
    assert got["Name"] == nat["Name"]
    assert got["Type"] == "nat"
    ep = svc.hns_call("GET", f"/endpoints/{REMOTE_EP_ID}")
    assert ep["IsRemoteEndpoint"] is True
    assert ep["VirtualNetworkName"] == "vxlan0"
    lists = svc.hns_call("GET", "/policylists/")
    assert len(lists) == 1
    assert lists[0]["References"] == [f"/endpoints/{REMOTE_EP_ID}"]


def test_collectlogs_directory_bundle_imports(svc: HnsService, tmp_path: Path) -> None:
    nat = write_bundle(tmp_path / "x1y2z3")
    ids = svc.import_capture(read_capture(tmp_path / "x1y2z3"))
    assert len(ids) == 3  # the NAT network, the endpoint (its network is a stub), the list
    check_bundle_loaded(svc, nat)


def test_collectlogs_zip_bundle_imports(svc: HnsService, tmp_path: Path) -> None:
    nat = write_bundle(tmp_path / "x1y2z3")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for file in (tmp_path / "x1y2z3").iterdir():
            archive.write(file, f"x1y2z3/{file.name}")
    (tmp_path / "logs.zip").write_bytes(data.getvalue())
    svc.import_capture(read_capture(tmp_path / "logs.zip"))
    check_bundle_loaded(svc, nat)


def test_bundle_with_only_hnsdiag_txt_imports_it(source: HnsService, svc: HnsService,
                                                 tmp_path: Path) -> None:
    populate(source)
    (tmp_path / "b").mkdir()
    text = hnsdiag_output(source, "-d")
    (tmp_path / "b" / "hnsdiag.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert len(svc.import_capture(read_capture(tmp_path / "b"))) == 6


def test_bundle_without_hns_files_is_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "routes.txt").write_text("route print", encoding="utf-8")
    with pytest.raises(errors.InvalidJson):
        read_capture(tmp_path / "b")


def test_decode_capture_encodings() -> None:
    text = '[{"ID":"x"}]'
    assert decode_capture(b"\xff\xfe" + text.encode("utf-16-le")) == text
    assert decode_capture(text.encode("utf-16-le")) == text
    assert decode_capture(b"\xef\xbb\xbf" + text.encode()) == text
    assert decode_capture("caf\u00e9".encode("latin-1")) == "caf\u00e9"


def test_v2_convertto_json_of_every_kind_round_trips(
        source: HnsService, svc: HnsService) -> None:
    made = populate(source)
    objects = []
    for kind in ("Networks", "Endpoints", "LoadBalancers", "Namespaces"):
        for ident in source.hcn_call(f"HcnEnumerate{kind}", None, None):
            objects.append(source.hcn_call(f"HcnQuery{kind[:-1]}Properties", ident, None))
    svc.import_capture(json.dumps(objects, indent=4))
    for kind in ("Network", "Endpoint", "LoadBalancer", "Namespace"):
        for ident in source.hcn_call(f"HcnEnumerate{kind}s", None, None):
            assert svc.hcn_call(f"HcnQuery{kind}Properties", ident, None) == \
                source.hcn_call(f"HcnQuery{kind}Properties", ident, None)
    assert len(svc.hcn_call("HcnEnumerateLoadBalancers", None, None)) == 1
    assert made["lb"]["ID"] in svc.hcn_call("HcnEnumerateLoadBalancers", None, None)


def test_v1_get_hnspolicylist_convertto_json_imports(source: HnsService,
                                                     svc: HnsService) -> None:
    made = populate(source)
    networks = source.hns_call("GET", "/networks/")
    endpoints = source.hns_call("GET", "/endpoints/")
    policylists = source.hns_call("GET", "/policylists/")
    svc.import_capture(json.dumps(networks + endpoints + policylists, indent=4))
    assert svc.hns_call("GET", "/policylists/") == policylists
    assert svc.hns_call("GET", f"/endpoints/{made['eps'][0]['ID']}")["IPAddress"] == \
        made["eps"][0]["IpConfigurations"][0]["IpAddress"]


def test_bundle_import_over_http_through_the_client(tmp_path: Path) -> None:
    nat = write_bundle(tmp_path / "bundle")
    svc = HnsService()
    try:
        with live_server(svc) as url, HnsClient(url) as client:
            assert len(client.import_capture_file(tmp_path / "bundle")) == 3
        check_bundle_loaded(svc, nat)
    finally:
        svc.close()


def test_collectlogs_v2_bundle_with_namespaces_and_load_balancers(
        source: HnsService, svc: HnsService, tmp_path: Path) -> None:
    """The newer collectlogs.ps1 (hns.v2.psm1, ``-Version 2``): V2 objects, namespaces.txt,
    and ``Get-HnsLoadBalancer`` in policy.txt; older bundles had bare JSON files."""
    made = populate(source)
    folder = tmp_path / "v2"
    folder.mkdir()

    def query_all(kind: str) -> list[Any]:
        return [source.hcn_call(f"HcnQuery{kind}Properties", i, None)
                for i in source.hcn_call(f"HcnEnumerate{kind}s", None, None)]

    files = {"network.txt": _table(["Name", "Type", "Id"], ["cbr0", "L2Bridge", "x"]),
             "endpoint.txt": "", "namespaces.txt": _table(["ID"], [made["ns"]["ID"]]),
             "policy.txt": ""}
    for name, kind in (("network.txt", "Network"), ("endpoint.txt", "Endpoint"),
                       ("namespaces.txt", "Namespace"), ("policy.txt", "LoadBalancer")):
        text = files[name] + _convertto_json(query_all(kind))
        (folder / name).write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    svc.import_capture(read_capture(folder))
    for kind in ("Network", "Endpoint", "LoadBalancer"):
        assert sorted(svc.hcn_call(f"HcnEnumerate{kind}s", None, None)) == \
            sorted(source.hcn_call(f"HcnEnumerate{kind}s", None, None))
    assert svc.hcn_call("HcnEnumerateNamespaces", None, None) == [made["ns"]["ID"]]
    assert svc.hcn_call("HcnQueryNamespaceProperties", made["ns"]["ID"], None) == \
        source.hcn_call("HcnQueryNamespaceProperties", made["ns"]["ID"], None)
    assert svc.hcn_call("HcnQueryLoadBalancerProperties", made["lb"]["ID"], None) == \
        source.hcn_call("HcnQueryLoadBalancerProperties", made["lb"]["ID"], None)


def test_import_capture_takes_a_path_and_logs_the_text(svc: HnsService, tmp_path: Path) -> None:
    nat = write_bundle(tmp_path / "bundle")
    assert len(svc.import_capture(tmp_path / "bundle")) == 3
    event = svc.calls.calls()[-1]
    check_bundle_loaded(svc, nat)
    assert event.operation == "import"
    assert isinstance(event.request, str)
    with pytest.raises(errors.InvalidArg):
        svc.import_capture(tmp_path / "missing")


def test_hns_emulator_load_takes_hnsdiag_detailed_output(source: HnsService,
                                                        tmp_path: Path) -> None:
    import io as _io

    from api import cli

    populate(source)
    (tmp_path / "hnsdiag.txt").write_text(hnsdiag_output(source, "-d"), encoding="utf-8")
    out, err = _io.StringIO(), _io.StringIO()
    code = cli.main(["load", str(tmp_path / "hnsdiag.txt"), "--state",
                     str(tmp_path / "hns.sqlite")], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "imported 6 objects" in out.getvalue()
    loaded = HnsService(state=tmp_path / "hns.sqlite")
    try:
        assert len(loaded.hns_call("GET", "/endpoints/")) == 2
    finally:
        loaded.close()


def test_cli_load_takes_a_collectlogs_folder_and_a_utf16_file(tmp_path: Path) -> None:
    from api import cli

    nat = write_bundle(tmp_path / "bundle")
    state = tmp_path / "state.sqlite"
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["load", str(tmp_path / "bundle"), "--state", str(state)],
                    out=out, err=err) == 0, err.getvalue()
    assert "imported 3 objects" in out.getvalue()
    svc = HnsService(state=state)
    try:
        check_bundle_loaded(svc, nat)
    finally:
        svc.close()
    # Windows PowerShell's `> file` writes UTF-16 LE with a BOM
    utf16 = tmp_path / "network.json"
    utf16.write_bytes(b"\xff\xfe" + json.dumps(nat).encode("utf-16-le"))
    fresh = tmp_path / "fresh.sqlite"
    assert cli.main(["load", str(utf16), "--state", str(fresh)], out=out, err=err) == 0, \
        err.getvalue()
    svc = HnsService(state=fresh)
    try:
        assert svc.hns_call("GET", f"/networks/{nat['ID']}")["Name"] == nat["Name"]
    finally:
        svc.close()
