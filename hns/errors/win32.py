"""The Win32 (FACILITY_WIN32 = 7) and COM errors HNS returns as well, one class per
HRESULT with the message FormatMessage prints for it."""

from __future__ import annotations

from hns.errors.base import CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE, UNSUPPORTED, HnsError


# Win32 (FACILITY_WIN32 = 7) and COM codes HNS returns as well.
class NotImplemented(HnsError):
    """E_NOTIMPL."""

    hresult = 0x80004001
    name = 'E_NOTIMPL'
    default_message = 'Not implemented.'
    category = UNSUPPORTED


class Unexpected(HnsError):
    """E_UNEXPECTED."""

    hresult = 0x8000FFFF
    name = 'E_UNEXPECTED'
    default_message = 'Catastrophic failure.'
    category = UNAVAILABLE


class InvalidArg(HnsError):
    """E_INVALIDARG."""

    hresult = 0x80070057
    name = 'E_INVALIDARG'
    default_message = 'The parameter is incorrect.'
    category = INVALID


class DupName(HnsError):
    """ERROR_DUP_NAME."""

    hresult = 0x80070034
    name = 'ERROR_DUP_NAME'
    default_message = (
        'You were not connected because a duplicate name exists on the network. If '
        'joining a domain, go to System in Control Panel to change the computer name and '
        'try again. If joining a workgroup, choose another workgroup name.'
    )
    category = CONFLICT


class AlreadyExists(HnsError):
    """ERROR_ALREADY_EXISTS."""

    hresult = 0x800700B7
    name = 'ERROR_ALREADY_EXISTS'
    default_message = 'Cannot create a file when that file already exists.'
    category = CONFLICT


class ElementNotFound(HnsError):
    """ERROR_NOT_FOUND."""

    hresult = 0x80070490
    name = 'ERROR_NOT_FOUND'
    default_message = 'Element not found.'
    category = NOT_FOUND


class ServiceNotStarted(HnsError):
    """ERROR_SERVICE_NOT_ACTIVE."""

    hresult = 0x80070426
    name = 'ERROR_SERVICE_NOT_ACTIVE'
    default_message = 'The service has not been started.'
    category = UNAVAILABLE


class RpcServerUnavailable(HnsError):
    """RPC_S_SERVER_UNAVAILABLE: what an HNS client gets while vmcompute/HNS is stopped
    (and what ``api.client`` raises when the emulator cannot be reached)."""

    hresult = 0x800706BA
    name = 'RPC_S_SERVER_UNAVAILABLE'
    default_message = 'The RPC server is unavailable.'
    category = UNAVAILABLE


class EptSNotRegistered(HnsError):
    """EPT_S_NOT_REGISTERED."""

    hresult = 0x800706D9
    name = 'EPT_S_NOT_REGISTERED'
    default_message = 'There are no more endpoints available from the endpoint mapper.'
    category = UNAVAILABLE


class ObjectAlreadyExists(HnsError):
    """ERROR_OBJECT_ALREADY_EXISTS."""

    hresult = 0x80071392
    name = 'ERROR_OBJECT_ALREADY_EXISTS'
    default_message = 'The object already exists.'
    category = CONFLICT
