"""HNS errors: one exception class per real HRESULT, carrying its exact Windows message.

Modules: ``base`` (HnsError), ``hcn`` (facility 0x3B), ``win32`` (Win32 / COM codes);
every class is importable from ``hns.errors``.

Tree::

    HnsError                      (base: hresult, message, category)
     +- NetworkNotFound ... VfpNotAllowed     facility 0x3B (HCN_E_* / GCN_E_*)
     +- ElementNotFound, InvalidArg, ...      Win32 / COM codes HNS also returns

``message`` is the text FormatMessage gives for the code, with its final period and no
trailing space: real HNS writes ``"<message> "`` into the V2 result JSON (fixture
``sigwin-71-hcn-error-invalid-address.txt``: ``"An address provided is invalid or
reserved. "``), so the wire layer appends exactly one space.  ``category`` is what the
api layer maps to an HTTP status; hns itself knows nothing of HTTP.
"""

from __future__ import annotations

from hns.errors.base import HnsError
from hns.errors.hcn import (
    AdapterNotFound,
    AddrInvalidOrReserved,
    DegradedOperation,
    EndpointAlreadyAttached,
    EndpointNamespaceAlreadyExists,
    EndpointNotAttached,
    EndpointNotFound,
    EndpointNotLocal,
    EndpointSharingDisabled,
    EntityHasReferences,
    GcnDefaultnamespaceExists,
    GcnModuleNotFound,
    GcnNetadapterNotFound,
    GcnNetadapterTimeout,
    GcnNetcompartmentNotFound,
    GcnNetinterfaceNotFound,
    GcnNoRequestHandlers,
    GcnRequestUnsupported,
    GcnRuntimekeysFailed,
    GuidConversionFailure,
    IcsDisabled,
    InterfaceParametersAlreadyApplied,
    InvalidEndpoint,
    InvalidInternalPort,
    InvalidIp,
    InvalidIpSubnet,
    InvalidJson,
    InvalidJsonReference,
    InvalidNetwork,
    InvalidNetworkType,
    InvalidPolicy,
    InvalidPolicyType,
    InvalidPrefix,
    InvalidRemoteEndpointOperation,
    InvalidSubnet,
    LayerAlreadyExists,
    LayerNotFound,
    ManagerStopped,
    MappingNotSupported,
    NamespaceAttachFailed,
    NetworkAlreadyExists,
    NetworkNotFound,
    ObjectUsedAfterUnload,
    PolicyAlreadyExists,
    PolicyNotFound,
    PortAlreadyExists,
    PortNotFound,
    RegkeyFailure,
    RequestUnsupported,
    SharedSwitchModification,
    SubnetNotFound,
    SwitchExtensionNotFound,
    SwitchNotFound,
    VfpNotAllowed,
    VfpPortsettingNotFound,
)
from hns.errors.win32 import (
    AlreadyExists,
    DupName,
    ElementNotFound,
    EptSNotRegistered,
    InvalidArg,
    NotImplemented,
    ObjectAlreadyExists,
    RpcServerUnavailable,
    ServiceNotStarted,
    Unexpected,
)

__all__ = [
    "ERRORS_BY_HRESULT",
    "AdapterNotFound",
    "AddrInvalidOrReserved",
    "AlreadyExists",
    "DegradedOperation",
    "DupName",
    "ElementNotFound",
    "EndpointAlreadyAttached",
    "EndpointNamespaceAlreadyExists",
    "EndpointNotAttached",
    "EndpointNotFound",
    "EndpointNotLocal",
    "EndpointSharingDisabled",
    "EntityHasReferences",
    "EptSNotRegistered",
    "GcnDefaultnamespaceExists",
    "GcnModuleNotFound",
    "GcnNetadapterNotFound",
    "GcnNetadapterTimeout",
    "GcnNetcompartmentNotFound",
    "GcnNetinterfaceNotFound",
    "GcnNoRequestHandlers",
    "GcnRequestUnsupported",
    "GcnRuntimekeysFailed",
    "GuidConversionFailure",
    "HnsError",
    "IcsDisabled",
    "InterfaceParametersAlreadyApplied",
    "InvalidArg",
    "InvalidEndpoint",
    "InvalidInternalPort",
    "InvalidIp",
    "InvalidIpSubnet",
    "InvalidJson",
    "InvalidJsonReference",
    "InvalidNetwork",
    "InvalidNetworkType",
    "InvalidPolicy",
    "InvalidPolicyType",
    "InvalidPrefix",
    "InvalidRemoteEndpointOperation",
    "InvalidSubnet",
    "LayerAlreadyExists",
    "LayerNotFound",
    "ManagerStopped",
    "MappingNotSupported",
    "NamespaceAttachFailed",
    "NetworkAlreadyExists",
    "NetworkNotFound",
    "NotImplemented",
    "ObjectAlreadyExists",
    "ObjectUsedAfterUnload",
    "PolicyAlreadyExists",
    "PolicyNotFound",
    "PortAlreadyExists",
    "PortNotFound",
    "RegkeyFailure",
    "RequestUnsupported",
    "RpcServerUnavailable",
    "ServiceNotStarted",
    "SharedSwitchModification",
    "SubnetNotFound",
    "SwitchExtensionNotFound",
    "SwitchNotFound",
    "Unexpected",
    "VfpNotAllowed",
    "VfpPortsettingNotFound",
    "error_detail",
    "error_for_hresult",
]


ERRORS_BY_HRESULT: dict[int, type[HnsError]] = {
    cls.hresult: cls for cls in (
        NetworkNotFound,
        EndpointNotFound,
        LayerNotFound,
        SwitchNotFound,
        SubnetNotFound,
        AdapterNotFound,
        PortNotFound,
        PolicyNotFound,
        VfpPortsettingNotFound,
        InvalidNetwork,
        InvalidNetworkType,
        InvalidEndpoint,
        InvalidPolicy,
        InvalidPolicyType,
        InvalidRemoteEndpointOperation,
        NetworkAlreadyExists,
        LayerAlreadyExists,
        PolicyAlreadyExists,
        PortAlreadyExists,
        EndpointAlreadyAttached,
        RequestUnsupported,
        MappingNotSupported,
        DegradedOperation,
        SharedSwitchModification,
        GuidConversionFailure,
        RegkeyFailure,
        InvalidJson,
        InvalidJsonReference,
        EndpointSharingDisabled,
        InvalidIp,
        SwitchExtensionNotFound,
        ManagerStopped,
        GcnModuleNotFound,
        GcnNoRequestHandlers,
        GcnRequestUnsupported,
        GcnRuntimekeysFailed,
        GcnNetadapterTimeout,
        GcnNetadapterNotFound,
        GcnNetcompartmentNotFound,
        GcnNetinterfaceNotFound,
        GcnDefaultnamespaceExists,
        IcsDisabled,
        EndpointNamespaceAlreadyExists,
        EntityHasReferences,
        InvalidInternalPort,
        NamespaceAttachFailed,
        AddrInvalidOrReserved,
        InvalidPrefix,
        ObjectUsedAfterUnload,
        InvalidSubnet,
        InvalidIpSubnet,
        EndpointNotAttached,
        EndpointNotLocal,
        InterfaceParametersAlreadyApplied,
        VfpNotAllowed,
        NotImplemented,
        Unexpected,
        InvalidArg,
        DupName,
        AlreadyExists,
        ElementNotFound,
        ServiceNotStarted,
        EptSNotRegistered,
        RpcServerUnavailable,
        ObjectAlreadyExists,
    )
}


def error_for_hresult(hresult: int, message: str | None = None) -> HnsError:
    """The exception for ``hresult`` (signed or unsigned); unknown codes get a plain HnsError."""
    code = hresult & 0xFFFFFFFF
    cls = ERRORS_BY_HRESULT.get(code)
    if cls is not None:
        return cls(message)
    err = HnsError(message if message is not None else f"HRESULT 0x{code:08X}")
    err.hresult = code
    return err


def error_detail(err: HnsError) -> str:
    """Why ``err`` was raised, in one line: its ``detail`` when the emulator knows the
    reason, else the error's name and code (never empty; this is the text of the
    ``X-HNS-Emulator-Detail`` header and of the call log's ``Detail``)."""
    if err.detail:
        return " ".join(err.detail.split())
    code = err.hresult_unsigned
    name = err.name if type(err).hresult & 0xFFFFFFFF == code else "HRESULT"
    return f"{name} (0x{code:08X}): {err.message}"
