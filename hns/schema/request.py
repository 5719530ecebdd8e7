"""Requests through the typed models: a request body is parsed into its ``hns.schema``
model, and every failure becomes the HNS error real HNS gives for that field.

A field the service interprets carries a :func:`checked` marker: the hns/validate.py check
HNS applies to it (the same value rules, normalisation and messages as before the models:
GUIDs without braces, the zero GUID as "none", enums in any case, integral JSON numbers)
and, where it differs from the object's, the HnsError class its failure raises.  The checks
run only in a request (``parse_request`` validates with the ``REQUEST`` context); the same
models validate answers and captures as they are, so a capture still loads verbatim.

Only the fields the caller interprets are validated, and a null counts as absent (HNS
ignores what it does not read; a client that sends ``"SchemaVersion": "2"`` is not
refused for it).  The first failure in field order decides the error, as HNS stops at the
first field it cannot deserialize.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from hns.errors import HnsError, InvalidJson
from hns.validate import Bad

__all__ = ["REQUEST", "Checked", "checked", "parse_request"]

M = TypeVar("M", bound=BaseModel)

#: The validation context of a request: the ``checked`` fields apply their checks.
REQUEST: Final[dict[str, bool]] = {"request": True}


@dataclass(frozen=True)
class Checked(BeforeValidator):
    """A field's request check (``func``) and the HnsError its failure gives (``error``;
    None: the object's own error class, given to ``parse_request``)."""

    error: type[HnsError] | None = None


def checked(check: Callable[[Any], Any], error: type[HnsError] | None = None) -> Checked:
    """Mark a field: in a request its value goes through ``check`` (an hns/validate.py
    validator raising ``Bad``) before its type is checked; elsewhere it is left as is."""

    def run(value: Any, info: ValidationInfo) -> Any:
        if not (isinstance(info.context, dict) and info.context.get("request")):
            return value
        try:
            return check(value)
        except Bad as exc:
            raise PydanticCustomError("hns", "{reason}", {"reason": str(exc)}) from None

    return Checked(run, error=error)


def _field_errors(model: type[BaseModel]) -> dict[str, type[HnsError] | None]:
    """Alias -> error class override, for every checked field of ``model``."""
    out: dict[str, type[HnsError] | None] = {}
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, Checked)]
        if marks:
            out[info.alias or name] = marks[0].error
    return out


def parse_request(model: type[M], body: Any, *, error: type[HnsError], what: str,
                  fields: Iterable[str] | None = None,
                  not_object: type[HnsError] = InvalidJson) -> M:
    """``body`` (JSON already decoded) as a ``model``: its ``fields`` (aliases; default every
    checked field) validated in request mode, nulls as absent.  A body that is not an object
    raises ``not_object``; a field that fails raises its own error class or ``error``."""
    if not isinstance(body, dict):
        raise not_object(detail=f"{what} must be a JSON object")
    errors = _field_errors(model)
    wanted = list(errors) if fields is None else list(fields)
    data = {key: body[key] for key in wanted if body.get(key) is not None}
    try:
        return model.model_validate(data, context=REQUEST, by_alias=True, by_name=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = first["loc"]
        cls = errors.get(str(loc[0])) if loc else None
        where = ".".join(str(part) for part in loc)
        raise (cls or error)(detail=f"{where}: {first['msg']}") from None
