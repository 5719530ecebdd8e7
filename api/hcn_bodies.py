"""The V2 bodies hns/schema does not describe, for the OpenAPI document (api/openapi.py):
the ``HostComputeQuery`` the enumerate and query routes take in ``?query=``, and the id
list ``HcnEnumerate*`` answers.

Evidence (docs/fidelity.md, "OpenAPI: HCN queries and id lists"): hcsshim's
``hcn.HostComputeQuery`` is ``{SchemaVersion, Flags omitempty, Filter omitempty}`` with
``Filter`` a JSON document sent as a string, and every ``HcnEnumerate*`` answer is
unmarshalled into ``[]guid.GUID`` (shared/reference/hns-api.md section 1.3). The handlers
still take the raw query text to ``hcn_call``; these models only describe it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from hns import schema

__all__ = ["MODELS", "HcnIdList", "HostComputeQuery"]

#: JSON Schema 2020-12 (OpenAPI 3.1): a string whose content is a JSON document.
_JSON_TEXT: dict[str, Any] = {"contentMediaType": "application/json"}


class HostComputeQuery(BaseModel):
    """What ``HcnEnumerate*`` and ``HcnQuery*Properties`` take: the JSON text of this,
    in the ``query`` parameter of ``GET /hcn/<kind>`` and ``GET /hcn/<kind>/{id}``."""

    model_config = ConfigDict(title="HostComputeQuery", json_schema_extra={
        "example": {"SchemaVersion": {"Major": 2, "Minor": 0}, "Flags": 0,
                    "Filter": "{\"Name\":\"cbr0\"}"}})
    SchemaVersion: schema.SchemaVersion
    Flags: int = Field(0, description="HostComputeQueryFlags: 0 None, 1 Detailed")
    Filter: str = Field(
        "", json_schema_extra=_JSON_TEXT,
        description='a JSON object sent as a string: exact match on each key, AND-ed '
                    '(ID, Name, VirtualNetwork, VirtualNetworkName); left out when empty')


#: A GUID in text (hcsshim's ``guid.GUID`` JSON form).
Guid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class HcnIdList(RootModel[list[Guid]]):
    """What ``HcnEnumerate*`` answers: the ids (GUID strings) of the objects the query's
    filter matches; hcsshim then opens and queries each one."""

    model_config = ConfigDict(title="HcnIdList", json_schema_extra={
        "example": ["1f9e7a47-2d4b-4b6f-8a3e-58b8f7c1c2d1"]})


MODELS: tuple[type[BaseModel], ...] = (HcnIdList, HostComputeQuery)
