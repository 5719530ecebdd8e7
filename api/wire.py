"""The HNS wire shapes shared by the server, the client and the command-line tools.

Glossary:

- *V1 envelope*: what ``vmcompute.dll!HNSCall`` answers, ``{"Success":true,"Output":...}``
  or ``{"Success":false,"Error":"<message>","ErrorCode":<unsigned HRESULT>}``.
- *V2 error*: the result JSON an ``Hcn*`` call gives on failure,
  ``{"Success":false,"Error":"<message> ","ErrorCode":<unsigned HRESULT>}``; note the one
  trailing space after the message (fixture ``sigwin-71-hcn-error-invalid-address.txt``).
- *kind*: one of the five V2 object collections under ``/hcn/``.

Everything here is pure data handling: no HTTP, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from hns.errors import ERRORS_BY_HRESULT, HnsError, error_for_hresult

#: ``/hcn/<kind>`` -> (singular, plural) as they appear in the computenetwork.dll exports.
KINDS: Final[dict[str, tuple[str, str]]] = {
    "networks": ("Network", "Networks"),
    "endpoints": ("Endpoint", "Endpoints"),
    "loadbalancers": ("LoadBalancer", "LoadBalancers"),
    "namespaces": ("Namespace", "Namespaces"),
    "sdnroutes": ("SdnRoute", "SdnRoutes"),
}

#: The query hcsshim sends when it has nothing to filter (``defaultQuery()``).
DEFAULT_QUERY: Final[str] = '{"SchemaVersion":{"Major":2,"Minor":0}}'

ZERO_GUID: Final[str] = "00000000-0000-0000-0000-000000000000"

#: Not in the HCN table; the Win32 code a refused bearer token maps to.
E_ACCESSDENIED: Final[int] = 0x80070005
ACCESS_DENIED_MESSAGE: Final[str] = "Access is denied."
#: E_FAIL: the answer of the catch-all handler (an emulator bug, never expected).
E_FAIL: Final[int] = 0x80004005


def hcn_function(verb: str, kind: str) -> str:
    """The computenetwork.dll export for ``verb`` on ``kind``: ``HcnCreateNetwork``, ...

    ``Enumerate`` takes the plural (``HcnEnumerateNetworks``), ``Query`` becomes
    ``HcnQuery<Kind>Properties``, the rest take the singular.
    """
    singular, plural = KINDS[kind]
    if verb == "Enumerate":
        return f"HcnEnumerate{plural}"
    if verb == "Query":
        return f"HcnQuery{singular}Properties"
    return f"Hcn{verb}{singular}"


def unsigned(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def v1_success(output: Any) -> dict[str, Any]:
    """The V1 envelope of a successful call; ``Output`` is left out when there is none."""
    if output is None:
        return {"Success": True, "Error": ""}
    return {"Success": True, "Error": "", "Output": output}


def v1_error(err: HnsError) -> dict[str, Any]:
    """The V1 envelope of a failed call (ErrorCode carried so clients need not parse text)."""
    return {"Success": False, "Error": err.message, "ErrorCode": unsigned(err.hresult)}


def v2_error(err: HnsError) -> dict[str, Any]:
    """The result JSON of a failed HCN call, with the trailing space real HNS writes."""
    return {"Success": False, "Error": f"{err.message} ", "ErrorCode": unsigned(err.hresult)}


def is_error_body(body: Any) -> bool:
    """True for a V1 or V2 failure document (``{"Success": false, "Error": "...", ...}``)."""
    return (
        isinstance(body, dict)
        and body.get("Success") is False
        and isinstance(body.get("Error"), str)
    )


def error_from_body(body: dict[str, Any]) -> HnsError:
    """The HnsError subclass a failure document stands for.

    ``ErrorCode`` decides when present; otherwise the message is looked up in the table
    (an envelope from an older build), and an unknown message becomes E_FAIL.
    """
    message = str(body.get("Error", "")).rstrip(" ")
    code = body.get("ErrorCode")
    if isinstance(code, int) and not isinstance(code, bool):
        return error_for_hresult(code, message or None)
    for cls in ERRORS_BY_HRESULT.values():
        if cls.default_message == message or cls.default_message.rstrip(".") == message:
            return cls(message)
    return error_for_hresult(E_FAIL, message or None)
