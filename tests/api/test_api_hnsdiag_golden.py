"""hnsdiag's output against real hnsdiag samples (fixtures/api/, copied from
shared/fixtures/real/): the objects are read from each sample's rows, and the renderer must
give back the sample byte for byte."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from api.hnsdiag import compact_json, main, pretty_json, render_table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "api"


def _sample_body(name: str) -> list[str]:
    """The sample's lines after the prompt line, without the markdown fence."""
    lines = (FIXTURES / name).read_text().splitlines()[1:]
    body = [line for line in lines if line != "```"]
    while body and not body[-1]:
        body.pop()
    return body


def _objects_from_table(lines: list[str]) -> dict[str, list[dict[str, Any]]]:
    snap: dict[str, list[dict[str, Any]]] = {}
    section = ""
    for line in lines:
        if line.endswith(":") and " " not in line:
            section = line[:-1].lower()
            snap[section] = []
            continue
        if not line.strip() or line.startswith(("Name ", "ID ")):
            continue
        if section == "networks":
            name, id = line.split()
            snap[section].append({"Name": name, "ID": id})
        elif section == "endpoints":
            name, id, network = line.split()
            snap[section].append({"Name": name, "ID": id, "VirtualNetworkName": network})
        elif section == "loadbalancers":
            id, vips, dips = (part.strip() for part in line.split("|"))
            snap[section].append(
                {"ID": id, "FrontendVIPs": vips.split(), "HostComputeEndpoints": dips.split()}
            )
    return snap


def test_table_matches_sdn_kubecluster_list_all() -> None:
    expected = _sample_body("sdn-kubecluster-hnsdiag-list-all.txt")
    snap = _objects_from_table(expected)
    assert len(snap["loadbalancers"]) == 4
    out = render_table(snap, ["networks", "endpoints", "namespaces", "loadbalancers"])
    assert out.splitlines() == expected


def test_table_matches_sigwin_l2bridge_long_name_pushes_row() -> None:
    # The sample has one stray blank line inside the endpoint list (a console artefact of
    # the real tool that no object explains); it is dropped before comparing.
    raw = _sample_body("sigwin-168-hnsdiag-list-all-l2bridge.txt")
    stray = raw.index("", raw.index("Endpoints:"))
    expected = raw[:stray] + raw[stray + 1 :]
    snap = _objects_from_table(expected)
    out = render_table(snap, ["networks", "endpoints", "namespaces"])
    assert out.splitlines() == expected
    assert any(
        line.startswith("cid-69c0f0e2") and " 391799da-" in line for line in out.splitlines()
    )


def test_ids_are_cased_as_real_hnsdiag_prints_them() -> None:
    snap = {
        "networks": [{"Name": "n", "ID": "abcdef01-0000-4000-8000-000000000000"}],
        "endpoints": [
            {
                "Name": "e",
                "ID": "ABCDEF02-0000-4000-8000-000000000000",
                "VirtualNetwork": "ABCDEF01-0000-4000-8000-000000000000",
            }
        ],
    }
    out = render_table(snap, ["networks", "endpoints"]).splitlines()
    assert out[2] == "n                ABCDEF01-0000-4000-8000-000000000000"
    assert out[6] == "e                abcdef02-0000-4000-8000-000000000000 n"


def test_namespace_rows_list_endpoint_ids_from_v2_resources() -> None:
    snap = {
        "namespaces": [
            {
                "ID": "8C35026B-3EE6-47F1-B254-AE0B5BA7144C",
                "Resources": [
                    {"Type": "Container", "Data": {"Id": "c1"}},
                    {"Type": "Endpoint", "Data": {"ID": "BA06178E-11E9-4BA3-931D-7C2989B51DD7"}},
                    {"Type": "Endpoint", "Data": {"ID": "fc0bbb8f-52a6-486f-bff8-10ab92859006"}},
                ],
            },
            {"ID": "af826f8b-9f78-41ea-bc9e-6e433f8784df", "Resources": []},
        ]
    }
    assert render_table(snap, ["namespaces"]).splitlines() == [
        "Namespaces:",
        "ID                                   | Endpoint IDs",
        "8c35026b-3ee6-47f1-b254-ae0b5ba7144c | ba06178e-11e9-4ba3-931d-7c2989b51dd7 "
        "fc0bbb8f-52a6-486f-bff8-10ab92859006",
        "af826f8b-9f78-41ea-bc9e-6e433f8784df |",
    ]


def test_nodeport_lb_has_blank_vip_column() -> None:
    snap = {
        "loadbalancers": [
            {
                "ID": "326f84d7-35ec-4355-a60a-e82e2b05ec24",
                "HostComputeEndpoints": ["ba06178e-11e9-4ba3-931d-7c2989b51dd7"],
            }
        ]
    }
    row = render_table(snap, ["loadbalancers"]).splitlines()[2]
    assert row == (
        "326f84d7-35ec-4355-a60a-e82e2b05ec24 |                  | "
        "ba06178e-11e9-4ba3-931d-7c2989b51dd7"
    )


def _wsl_network() -> dict[str, Any]:
    return {
        "ActivityId": "88F37967-3EA3-4AAE-A902-340BDE2E864B",
        "AdditionalParams": {},
        "CurrentEndpointCount": 0,
        "Extensions": [
            {
                "Id": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A",
                "IsEnabled": False,
                "Name": "Microsoft Windows Filtering Platform",
            },
            {
                "Id": "E9B59CFA-2BE1-4B21-828F-B6FBDBDDC017",
                "IsEnabled": False,
                "Name": "Microsoft Azure VFP Switch Extension",
            },
            {
                "Id": "430BDADD-BAB0-41AB-A369-94B67FA5BE0A",
                "IsEnabled": True,
                "Name": "Microsoft NDIS Capture",
            },
        ],
        "Flags": 11,
        "GatewayMac": "00-15-5D-BD-68-AA",
        "Health": {
            "MacAddressNotificationMissedCount": 0,
            "MacAddressNotificationSequenceNumber": 0,
            "LastUpdateTime": 132559440900147426,
            "LastErrorCode": 0,
            "InterfaceNotificationSequenceNumber": 0,
            "InterfaceNotificationMissedCount": 0,
            "DNSNotificationSequenceNumber": 0,
            "DNSNotificationMissedCount": 0,
            "DNSCacheNotificationSequenceNumber": 0,
            "DNSCacheNotificationMissedCount": 0,
            "DHCPNotificationSequenceNumber": 0,
            "DHCPNotificationMissedCount": 0,
            "AddressNotificationSequenceNumber": 3,
            "AddressNotificationMissedCount": 0,
        },
        "Name": "WSL",
    }


def test_df_matches_wsl_sample_prefix() -> None:
    lines = (FIXTURES / "wsl-6457-hnsdiag-list-all-df-ics-network.partial.txt").read_text()
    expected = lines.splitlines()[2:]  # after the prompt and the script's own echo
    out = pretty_json(_wsl_network()).splitlines()
    # The sample stops inside Health; everything it shows must match line for line.
    assert out[: len(expected)] == expected
    assert json.loads("\n".join(out)) == _wsl_network()


def test_df_empty_array_and_nested_levels() -> None:
    assert pretty_json({"A": [], "B": {"C": {}}}) == (
        '{\n    "A":[\n\n    ],\n    "B":{\n        "C":{\n\n        }\n    }\n}'
    )


def test_d_is_one_sorted_compact_line() -> None:
    assert compact_json({"Name": "x", "ID": "1", "Flags": 8}) == '{"Flags":8,"ID":"1","Name":"x"}'


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["list"],
        ["list", "adapters"],
        ["delete", "networks"],
        ["reset", "endpoints"],
        ["frobnicate"],
    ],
)
def test_unknown_command_prints_usage_and_fails(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 1
    assert err.getvalue().startswith("Usage:")
    assert out.getvalue() == ""


def test_unreachable_server_is_one_stderr_line_exit_1() -> None:
    out, err = io.StringIO(), io.StringIO()
    from loopback import dead_url

    with dead_url() as url:  # held closed for the test (port 9 was only assumed closed)
        code = main(["list", "all", "--url", url], out=out, err=err)
    assert code == 1
    assert out.getvalue() == ""
    assert len(err.getvalue().splitlines()) == 1
    assert "Traceback" not in err.getvalue()
