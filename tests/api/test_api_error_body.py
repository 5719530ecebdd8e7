"""api.wire.error_from_body: which typed error a failure document stands for. ErrorCode
decides when it is an integer (JSON true is not one); without it (an envelope from an
older build) the message is looked up, with or without the trailing space or final full
stop; an unknown message is E_FAIL. Checked by class and HRESULT."""

from __future__ import annotations

from typing import Any

import pytest

from api.wire import E_FAIL, error_from_body, is_error_body
from hns import errors

NOT_FOUND_TEXT = "The network was not found."


@pytest.mark.parametrize(("body", "cls", "hresult"), [
    ({"Success": False, "Error": NOT_FOUND_TEXT, "ErrorCode": 0x803B0001},
     errors.NetworkNotFound, 0x803B0001),
    # signed form of the same code (some clients print HRESULTs as int32)
    ({"Success": False, "Error": NOT_FOUND_TEXT, "ErrorCode": 0x803B0001 - (1 << 32)},
     errors.NetworkNotFound, 0x803B0001),
    # ErrorCode wins over the message
    ({"Success": False, "Error": NOT_FOUND_TEXT, "ErrorCode": 0x80070490},
     errors.ElementNotFound, 0x80070490),
])
def test_integer_error_code_decides(body: dict[str, Any], cls: type[errors.HnsError],
                                    hresult: int) -> None:
    err = error_from_body(body)
    assert type(err) is cls
    assert err.hresult == hresult


@pytest.mark.parametrize("text", [NOT_FOUND_TEXT, NOT_FOUND_TEXT + " ",
                                  NOT_FOUND_TEXT.rstrip(".")])
def test_without_error_code_the_message_decides(text: str) -> None:
    err = error_from_body({"Success": False, "Error": text})
    assert type(err) is errors.NetworkNotFound
    assert err.hresult == 0x803B0001


@pytest.mark.parametrize("code", [True, False, "0x803B0001", 2151350273.0, None])
def test_an_error_code_that_is_not_an_integer_is_ignored(code: Any) -> None:
    """JSON true is a bool, and Python's bool is an int: it must not become HRESULT 1."""
    err = error_from_body({"Success": False, "Error": NOT_FOUND_TEXT, "ErrorCode": code})
    assert type(err) is errors.NetworkNotFound
    assert err.hresult == 0x803B0001


def test_an_unknown_message_without_code_is_e_fail_with_the_message() -> None:
    err = error_from_body({"Success": False, "Error": "Something odd happened. "})
    assert err.hresult == E_FAIL == 0x80004005
    assert err.message == "Something odd happened."
    empty = error_from_body({"Success": False, "Error": "", "ErrorCode": True})
    assert empty.hresult == E_FAIL


def test_is_error_body_needs_success_false_and_a_text_error() -> None:
    assert is_error_body({"Success": False, "Error": ""})
    assert not is_error_body({"Success": 0, "Error": "x"})
    assert not is_error_body({"Success": False, "Error": None})
    assert not is_error_body([{"Success": False, "Error": "x"}])
    assert not is_error_body({"Success": True, "Error": ""})


def test_the_body_message_is_kept_with_an_error_code() -> None:
    """A server's own wording (a newer build, a detail) reaches the caller unchanged, minus
    the trailing space V2 adds; an empty message falls back to the class's own."""
    err = error_from_body({"Success": False, "Error": "Network cbr0 was not found. ",
                           "ErrorCode": 0x803B0001})
    assert type(err) is errors.NetworkNotFound
    assert err.message == "Network cbr0 was not found."
    bare = error_from_body({"Success": False, "Error": "", "ErrorCode": 0x803B0001})
    assert bare.message == NOT_FOUND_TEXT
