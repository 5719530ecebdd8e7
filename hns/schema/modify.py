"""The envelope of an HCN modify request (hcn.ModifyNetworkSettingRequest,
hcn.ModifyEndpointSettingRequest, hcn.ModifyNamespaceSettingRequest): which resource,
what to do with it, and the settings, which the object's own modify reads."""

from __future__ import annotations

from typing import Annotated, Any

from hns.schema.base import HnsModel
from hns.schema.request import checked
from hns.validate import as_str


class ModifyRequest(HnsModel):
    """``{"ResourceType": ..., "RequestType": ..., "Settings": ...}``; in a request a
    ``ResourceType`` or ``RequestType`` that is not a string is E_INVALIDARG
    (hns/service/hcn.py), and ``RequestType`` left out means ``Add``."""

    resource_type: Annotated[str | None, checked(as_str)] = None
    request_type: Annotated[str | None, checked(as_str)] = None
    settings: Any = None
