"""V1 ``/accelnet``: the host's NNV management MAC list (Accelnet, HNS 15.4 and later).

HNS keeps a list of management MAC addresses that Accelerated Networking must not take
a virtual function away from.  hcsshim reaches it through HNSCall only
(``internal/hns/hnsaccelnet.go``): ``GET /accelnet/`` reads the list, ``POST /accelnet/``
with ``{"MacAddressList":[{"MacAddress":"00-15-5D-0A-B7-C6"}, ...]}`` sets it (the answer
is the list as stored), ``DELETE /accelnet/`` empties it (the answer is the empty list).
hcsshim's ``TestAccelnetNnvManagementMacAddresses`` checks exactly that round trip.

A host whose HNS predates 15.4 does not know the route; the service refuses it there
the way it refuses any path it does not serve (HNS_E_REQUEST_UNSUPPORTED), so a
profile never advertises Accelnet while the route is refused, nor the other way round.

The list is host state, not an HNS object: it is kept in memory, cleared by
``reset()``, and (like the rest of HNS state) not touched by an emulated reboot.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hns.errors import InvalidArg, InvalidJson, RequestUnsupported
from hns.profiles import Profile

__all__ = ["NnvManagementMacs"]

Json = dict[str, Any]

# hcsshim's test and Windows' own tools spell MACs with dashes; colons are accepted too
# (HNS parses both for endpoint MacAddress), the list keeps what the caller sent.
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")


class NnvManagementMacs:
    """The management MAC list behind ``/accelnet`` (callers hold the service lock)."""

    def __init__(self) -> None:
        self._macs: list[str] = []

    def clear(self) -> None:
        self._macs = []

    def document(self) -> Json:
        """The V1 ``Output``: what hcsshim decodes into ``HNSNnvManagementMacList``."""
        return {"MacAddressList": [{"MacAddress": mac} for mac in self._macs]}

    def call(self, profile: Profile, verb: str, request: str | None) -> Json:
        """One ``/accelnet`` call: ``verb`` is GET, POST or DELETE."""
        if not profile.supports("Accelnet"):
            raise RequestUnsupported(
                detail=f"{verb} /accelnet: Accelnet needs HNS 15.4 "
                       f"(profile {profile.name} is {profile.major}.{profile.minor})")
        if verb == "POST":
            self._macs = _parse(request)
        elif verb == "DELETE":
            self._macs = []
        return self.document()


def _parse(request: str | None) -> list[str]:
    """The MACs of a set request, all validated before anything changes."""
    try:
        body = json.loads(request or "")
    except (ValueError, RecursionError):
        raise InvalidJson(detail="accelnet request is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidJson(detail="accelnet request is not an object")
    entries = body.get("MacAddressList")
    if not isinstance(entries, list) or not entries:
        raise InvalidArg(detail="MacAddressList must be a non-empty list")
    macs: list[str] = []
    for entry in entries:
        mac = entry.get("MacAddress") if isinstance(entry, dict) else None
        if not isinstance(mac, str) or not _MAC.match(mac):
            raise InvalidArg(detail=f"MacAddress {mac!r} is not a MAC address")
        macs.append(mac)
    return macs
