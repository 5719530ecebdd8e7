"""Builders shared by the hns tests (a uniquely named module: tests/hns is on sys.path in
pytest's prepend import mode); the HCN V2 builders come from tests/hcn_builders.py."""

from __future__ import annotations

import json
from typing import Any

from hcn_builders import (  # noqa: F401 - re-exported for the hns tests
    FIXTURES,
    ROOT,
    V2,
    create_endpoint,
    create_network,
    lb_body,
    network_v2,
)


def query(flt: dict[str, Any] | None = None, major: int = 2) -> str:
    body: dict[str, Any] = {"SchemaVersion": {"Major": major, "Minor": 0}}
    if flt:
        body["Filter"] = json.dumps(flt)
    return json.dumps(body)
