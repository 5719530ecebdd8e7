"""The envelope of an HCN modify request (hcn.ModifyNetworkSettingRequest,
hcn.ModifyEndpointSettingRequest, hcn.ModifyNamespaceSettingRequest): which resource,
what to do with it, and the settings, which the object's own modify reads; and the
settings of a switch extension toggle (V2 ``Extension`` modify, V1 network update) and of
a namespace membership change."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from hns.schema.base import Guid, HnsModel
from hns.schema.request import checked
from hns.validate import as_bool, as_guid, as_str

__all__ = ["ModifyRequest", "NamespaceResourceSetting", "SwitchExtensionSetting"]


class ModifyRequest(HnsModel):
    """``{"ResourceType": ..., "RequestType": ..., "Settings": ...}``; in a request a
    ``ResourceType`` or ``RequestType`` that is not a string is E_INVALIDARG
    (hns/service/hcn.py), and ``RequestType`` left out means ``Add``."""

    resource_type: Annotated[str | None, checked(as_str)] = None
    request_type: Annotated[str | None, checked(as_str)] = None
    settings: Any = None


class SwitchExtensionSetting(HnsModel):
    """A switch extension turned on or off: the ``Settings`` of a V2 network modify with
    ``ResourceType: Extension`` and each item of a V1 network update's ``Extensions``
    (hcsshim hns.ExtensionSetting / hcn.ExtensionSetting).  Both fields are required; in a
    request a bad or missing one is E_INVALIDARG (hns/service/network.py)."""

    id: Annotated[Guid, checked(as_guid)] = Field(alias="Id")
    is_enabled: Annotated[bool, checked(as_bool)]


class NamespaceResourceSetting(HnsModel):
    """The ``Settings`` of a V2 namespace modify: ``{"EndpointId": ...}`` for
    ``ResourceType: Endpoint``, ``{"ContainerId": ...}`` for ``Container`` (hcsshim
    hcn/hcnnamespace.go AddNamespaceEndpoint, getNamespaceContainer...).  In a request a
    value that is not a string is E_INVALIDARG (hns/service/hcn.py)."""

    endpoint_id: Annotated[str | None, checked(as_str)] = None
    container_id: Annotated[str | None, checked(as_str)] = None
