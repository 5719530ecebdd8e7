"""The base of every HNS shape: names as HNS writes them, strict types, unknown fields kept.

Every model serialises under the names HNS writes (pydantic aliases, PascalCase by default,
explicit where HNS differs, e.g. ``ID``) and keeps snake_case attributes.  Unset fields are
``None`` and ``model_dump(by_alias=True, exclude_none=True)`` leaves them out, as hcsshim's
``omitempty`` and HNS itself do.  Models allow extra fields: HNS writes more than any client
struct names (``State``, ``Version``, ``Resources``, ...) and ignores unknown input fields;
kept verbatim, a capture reads back as it was given.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_pascal

__all__ = ["HnsModel"]


class HnsModel(BaseModel):
    """Base of every HNS shape: PascalCase aliases, strict types, unknown fields kept."""

    # strict: a JSON number is never read from a string nor a bool from 0/1, so a round
    # trip cannot change a value's type behind the caller's back.
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True,
                              extra="allow", strict=True)

    def dump(self) -> dict[str, Any]:
        """The object as HNS writes it."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
