"""HNS errors: one exception class per real HRESULT, carrying its exact Windows message.

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


class HnsError(Exception):
    """An HNS failure: an HRESULT plus the exact message Windows gives for it."""

    hresult: int = 0x80004005
    default_message: str = "Unspecified error."
    category: str = "invalid"
    name: str = "E_FAIL"

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message: str = message if message is not None else self.default_message
        #: Why the emulator refused (not part of the Windows message; for logs and tests).
        self.detail: str | None = detail
        super().__init__(self.message)

    @property
    def hresult_unsigned(self) -> int:
        return self.hresult & 0xFFFFFFFF

    def __str__(self) -> str:
        text = f"{self.message} (0x{self.hresult:08x})"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hresult=0x{self.hresult:08X}, message={self.message!r})"


_NF, _CF, _IV, _UN, _UA = "not_found", "conflict", "invalid", "unsupported", "unavailable"

# Facility 0x3B (MicrosoftDocs Virtualization-Documentation HCNHResult.md), messages as
# FormatMessage prints them: with a final period.
class NetworkNotFound(HnsError):
    """HCN_E_NETWORK_NOT_FOUND."""

    hresult = 0x803B0001
    name = 'HCN_E_NETWORK_NOT_FOUND'
    default_message = 'The network was not found.'
    category = _NF


class EndpointNotFound(HnsError):
    """HCN_E_ENDPOINT_NOT_FOUND."""

    hresult = 0x803B0002
    name = 'HCN_E_ENDPOINT_NOT_FOUND'
    default_message = 'The endpoint was not found.'
    category = _NF


class LayerNotFound(HnsError):
    """HCN_E_LAYER_NOT_FOUND."""

    hresult = 0x803B0003
    name = 'HCN_E_LAYER_NOT_FOUND'
    default_message = "The network's underlying layer was not found."
    category = _NF


class SwitchNotFound(HnsError):
    """HCN_E_SWITCH_NOT_FOUND."""

    hresult = 0x803B0004
    name = 'HCN_E_SWITCH_NOT_FOUND'
    default_message = 'The virtual switch was not found.'
    category = _NF


class SubnetNotFound(HnsError):
    """HCN_E_SUBNET_NOT_FOUND."""

    hresult = 0x803B0005
    name = 'HCN_E_SUBNET_NOT_FOUND'
    default_message = 'The network does not have a subnet for this endpoint.'
    category = _NF


class AdapterNotFound(HnsError):
    """HCN_E_ADAPTER_NOT_FOUND."""

    hresult = 0x803B0006
    name = 'HCN_E_ADAPTER_NOT_FOUND'
    default_message = 'An adapter was not found.'
    category = _NF


class PortNotFound(HnsError):
    """HCN_E_PORT_NOT_FOUND."""

    hresult = 0x803B0007
    name = 'HCN_E_PORT_NOT_FOUND'
    default_message = 'The switch-port was not found.'
    category = _NF


class PolicyNotFound(HnsError):
    """HCN_E_POLICY_NOT_FOUND."""

    hresult = 0x803B0008
    name = 'HCN_E_POLICY_NOT_FOUND'
    default_message = 'An expected policy was not found.'
    category = _NF


class VfpPortsettingNotFound(HnsError):
    """HCN_E_VFP_PORTSETTING_NOT_FOUND."""

    hresult = 0x803B0009
    name = 'HCN_E_VFP_PORTSETTING_NOT_FOUND'
    default_message = 'A required VFP port setting was not found.'
    category = _NF


class InvalidNetwork(HnsError):
    """HCN_E_INVALID_NETWORK."""

    hresult = 0x803B000A
    name = 'HCN_E_INVALID_NETWORK'
    default_message = 'The provided network configuration is invalid or missing parameters.'
    category = _IV


class InvalidNetworkType(HnsError):
    """HCN_E_INVALID_NETWORK_TYPE."""

    hresult = 0x803B000B
    name = 'HCN_E_INVALID_NETWORK_TYPE'
    default_message = 'Invalid network type.'
    category = _IV


class InvalidEndpoint(HnsError):
    """HCN_E_INVALID_ENDPOINT."""

    hresult = 0x803B000C
    name = 'HCN_E_INVALID_ENDPOINT'
    default_message = 'The provided endpoint configuration is invalid or missing parameters.'
    category = _IV


class InvalidPolicy(HnsError):
    """HCN_E_INVALID_POLICY."""

    hresult = 0x803B000D
    name = 'HCN_E_INVALID_POLICY'
    default_message = 'The provided policy configuration is invalid or missing parameters.'
    category = _IV


class InvalidPolicyType(HnsError):
    """HCN_E_INVALID_POLICY_TYPE."""

    hresult = 0x803B000E
    name = 'HCN_E_INVALID_POLICY_TYPE'
    default_message = 'Invalid policy type.'
    category = _IV


class InvalidRemoteEndpointOperation(HnsError):
    """HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION."""

    hresult = 0x803B000F
    name = 'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION'
    default_message = 'This requested operation is invalid for a remote endpoint.'
    category = _IV


class NetworkAlreadyExists(HnsError):
    """HCN_E_NETWORK_ALREADY_EXISTS."""

    hresult = 0x803B0010
    name = 'HCN_E_NETWORK_ALREADY_EXISTS'
    default_message = 'A network with this name already exists.'
    category = _CF


class LayerAlreadyExists(HnsError):
    """HCN_E_LAYER_ALREADY_EXISTS."""

    hresult = 0x803B0011
    name = 'HCN_E_LAYER_ALREADY_EXISTS'
    default_message = 'A network with this name already exists.'
    category = _CF


class PolicyAlreadyExists(HnsError):
    """HCN_E_POLICY_ALREADY_EXISTS."""

    hresult = 0x803B0012
    name = 'HCN_E_POLICY_ALREADY_EXISTS'
    default_message = 'Policy information already exists on this object.'
    category = _CF


class PortAlreadyExists(HnsError):
    """HCN_E_PORT_ALREADY_EXISTS."""

    hresult = 0x803B0013
    name = 'HCN_E_PORT_ALREADY_EXISTS'
    default_message = 'The specified port already exists.'
    category = _CF


class EndpointAlreadyAttached(HnsError):
    """HCN_E_ENDPOINT_ALREADY_ATTACHED."""

    hresult = 0x803B0014
    name = 'HCN_E_ENDPOINT_ALREADY_ATTACHED'
    default_message = 'This endpoint is already attached to the switch.'
    category = _CF


class RequestUnsupported(HnsError):
    """HCN_E_REQUEST_UNSUPPORTED."""

    hresult = 0x803B0015
    name = 'HCN_E_REQUEST_UNSUPPORTED'
    default_message = 'The specified request is unsupported.'
    category = _UN


class MappingNotSupported(HnsError):
    """HCN_E_MAPPING_NOT_SUPPORTED."""

    hresult = 0x803B0016
    name = 'HCN_E_MAPPING_NOT_SUPPORTED'
    default_message = 'Port mapping is not supported on the given network.'
    category = _UN


class DegradedOperation(HnsError):
    """HCN_E_DEGRADED_OPERATION."""

    hresult = 0x803B0017
    name = 'HCN_E_DEGRADED_OPERATION'
    default_message = 'There was an operation attempted on a degraded object.'
    category = _CF


class SharedSwitchModification(HnsError):
    """HCN_E_SHARED_SWITCH_MODIFICATION."""

    hresult = 0x803B0018
    name = 'HCN_E_SHARED_SWITCH_MODIFICATION'
    default_message = 'Cannot modify a switch shared by multiple networks.'
    category = _CF


class GuidConversionFailure(HnsError):
    """HCN_E_GUID_CONVERSION_FAILURE."""

    hresult = 0x803B0019
    name = 'HCN_E_GUID_CONVERSION_FAILURE'
    default_message = 'Failed to interpret a parameter as a GUID.'
    category = _IV


class RegkeyFailure(HnsError):
    """HCN_E_REGKEY_FAILURE."""

    hresult = 0x803B001A
    name = 'HCN_E_REGKEY_FAILURE'
    default_message = 'Failed to process registry key.'
    category = _UA


class InvalidJson(HnsError):
    """HCN_E_INVALID_JSON."""

    hresult = 0x803B001B
    name = 'HCN_E_INVALID_JSON'
    default_message = 'Invalid JSON document string.'
    category = _IV


class InvalidJsonReference(HnsError):
    """HCN_E_INVALID_JSON_REFERENCE."""

    hresult = 0x803B001C
    name = 'HCN_E_INVALID_JSON_REFERENCE'
    default_message = 'The reference is invalid in the JSON document.'
    category = _IV


class EndpointSharingDisabled(HnsError):
    """HCN_E_ENDPOINT_SHARING_DISABLED."""

    hresult = 0x803B001D
    name = 'HCN_E_ENDPOINT_SHARING_DISABLED'
    default_message = 'Endpoint sharing is disabled.'
    category = _CF


class InvalidIp(HnsError):
    """HCN_E_INVALID_IP."""

    hresult = 0x803B001E
    name = 'HCN_E_INVALID_IP'
    default_message = 'IP address is either invalid or not part of any configured subnet(s).'
    category = _IV


class SwitchExtensionNotFound(HnsError):
    """HCN_E_SWITCH_EXTENSION_NOT_FOUND."""

    hresult = 0x803B001F
    name = 'HCN_E_SWITCH_EXTENSION_NOT_FOUND'
    default_message = 'The specified switch extension does not exist on this switch.'
    category = _NF


class ManagerStopped(HnsError):
    """HCN_E_MANAGER_STOPPED."""

    hresult = 0x803B0020
    name = 'HCN_E_MANAGER_STOPPED'
    default_message = 'Operation cannot be performed while service is stopping.'
    category = _UA


class GcnModuleNotFound(HnsError):
    """GCN_E_MODULE_NOT_FOUND."""

    hresult = 0x803B0021
    name = 'GCN_E_MODULE_NOT_FOUND'
    default_message = 'Operation cannot be performed while service module not found.'
    category = _UA


class GcnNoRequestHandlers(HnsError):
    """GCN_E_NO_REQUEST_HANDLERS."""

    hresult = 0x803B0022
    name = 'GCN_E_NO_REQUEST_HANDLERS'
    default_message = 'Request Handlers not present to handle the JSON request.'
    category = _UN


class GcnRequestUnsupported(HnsError):
    """GCN_E_REQUEST_UNSUPPORTED."""

    hresult = 0x803B0023
    name = 'GCN_E_REQUEST_UNSUPPORTED'
    default_message = 'The specified request is unsupported.'
    category = _UN


class GcnRuntimekeysFailed(HnsError):
    """GCN_E_RUNTIMEKEYS_FAILED."""

    hresult = 0x803B0024
    name = 'GCN_E_RUNTIMEKEYS_FAILED'
    default_message = 'Add runtime keys to container failed.'
    category = _UA


class GcnNetadapterTimeout(HnsError):
    """GCN_E_NETADAPTER_TIMEOUT."""

    hresult = 0x803B0025
    name = 'GCN_E_NETADAPTER_TIMEOUT'
    default_message = 'Timeout while waiting for network adapter with the given instance id.'
    category = _UA


class GcnNetadapterNotFound(HnsError):
    """GCN_E_NETADAPTER_NOT_FOUND."""

    hresult = 0x803B0026
    name = 'GCN_E_NETADAPTER_NOT_FOUND'
    default_message = 'Network adapter not found for the given instance id.'
    category = _NF


class GcnNetcompartmentNotFound(HnsError):
    """GCN_E_NETCOMPARTMENT_NOT_FOUND."""

    hresult = 0x803B0027
    name = 'GCN_E_NETCOMPARTMENT_NOT_FOUND'
    default_message = 'Network compartment not found for the given id.'
    category = _NF


class GcnNetinterfaceNotFound(HnsError):
    """GCN_E_NETINTERFACE_NOT_FOUND."""

    hresult = 0x803B0028
    name = 'GCN_E_NETINTERFACE_NOT_FOUND'
    default_message = 'Network interface not found for the given id.'
    category = _NF


class GcnDefaultnamespaceExists(HnsError):
    """GCN_E_DEFAULTNAMESPACE_EXISTS."""

    hresult = 0x803B0029
    name = 'GCN_E_DEFAULTNAMESPACE_EXISTS'
    default_message = 'Default Namespace already exists.'
    category = _CF


class IcsDisabled(HnsError):
    """HCN_E_ICS_DISABLED."""

    hresult = 0x803B002A
    name = 'HCN_E_ICS_DISABLED'
    default_message = (
        'Internet Connection Sharing service (SharedAccess) is disabled and cannot be '
        'started.'
    )
    category = _UA


class EndpointNamespaceAlreadyExists(HnsError):
    """HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS."""

    hresult = 0x803B002B
    name = 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS'
    default_message = (
        'This requested operation is invalid as endpoint is already part of a network '
        'namespace.'
    )
    category = _CF


class EntityHasReferences(HnsError):
    """HCN_E_ENTITY_HAS_REFERENCES."""

    hresult = 0x803B002C
    name = 'HCN_E_ENTITY_HAS_REFERENCES'
    default_message = 'The specified entity cannot be removed while it still has references.'
    category = _CF


class InvalidInternalPort(HnsError):
    """HCN_E_INVALID_INTERNAL_PORT."""

    hresult = 0x803B002D
    name = 'HCN_E_INVALID_INTERNAL_PORT'
    default_message = 'The internal port must exist and cannot be zero.'
    category = _IV


class NamespaceAttachFailed(HnsError):
    """HCN_E_NAMESPACE_ATTACH_FAILED."""

    hresult = 0x803B002E
    name = 'HCN_E_NAMESPACE_ATTACH_FAILED'
    default_message = 'The requested operation for attach namespace failed.'
    category = _CF


class AddrInvalidOrReserved(HnsError):
    """HCN_E_ADDR_INVALID_OR_RESERVED."""

    hresult = 0x803B002F
    name = 'HCN_E_ADDR_INVALID_OR_RESERVED'
    default_message = 'An address provided is invalid or reserved.'
    category = _IV


class InvalidPrefix(HnsError):
    """HCN_E_INVALID_PREFIX."""

    hresult = 0x803B0030
    name = 'HCN_E_INVALID_PREFIX'
    default_message = 'The prefix provided is invalid.'
    category = _IV


class ObjectUsedAfterUnload(HnsError):
    """HCN_E_OBJECT_USED_AFTER_UNLOAD."""

    hresult = 0x803B0031
    name = 'HCN_E_OBJECT_USED_AFTER_UNLOAD'
    default_message = 'A call was performed against an object that was torn down.'
    category = _UA


class InvalidSubnet(HnsError):
    """HCN_E_INVALID_SUBNET."""

    hresult = 0x803B0032
    name = 'HCN_E_INVALID_SUBNET'
    default_message = 'The provided subnet configuration is invalid or missing parameters.'
    category = _IV


# The official table drops the "T" ("he provided IP subnet ..."); winerror.h has it.
class InvalidIpSubnet(HnsError):
    """HCN_E_INVALID_IP_SUBNET."""

    hresult = 0x803B0033
    name = 'HCN_E_INVALID_IP_SUBNET'
    default_message = 'The provided IP subnet configuration is invalid or missing parameters.'
    category = _IV


class EndpointNotAttached(HnsError):
    """HCN_E_ENDPOINT_NOT_ATTACHED."""

    hresult = 0x803B0034
    name = 'HCN_E_ENDPOINT_NOT_ATTACHED'
    default_message = 'The endpoint must be attached to complete the operation.'
    category = _CF


class EndpointNotLocal(HnsError):
    """HCN_E_ENDPOINT_NOT_LOCAL."""

    hresult = 0x803B0035
    name = 'HCN_E_ENDPOINT_NOT_LOCAL'
    default_message = 'The endpoint must be local to complete the operation.'
    category = _IV


class InterfaceParametersAlreadyApplied(HnsError):
    """HCN_INTERFACEPARAMETERS_ALREADY_APPLIED."""

    hresult = 0x803B0036
    name = 'HCN_INTERFACEPARAMETERS_ALREADY_APPLIED'
    default_message = 'Cannot apply more than one InterfaceParameters policy.'
    category = _CF


class VfpNotAllowed(HnsError):
    """HCN_E_VFP_NOT_ALLOWED."""

    hresult = 0x803B0037
    name = 'HCN_E_VFP_NOT_ALLOWED'
    default_message = 'A network of this type can not be created because VFP is not available.'
    category = _UN


# Win32 (FACILITY_WIN32 = 7) and COM codes HNS returns as well.
class NotImplemented(HnsError):
    """E_NOTIMPL."""

    hresult = 0x80004001
    name = 'E_NOTIMPL'
    default_message = 'Not implemented.'
    category = _UN


class Unexpected(HnsError):
    """E_UNEXPECTED."""

    hresult = 0x8000FFFF
    name = 'E_UNEXPECTED'
    default_message = 'Catastrophic failure.'
    category = _UA


class InvalidArg(HnsError):
    """E_INVALIDARG."""

    hresult = 0x80070057
    name = 'E_INVALIDARG'
    default_message = 'The parameter is incorrect.'
    category = _IV


class DupName(HnsError):
    """ERROR_DUP_NAME."""

    hresult = 0x80070034
    name = 'ERROR_DUP_NAME'
    default_message = (
        'You were not connected because a duplicate name exists on the network. If '
        'joining a domain, go to System in Control Panel to change the computer name and '
        'try again. If joining a workgroup, choose another workgroup name.'
    )
    category = _CF


class AlreadyExists(HnsError):
    """ERROR_ALREADY_EXISTS."""

    hresult = 0x800700B7
    name = 'ERROR_ALREADY_EXISTS'
    default_message = 'Cannot create a file when that file already exists.'
    category = _CF


class ElementNotFound(HnsError):
    """ERROR_NOT_FOUND."""

    hresult = 0x80070490
    name = 'ERROR_NOT_FOUND'
    default_message = 'Element not found.'
    category = _NF


class ServiceNotStarted(HnsError):
    """ERROR_SERVICE_NOT_ACTIVE."""

    hresult = 0x80070426
    name = 'ERROR_SERVICE_NOT_ACTIVE'
    default_message = 'The service has not been started.'
    category = _UA


class RpcServerUnavailable(HnsError):
    """RPC_S_SERVER_UNAVAILABLE: what an HNS client gets while vmcompute/HNS is stopped
    (and what ``api.client`` raises when the emulator cannot be reached)."""

    hresult = 0x800706BA
    name = 'RPC_S_SERVER_UNAVAILABLE'
    default_message = 'The RPC server is unavailable.'
    category = _UA


class EptSNotRegistered(HnsError):
    """EPT_S_NOT_REGISTERED."""

    hresult = 0x800706D9
    name = 'EPT_S_NOT_REGISTERED'
    default_message = 'There are no more endpoints available from the endpoint mapper.'
    category = _UA


class ObjectAlreadyExists(HnsError):
    """ERROR_OBJECT_ALREADY_EXISTS."""

    hresult = 0x80071392
    name = 'ERROR_OBJECT_ALREADY_EXISTS'
    default_message = 'The object already exists.'
    category = _CF


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
