"""Facility 0x3B: the HCN_E_* / GCN_E_* errors of the Host Compute Network service
(MicrosoftDocs Virtualization-Documentation HCNHResult.md), one class per HRESULT with
the message FormatMessage prints for it."""

from __future__ import annotations

from hns.errors.base import CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE, UNSUPPORTED, HnsError


# Facility 0x3B (MicrosoftDocs Virtualization-Documentation HCNHResult.md), messages as
# FormatMessage prints them: with a final period.
class NetworkNotFound(HnsError):
    """HCN_E_NETWORK_NOT_FOUND."""

    hresult = 0x803B0001
    name = 'HCN_E_NETWORK_NOT_FOUND'
    default_message = 'The network was not found.'
    category = NOT_FOUND


class EndpointNotFound(HnsError):
    """HCN_E_ENDPOINT_NOT_FOUND."""

    hresult = 0x803B0002
    name = 'HCN_E_ENDPOINT_NOT_FOUND'
    default_message = 'The endpoint was not found.'
    category = NOT_FOUND


class LayerNotFound(HnsError):
    """HCN_E_LAYER_NOT_FOUND."""

    hresult = 0x803B0003
    name = 'HCN_E_LAYER_NOT_FOUND'
    default_message = "The network's underlying layer was not found."
    category = NOT_FOUND


class SwitchNotFound(HnsError):
    """HCN_E_SWITCH_NOT_FOUND."""

    hresult = 0x803B0004
    name = 'HCN_E_SWITCH_NOT_FOUND'
    default_message = 'The virtual switch was not found.'
    category = NOT_FOUND


class SubnetNotFound(HnsError):
    """HCN_E_SUBNET_NOT_FOUND."""

    hresult = 0x803B0005
    name = 'HCN_E_SUBNET_NOT_FOUND'
    default_message = 'The network does not have a subnet for this endpoint.'
    category = NOT_FOUND


class AdapterNotFound(HnsError):
    """HCN_E_ADAPTER_NOT_FOUND."""

    hresult = 0x803B0006
    name = 'HCN_E_ADAPTER_NOT_FOUND'
    default_message = 'An adapter was not found.'
    category = NOT_FOUND


class PortNotFound(HnsError):
    """HCN_E_PORT_NOT_FOUND."""

    hresult = 0x803B0007
    name = 'HCN_E_PORT_NOT_FOUND'
    default_message = 'The switch-port was not found.'
    category = NOT_FOUND


class PolicyNotFound(HnsError):
    """HCN_E_POLICY_NOT_FOUND."""

    hresult = 0x803B0008
    name = 'HCN_E_POLICY_NOT_FOUND'
    default_message = 'An expected policy was not found.'
    category = NOT_FOUND


class VfpPortsettingNotFound(HnsError):
    """HCN_E_VFP_PORTSETTING_NOT_FOUND."""

    hresult = 0x803B0009
    name = 'HCN_E_VFP_PORTSETTING_NOT_FOUND'
    default_message = 'A required VFP port setting was not found.'
    category = NOT_FOUND


class InvalidNetwork(HnsError):
    """HCN_E_INVALID_NETWORK."""

    hresult = 0x803B000A
    name = 'HCN_E_INVALID_NETWORK'
    default_message = 'The provided network configuration is invalid or missing parameters.'
    category = INVALID


class InvalidNetworkType(HnsError):
    """HCN_E_INVALID_NETWORK_TYPE."""

    hresult = 0x803B000B
    name = 'HCN_E_INVALID_NETWORK_TYPE'
    default_message = 'Invalid network type.'
    category = INVALID


class InvalidEndpoint(HnsError):
    """HCN_E_INVALID_ENDPOINT."""

    hresult = 0x803B000C
    name = 'HCN_E_INVALID_ENDPOINT'
    default_message = 'The provided endpoint configuration is invalid or missing parameters.'
    category = INVALID


class InvalidPolicy(HnsError):
    """HCN_E_INVALID_POLICY."""

    hresult = 0x803B000D
    name = 'HCN_E_INVALID_POLICY'
    default_message = 'The provided policy configuration is invalid or missing parameters.'
    category = INVALID


class InvalidPolicyType(HnsError):
    """HCN_E_INVALID_POLICY_TYPE."""

    hresult = 0x803B000E
    name = 'HCN_E_INVALID_POLICY_TYPE'
    default_message = 'Invalid policy type.'
    category = INVALID


class InvalidRemoteEndpointOperation(HnsError):
    """HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION."""

    hresult = 0x803B000F
    name = 'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION'
    default_message = 'This requested operation is invalid for a remote endpoint.'
    category = INVALID


class NetworkAlreadyExists(HnsError):
    """HCN_E_NETWORK_ALREADY_EXISTS."""

    hresult = 0x803B0010
    name = 'HCN_E_NETWORK_ALREADY_EXISTS'
    default_message = 'A network with this name already exists.'
    category = CONFLICT


class LayerAlreadyExists(HnsError):
    """HCN_E_LAYER_ALREADY_EXISTS."""

    hresult = 0x803B0011
    name = 'HCN_E_LAYER_ALREADY_EXISTS'
    default_message = 'A network with this name already exists.'
    category = CONFLICT


class PolicyAlreadyExists(HnsError):
    """HCN_E_POLICY_ALREADY_EXISTS."""

    hresult = 0x803B0012
    name = 'HCN_E_POLICY_ALREADY_EXISTS'
    default_message = 'Policy information already exists on this object.'
    category = CONFLICT


class PortAlreadyExists(HnsError):
    """HCN_E_PORT_ALREADY_EXISTS."""

    hresult = 0x803B0013
    name = 'HCN_E_PORT_ALREADY_EXISTS'
    default_message = 'The specified port already exists.'
    category = CONFLICT


class EndpointAlreadyAttached(HnsError):
    """HCN_E_ENDPOINT_ALREADY_ATTACHED."""

    hresult = 0x803B0014
    name = 'HCN_E_ENDPOINT_ALREADY_ATTACHED'
    default_message = 'This endpoint is already attached to the switch.'
    category = CONFLICT


class RequestUnsupported(HnsError):
    """HCN_E_REQUEST_UNSUPPORTED."""

    hresult = 0x803B0015
    name = 'HCN_E_REQUEST_UNSUPPORTED'
    default_message = 'The specified request is unsupported.'
    category = UNSUPPORTED


class MappingNotSupported(HnsError):
    """HCN_E_MAPPING_NOT_SUPPORTED."""

    hresult = 0x803B0016
    name = 'HCN_E_MAPPING_NOT_SUPPORTED'
    default_message = 'Port mapping is not supported on the given network.'
    category = UNSUPPORTED


class DegradedOperation(HnsError):
    """HCN_E_DEGRADED_OPERATION."""

    hresult = 0x803B0017
    name = 'HCN_E_DEGRADED_OPERATION'
    default_message = 'There was an operation attempted on a degraded object.'
    category = CONFLICT


class SharedSwitchModification(HnsError):
    """HCN_E_SHARED_SWITCH_MODIFICATION."""

    hresult = 0x803B0018
    name = 'HCN_E_SHARED_SWITCH_MODIFICATION'
    default_message = 'Cannot modify a switch shared by multiple networks.'
    category = CONFLICT


class GuidConversionFailure(HnsError):
    """HCN_E_GUID_CONVERSION_FAILURE."""

    hresult = 0x803B0019
    name = 'HCN_E_GUID_CONVERSION_FAILURE'
    default_message = 'Failed to interpret a parameter as a GUID.'
    category = INVALID


class RegkeyFailure(HnsError):
    """HCN_E_REGKEY_FAILURE."""

    hresult = 0x803B001A
    name = 'HCN_E_REGKEY_FAILURE'
    default_message = 'Failed to process registry key.'
    category = UNAVAILABLE


class InvalidJson(HnsError):
    """HCN_E_INVALID_JSON."""

    hresult = 0x803B001B
    name = 'HCN_E_INVALID_JSON'
    default_message = 'Invalid JSON document string.'
    category = INVALID


class InvalidJsonReference(HnsError):
    """HCN_E_INVALID_JSON_REFERENCE."""

    hresult = 0x803B001C
    name = 'HCN_E_INVALID_JSON_REFERENCE'
    default_message = 'The reference is invalid in the JSON document.'
    category = INVALID


class EndpointSharingDisabled(HnsError):
    """HCN_E_ENDPOINT_SHARING_DISABLED."""

    hresult = 0x803B001D
    name = 'HCN_E_ENDPOINT_SHARING_DISABLED'
    default_message = 'Endpoint sharing is disabled.'
    category = CONFLICT


class InvalidIp(HnsError):
    """HCN_E_INVALID_IP."""

    hresult = 0x803B001E
    name = 'HCN_E_INVALID_IP'
    default_message = 'IP address is either invalid or not part of any configured subnet(s).'
    category = INVALID


class SwitchExtensionNotFound(HnsError):
    """HCN_E_SWITCH_EXTENSION_NOT_FOUND."""

    hresult = 0x803B001F
    name = 'HCN_E_SWITCH_EXTENSION_NOT_FOUND'
    default_message = 'The specified switch extension does not exist on this switch.'
    category = NOT_FOUND


class ManagerStopped(HnsError):
    """HCN_E_MANAGER_STOPPED."""

    hresult = 0x803B0020
    name = 'HCN_E_MANAGER_STOPPED'
    default_message = 'Operation cannot be performed while service is stopping.'
    category = UNAVAILABLE


class GcnModuleNotFound(HnsError):
    """GCN_E_MODULE_NOT_FOUND."""

    hresult = 0x803B0021
    name = 'GCN_E_MODULE_NOT_FOUND'
    default_message = 'Operation cannot be performed while service module not found.'
    category = UNAVAILABLE


class GcnNoRequestHandlers(HnsError):
    """GCN_E_NO_REQUEST_HANDLERS."""

    hresult = 0x803B0022
    name = 'GCN_E_NO_REQUEST_HANDLERS'
    default_message = 'Request Handlers not present to handle the JSON request.'
    category = UNSUPPORTED


class GcnRequestUnsupported(HnsError):
    """GCN_E_REQUEST_UNSUPPORTED."""

    hresult = 0x803B0023
    name = 'GCN_E_REQUEST_UNSUPPORTED'
    default_message = 'The specified request is unsupported.'
    category = UNSUPPORTED


class GcnRuntimekeysFailed(HnsError):
    """GCN_E_RUNTIMEKEYS_FAILED."""

    hresult = 0x803B0024
    name = 'GCN_E_RUNTIMEKEYS_FAILED'
    default_message = 'Add runtime keys to container failed.'
    category = UNAVAILABLE


class GcnNetadapterTimeout(HnsError):
    """GCN_E_NETADAPTER_TIMEOUT."""

    hresult = 0x803B0025
    name = 'GCN_E_NETADAPTER_TIMEOUT'
    default_message = 'Timeout while waiting for network adapter with the given instance id.'
    category = UNAVAILABLE


class GcnNetadapterNotFound(HnsError):
    """GCN_E_NETADAPTER_NOT_FOUND."""

    hresult = 0x803B0026
    name = 'GCN_E_NETADAPTER_NOT_FOUND'
    default_message = 'Network adapter not found for the given instance id.'
    category = NOT_FOUND


class GcnNetcompartmentNotFound(HnsError):
    """GCN_E_NETCOMPARTMENT_NOT_FOUND."""

    hresult = 0x803B0027
    name = 'GCN_E_NETCOMPARTMENT_NOT_FOUND'
    default_message = 'Network compartment not found for the given id.'
    category = NOT_FOUND


class GcnNetinterfaceNotFound(HnsError):
    """GCN_E_NETINTERFACE_NOT_FOUND."""

    hresult = 0x803B0028
    name = 'GCN_E_NETINTERFACE_NOT_FOUND'
    default_message = 'Network interface not found for the given id.'
    category = NOT_FOUND


class GcnDefaultnamespaceExists(HnsError):
    """GCN_E_DEFAULTNAMESPACE_EXISTS."""

    hresult = 0x803B0029
    name = 'GCN_E_DEFAULTNAMESPACE_EXISTS'
    default_message = 'Default Namespace already exists.'
    category = CONFLICT


class IcsDisabled(HnsError):
    """HCN_E_ICS_DISABLED."""

    hresult = 0x803B002A
    name = 'HCN_E_ICS_DISABLED'
    default_message = (
        'Internet Connection Sharing service (SharedAccess) is disabled and cannot be '
        'started.'
    )
    category = UNAVAILABLE


class EndpointNamespaceAlreadyExists(HnsError):
    """HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS."""

    hresult = 0x803B002B
    name = 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS'
    default_message = (
        'This requested operation is invalid as endpoint is already part of a network '
        'namespace.'
    )
    category = CONFLICT


class EntityHasReferences(HnsError):
    """HCN_E_ENTITY_HAS_REFERENCES."""

    hresult = 0x803B002C
    name = 'HCN_E_ENTITY_HAS_REFERENCES'
    default_message = 'The specified entity cannot be removed while it still has references.'
    category = CONFLICT


class InvalidInternalPort(HnsError):
    """HCN_E_INVALID_INTERNAL_PORT."""

    hresult = 0x803B002D
    name = 'HCN_E_INVALID_INTERNAL_PORT'
    default_message = 'The internal port must exist and cannot be zero.'
    category = INVALID


class NamespaceAttachFailed(HnsError):
    """HCN_E_NAMESPACE_ATTACH_FAILED."""

    hresult = 0x803B002E
    name = 'HCN_E_NAMESPACE_ATTACH_FAILED'
    default_message = 'The requested operation for attach namespace failed.'
    category = CONFLICT


class AddrInvalidOrReserved(HnsError):
    """HCN_E_ADDR_INVALID_OR_RESERVED."""

    hresult = 0x803B002F
    name = 'HCN_E_ADDR_INVALID_OR_RESERVED'
    default_message = 'An address provided is invalid or reserved.'
    category = INVALID


class InvalidPrefix(HnsError):
    """HCN_E_INVALID_PREFIX."""

    hresult = 0x803B0030
    name = 'HCN_E_INVALID_PREFIX'
    default_message = 'The prefix provided is invalid.'
    category = INVALID


class ObjectUsedAfterUnload(HnsError):
    """HCN_E_OBJECT_USED_AFTER_UNLOAD."""

    hresult = 0x803B0031
    name = 'HCN_E_OBJECT_USED_AFTER_UNLOAD'
    default_message = 'A call was performed against an object that was torn down.'
    category = UNAVAILABLE


class InvalidSubnet(HnsError):
    """HCN_E_INVALID_SUBNET."""

    hresult = 0x803B0032
    name = 'HCN_E_INVALID_SUBNET'
    default_message = 'The provided subnet configuration is invalid or missing parameters.'
    category = INVALID


# The official table drops the "T" ("he provided IP subnet ..."); winerror.h has it.
class InvalidIpSubnet(HnsError):
    """HCN_E_INVALID_IP_SUBNET."""

    hresult = 0x803B0033
    name = 'HCN_E_INVALID_IP_SUBNET'
    default_message = 'The provided IP subnet configuration is invalid or missing parameters.'
    category = INVALID


class EndpointNotAttached(HnsError):
    """HCN_E_ENDPOINT_NOT_ATTACHED."""

    hresult = 0x803B0034
    name = 'HCN_E_ENDPOINT_NOT_ATTACHED'
    default_message = 'The endpoint must be attached to complete the operation.'
    category = CONFLICT


class EndpointNotLocal(HnsError):
    """HCN_E_ENDPOINT_NOT_LOCAL."""

    hresult = 0x803B0035
    name = 'HCN_E_ENDPOINT_NOT_LOCAL'
    default_message = 'The endpoint must be local to complete the operation.'
    category = INVALID


class InterfaceParametersAlreadyApplied(HnsError):
    """HCN_INTERFACEPARAMETERS_ALREADY_APPLIED."""

    hresult = 0x803B0036
    name = 'HCN_INTERFACEPARAMETERS_ALREADY_APPLIED'
    default_message = 'Cannot apply more than one InterfaceParameters policy.'
    category = CONFLICT


class VfpNotAllowed(HnsError):
    """HCN_E_VFP_NOT_ALLOWED."""

    hresult = 0x803B0037
    name = 'HCN_E_VFP_NOT_ALLOWED'
    default_message = 'A network of this type can not be created because VFP is not available.'
    category = UNSUPPORTED
