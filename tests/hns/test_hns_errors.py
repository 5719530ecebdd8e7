"""The HRESULT table: codes, exact messages, lookup."""

from __future__ import annotations

import pytest

from hns import errors
from hns.errors import ERRORS_BY_HRESULT, HnsError, error_for_hresult

# (class, HRESULT, message) straight from HCNHResult.md / winerror.h, with the final period.
TABLE = [
    (errors.NetworkNotFound, 0x803B0001, "The network was not found."),
    (errors.EndpointNotFound, 0x803B0002, "The endpoint was not found."),
    (errors.PortNotFound, 0x803B0007, "The switch-port was not found."),
    (errors.InvalidNetwork, 0x803B000A,
     "The provided network configuration is invalid or missing parameters."),
    (errors.InvalidNetworkType, 0x803B000B, "Invalid network type."),
    (errors.InvalidEndpoint, 0x803B000C,
     "The provided endpoint configuration is invalid or missing parameters."),
    (errors.InvalidPolicy, 0x803B000D,
     "The provided policy configuration is invalid or missing parameters."),
    (errors.InvalidPolicyType, 0x803B000E, "Invalid policy type."),
    (errors.InvalidRemoteEndpointOperation, 0x803B000F,
     "This requested operation is invalid for a remote endpoint."),
    (errors.NetworkAlreadyExists, 0x803B0010, "A network with this name already exists."),
    (errors.PolicyAlreadyExists, 0x803B0012, "Policy information already exists on this object."),
    (errors.PortAlreadyExists, 0x803B0013, "The specified port already exists."),
    (errors.EndpointAlreadyAttached, 0x803B0014,
     "This endpoint is already attached to the switch."),
    (errors.RequestUnsupported, 0x803B0015, "The specified request is unsupported."),
    (errors.InvalidJson, 0x803B001B, "Invalid JSON document string."),
    (errors.InvalidIp, 0x803B001E,
     "IP address is either invalid or not part of any configured subnet(s)."),
    (errors.EndpointNamespaceAlreadyExists, 0x803B002B,
     "This requested operation is invalid as endpoint is already part of a network namespace."),
    (errors.EntityHasReferences, 0x803B002C,
     "The specified entity cannot be removed while it still has references."),
    (errors.AddrInvalidOrReserved, 0x803B002F, "An address provided is invalid or reserved."),
    (errors.ElementNotFound, 0x80070490, "Element not found."),
    (errors.InvalidArg, 0x80070057, "The parameter is incorrect."),
    (errors.ServiceNotStarted, 0x80070426, "The service has not been started."),
]


@pytest.mark.parametrize(("cls", "hresult", "message"), TABLE)
def test_error_class_carries_exact_hresult_and_message(
        cls: type[HnsError], hresult: int, message: str) -> None:
    err = cls()
    assert err.hresult == hresult
    assert err.message == message
    assert ERRORS_BY_HRESULT[hresult] is cls


def test_error_table_covers_facility_0x3b_without_gaps() -> None:
    for code in range(0x803B0001, 0x803B0038):
        assert code in ERRORS_BY_HRESULT, hex(code)


def test_error_messages_have_no_trailing_space_and_categories_are_known() -> None:
    for cls in ERRORS_BY_HRESULT.values():
        assert cls.default_message == cls.default_message.strip()
        assert cls.category in {"not_found", "conflict", "invalid", "unsupported", "unavailable"}


def test_error_for_hresult_accepts_signed_and_unknown_codes() -> None:
    assert isinstance(error_for_hresult(-2147023728), errors.ElementNotFound)  # 0x80070490
    assert isinstance(error_for_hresult(0x803B0013, "custom"), errors.PortAlreadyExists)
    assert error_for_hresult(0x803B0013, "custom").message == "custom"
    unknown = error_for_hresult(0x80001234)
    assert type(unknown) is HnsError
    assert unknown.hresult == 0x80001234


def test_error_subclasses_are_distinct_types() -> None:
    with pytest.raises(errors.PortAlreadyExists):
        raise error_for_hresult(0x803B0013)
    assert not issubclass(errors.PortAlreadyExists, errors.NetworkAlreadyExists)
