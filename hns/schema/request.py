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

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from hns.errors import HnsError, InvalidJson
from hns.validate import Bad, Refused

__all__ = ["REFUSED", "REQUEST", "Checked", "checked", "parse_fields", "parse_request"]

M = TypeVar("M", bound=BaseModel)

#: The validation context of a request: the ``checked`` fields apply their checks.
REQUEST: Final[dict[str, bool]] = {"request": True}
#: The pydantic error type of a check that raised ``Refused`` (any other failed check is
#: ``"hns"``): callers that follow HNS's order report it after the rest.
REFUSED: Final = "hns_refused"


@dataclass(frozen=True)
class Checked(BeforeValidator):
    """A field's request check (``func``) and the HnsError its failure gives (``error``;
    None: the object's own error class, given to ``parse_request``)."""

    error: type[HnsError] | None = None


def checked(check: Callable[[Any], Any], error: type[HnsError] | None = None) -> Checked:
    """Mark a field: in a request its value goes through ``check`` (an hns/validate.py
    validator raising ``Bad``) before its type is checked; elsewhere it is left as is."""

    def run(value: Any, info: ValidationInfo) -> Any:
        context = info.context
        if context is not REQUEST and not (isinstance(context, dict)
                                           and context.get("request")):
            return value
        try:
            return check(value)
        except Bad as exc:
            kind = REFUSED if isinstance(exc, Refused) else "hns"
            raise PydanticCustomError(kind, "{reason}", {"reason": str(exc)}) from None

    return Checked(run, error=error)


@functools.cache
def _checks(model: type[BaseModel]) -> dict[str, tuple[str, Checked]]:
    """Alias -> (attribute name, marker) for every checked field of ``model``."""
    out: dict[str, tuple[str, Checked]] = {}
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, Checked)]
        if marks:
            out[info.alias or name] = (name, marks[0])
    return out


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or optional), if any."""
    todo: list[Any] = [model.model_fields[name].annotation]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
        todo.extend(get_args(tp))
    return None


def _project(model: type[BaseModel], data: dict[str, Any],
             fields: Iterable[str] | None = None) -> dict[str, Any]:
    """``data`` cut down to what the service reads: the checked fields, nulls dropped, and
    the same in every nested object (a value of the wrong shape is kept, to be refused)."""
    checks = _checks(model)
    out: dict[str, Any] = {}
    for key in (checks if fields is None else fields):
        value = data.get(key)
        if value is None or key not in checks:
            continue
        inner = _nested_model(model, checks[key][0])
        if inner is not None and isinstance(value, dict):
            value = _project(inner, value)
        elif inner is not None and isinstance(value, list):
            value = [_project(inner, v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


def _error_at(model: type[BaseModel], loc: tuple[int | str, ...],
              default: type[HnsError]) -> type[HnsError]:
    """The HnsError of a failure at ``loc``: the deepest error named on the way, by a
    field's marker or by a nested model's ``request_error`` (an object of its own kind,
    such as a subnet inside a network)."""
    cls: type[HnsError] = default
    cursor: type[BaseModel] | None = model
    for at, part in enumerate(loc):
        if isinstance(part, int) or cursor is None:
            continue
        found = _checks(cursor).get(part)
        if found is None:
            break
        name, mark = found
        cls = mark.error or cls
        cursor = _nested_model(cursor, name)
        own = getattr(cursor, "request_error", None)
        if own is not None and at < len(loc) - 1:  # the failure is inside that object
            cls = own
    return cls


def parse_request(model: type[M], body: Any, *, error: type[HnsError], what: str,
                  fields: Iterable[str] | None = None,
                  not_object: type[HnsError] = InvalidJson) -> M:
    """``body`` (JSON already decoded) as a ``model``: its ``fields`` (aliases; default every
    checked field) validated in request mode, nulls as absent.  A body that is not an object
    raises ``not_object``; a field that fails raises the error named for it (its marker, or
    the nested object's ``request_error``) or ``error``."""
    if not isinstance(body, dict):
        raise not_object(detail=f"{what} must be a JSON object")
    data = _project(model, body, fields)
    try:
        return model.model_validate(data, context=REQUEST, by_alias=True, by_name=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(first["loc"])
        where = ".".join(str(part) for part in loc)
        raise _error_at(model, loc, error)(detail=f"{where}: {first['msg']}") from None


def parse_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of ``model`` that ``data`` gives (by alias, not null), each
    validated in request mode on its own, in field order: alias -> value as the check
    returned it.  For a shape whose other fields another model parses (a flat V1 policy's
    V2 settings); the first bad field raises its ValidationError."""
    out: dict[str, Any] = {}
    target: BaseModel | None = None
    for alias, (name, _mark) in _checks(model).items():
        value = data.get(alias)
        if value is None:
            continue
        if target is None:
            target = model.model_construct()
        model.__pydantic_validator__.validate_assignment(target, name, value, context=REQUEST)
        out[alias] = getattr(target, name)
    return out
