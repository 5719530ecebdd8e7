"""The base of every HNS shape: names as HNS writes them, strict types, unknown fields kept.

Every model serialises under the names HNS writes (pydantic aliases, PascalCase by default,
explicit where HNS differs, e.g. ``ID``) and keeps snake_case attributes.  Unset fields are
``None`` and ``model_dump(by_alias=True, exclude_none=True)`` leaves them out, as hcsshim's
``omitempty`` and HNS itself do.  Models allow extra fields: HNS writes more than any client
struct names (``State``, ``Version``, ``Resources``, ...) and ignores unknown input fields;
kept verbatim, a capture reads back as it was given.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_pascal

from hns.errors import HnsError

__all__ = ["Guid", "HnsModel", "IpAddress", "IpPrefix", "MacAddress"]


class HnsModel(BaseModel):
    """Base of every HNS shape: PascalCase aliases, strict types, unknown fields kept."""

    # strict: a JSON number is never read from a string nor a bool from 0/1, so a round
    # trip cannot change a value's type behind the caller's back.
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True,
                              extra="allow", strict=True)
    #: The HNS error of a bad field inside an object of this kind nested in a request
    #: (a subnet in a network); None: its parent's (hns/schema/request.py).
    request_error: ClassVar[type[HnsError] | None] = None

    def dump(self) -> dict[str, Any]:
        """The object as HNS writes it."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# String kinds HNS writes.  The patterns and formats are published in the JSON schema
# (documentation, and what schemathesis draws valid bodies from); the models do not enforce
# them, because hns/validate.py decides what the emulator accepts (HNS errors with the real
# HRESULT, case folding, braces around GUIDs) and captures must load as they are.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
Guid = Annotated[str, Field(json_schema_extra={
    "pattern": r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
               r"[0-9A-Fa-f]{12}\}?$"})]
IpAddress = Annotated[str, Field(json_schema_extra={"anyOf": [{"format": "ipv4"},
                                                              {"format": "ipv6"}]})]
IpPrefix = Annotated[str, Field(json_schema_extra={
    "anyOf": [{"pattern": rf"^{_IPV4}/(3[0-2]|[12]?[0-9])$"},
              {"pattern": r"^[0-9A-Fa-f:]+/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$"}]})]
MacAddress = Annotated[str, Field(json_schema_extra={
    "pattern": r"^([0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}$"})]
