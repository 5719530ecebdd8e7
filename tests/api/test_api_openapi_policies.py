"""The OpenAPI document names the settings schema of every policy type (V2 networks,
subnets and endpoints) and every V1 flat policy shape, and each policy's ``Settings``
references its own: a client generated from /openapi.json gets a typed struct per type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from hns.schema import (
    ENDPOINT_POLICY_MODELS,
    NETWORK_POLICY_MODELS,
    SUBNET_POLICY_MODELS,
    V1_POLICY_MODELS,
)
from hns.service import HnsService

TABLES = {"NetworkPolicy": NETWORK_POLICY_MODELS, "SubnetPolicy": SUBNET_POLICY_MODELS,
          "EndpointPolicy": ENDPOINT_POLICY_MODELS}


@pytest.fixture(scope="module")
def schemas() -> Iterator[dict[str, Any]]:
    svc = HnsService()
    try:
        yield create_app(svc).openapi()["components"]["schemas"]
    finally:
        svc.close()


@pytest.mark.parametrize("union", sorted(TABLES))
def test_every_policy_type_references_its_named_settings_schema(
        schemas: dict[str, Any], union: str) -> None:
    members = {ref["$ref"].rsplit("/", 1)[-1] for ref in schemas[union]["oneOf"]}
    for ptype, model in TABLES[union].items():
        name = f"{union}{ptype}"
        assert name in members, name
        settings = schemas[name]["properties"]["Settings"]["anyOf"]
        (ref,) = [s["$ref"] for s in settings if "$ref" in s]
        target = ref.rsplit("/", 1)[-1]
        annotation = model.model_fields["settings"].annotation
        assert target in {a.__name__ for a in annotation.__args__}, name
        assert schemas[target]["type"] == "object", target


def test_every_v1_flat_policy_shape_is_named(schemas: dict[str, Any]) -> None:
    for v1_type, model in V1_POLICY_MODELS.items():
        assert model.__name__ in schemas, v1_type
        assert schemas[model.__name__]["properties"]["Type"]["const"] == v1_type


def test_model_bases_are_not_published(schemas: dict[str, Any]) -> None:
    assert not {"PolicyModel", "PolicySettings", "HnsModel"} & set(schemas)
