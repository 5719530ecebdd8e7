"""Policies: the policy types of networks, subnets and endpoints, a policy array in stored
form, and V1 <-> V2.

Glossary:
    V2 policy   ``{"Type": <type>, "Settings": {...}}`` (hcsshim ``hcn``); the stored form.
    V1 policy   flat: ``{"Type": <v1 type>, <fields side by side>}`` (hcsshim ``hns``).
    Spec        one V2 type: its model (hns/schema/policy.py), which parses its settings.

The settings are parsed by their pydantic models (``checked`` fields: the HNS rule and
message of each value); this module picks the model by ``Type``, turns the model's first
failure into the HnsError HNS gives, writes the stored form (settings in the client's key
order, values normalised, what HNS always writes added) and applies what is not a value
of the policy itself: the profile's feature gates and strict mode.  Unknown settings keys
are kept as given (HNS ignores what it does not know; keeping them makes V1 -> V2 -> V1
lossless).  Unknown policy *types* are refused with InvalidPolicyType; a known type with
bad settings with InvalidPolicy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from hns.errors import HnsError, InvalidPolicy, InvalidPolicyType, RequestUnsupported
from hns.profiles import Profile
from hns.schema.policy import (
    ENDPOINT_POLICY_MODELS,
    NETWORK_POLICY_MODELS,
    SUBNET_POLICY_MODELS,
    PolicyModel,
    PolicySettings,
)
from hns.schema.request import REFUSED, REQUEST, parse_fields
from hns.schema.v1 import EXTERNAL_PORT_RESERVED, V1_POLICY_MODELS, V1Policy
from hns.strict import did_you_mean, is_strict, one_of

Json = dict[str, Any]

__all__ = [
    "ENDPOINT_POLICY_TYPES",
    "NETWORK_POLICY_TYPES",
    "SUBNET_POLICY_TYPES",
    "Spec",
    "endpoint_policy_from_v1",
    "endpoint_policy_to_v1",
    "from_v1",
    "parse_policies",
    "subnet_policy_from_v1",
    "subnet_policy_to_v1",
    "to_v1",
    "validate_v2",
]


@dataclass(frozen=True)
class Spec:
    """One V2 policy type: its model and, read from it once, its settings model and the
    settings keys it knows (alias -> attribute name, in the model's order)."""

    model: type[PolicyModel]
    settings: type[PolicySettings] = field(init=False)
    keys: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        annotation = self.model.model_fields["settings"].annotation
        settings = next(a for a in getattr(annotation, "__args__", ())
                        if isinstance(a, type) and issubclass(a, PolicySettings))
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "keys", {info.alias or name: name for name, info
                                          in settings.model_fields.items()})


def _table(models: Mapping[str, type[PolicyModel]]) -> Mapping[str, Spec]:
    return {name: Spec(model) for name, model in models.items()}


NETWORK_POLICY_TYPES: Mapping[str, Spec] = _table(NETWORK_POLICY_MODELS)
SUBNET_POLICY_TYPES: Mapping[str, Spec] = _table(SUBNET_POLICY_MODELS)
ENDPOINT_POLICY_TYPES: Mapping[str, Spec] = _table(ENDPOINT_POLICY_MODELS)

# A type in any case -> its canonical name, per table.
_CASE = {id(table): {name.lower(): name for name in table}
         for table in (NETWORK_POLICY_TYPES, SUBNET_POLICY_TYPES, ENDPOINT_POLICY_TYPES)}


def _fail(kind: type[HnsError], detail: str) -> HnsError:
    return kind(detail=detail)


def _kind(value: Any) -> str:
    return type(value).__name__


def validate_v2(policy: Any, table: Mapping[str, Spec], profile: Profile) -> Json:
    """One V2 policy, validated: ``{"Type", "Settings"}`` with settings normalised."""
    if not isinstance(policy, dict):
        raise _fail(InvalidPolicy, f"expected an object, got {_kind(policy)}")
    ptype = policy.get("Type")
    if not isinstance(ptype, str):
        raise _fail(InvalidPolicyType, "policy without a string Type")
    canonical = ptype if ptype in table else _CASE[id(table)].get(ptype.lower())
    if canonical is None:
        raise _fail(InvalidPolicyType, f"unknown policy type {ptype!r}"
                    f"{did_you_mean(ptype, table)}; {one_of(table)}")
    spec = table[canonical]
    feature = spec.model.feature
    if feature is not None and not profile.supports(feature):
        # An HNS that predates the type does not know its name.
        raise _fail(InvalidPolicyType, f"{canonical} needs HNS feature {feature}")
    raw = policy.get("Settings")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail(InvalidPolicy, f"{canonical}: expected an object, got {_kind(raw)}")
    settings = _settings(canonical, spec, raw)
    _gate_settings(canonical, settings, profile)
    return {"Type": canonical, "Settings": settings}


def _settings(ptype: str, spec: Spec, raw: Json) -> Json:
    """``raw`` parsed by the type's settings model, in stored form: the client's keys in
    its order, known values normalised, nulls (and empty strings where they mean "not
    given") dropped, unknown keys as given, then what HNS always writes."""
    absent = spec.model.empty_is_absent
    given = {key: value for key, value in raw.items() if key in spec.keys
             and value is not None and not (key in absent and value == "")}
    try:
        parsed = spec.settings.__pydantic_validator__.validate_python(
            given, context=REQUEST, by_alias=True, by_name=False).__dict__
    except ValidationError as exc:
        raise _fail(InvalidPolicy, f"{ptype}: {_first_failure(ptype, spec, exc)}") from None
    out: Json = {}
    keys = spec.keys
    for key, value in raw.items():
        name = keys.get(key)
        if name is None:
            out[key] = value
        elif key in given:
            out[key] = parsed[name]
    if is_strict():
        _refuse_unknown_keys(ptype, spec, out)
    for key, default in spec.model.always.items():
        out.setdefault(key, default)
    return out


def _first_failure(ptype: str, spec: Spec, exc: ValidationError) -> str:
    """The failure HNS reports: the first bad value in field order, else every missing
    field at once, else the first value the type refuses (a ``Refused`` check)."""
    errors = exc.errors(include_url=False)
    rank = {"missing": 1, REFUSED: 2}
    first = min(errors, key=lambda err: rank.get(err["type"], 0))
    if first["type"] != "missing":
        return str(first["msg"])
    if spec.settings.missing_detail is not None:
        return spec.settings.missing_detail
    missing = sorted(str(err["loc"][0]) for err in errors if err["type"] == "missing")
    return f"{ptype} is missing {', '.join(missing)}"


def _refuse_unknown_keys(ptype: str, spec: Spec, settings: Json) -> None:
    """Strict mode (hns/strict.py): a settings key the type does not know is refused."""
    for key in settings:
        if key not in spec.keys:
            raise _fail(InvalidPolicy, f"{ptype}: unknown setting {key!r}"
                        f"{did_you_mean(key, spec.keys)} (strict mode; "
                        f"{one_of(spec.keys) if spec.keys else 'no settings'})")


def _gate_settings(ptype: str, settings: Json, profile: Profile) -> None:
    if ptype == "SetPolicy" and settings.get("PolicyType") == "NESTEDIPSET" \
            and not profile.supports("NestedIpSet"):
        raise RequestUnsupported(detail="NESTEDIPSET needs HNS feature NestedIpSet")
    if ptype in ("ACL", "NetworkACL"):
        protocols = str(settings.get("Protocols", ""))
        if "252" in protocols.split(",") and not profile.supports("AclSupportForProtocol252"):
            raise RequestUnsupported(detail="ACL protocol 252 needs AclSupportForProtocol252")


def parse_policies(value: Any, table: Mapping[str, Spec], profile: Profile, *,
                   v1: bool) -> list[Json]:
    """A policy array from V1 (flat, or V2-shaped items) or V2 input, in V2 stored form."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(InvalidPolicy, "Policies must be an array")
    out = []
    for item in value:
        if v1 and isinstance(item, dict) and not isinstance(item.get("Settings"), dict):
            item = from_v1(item, table)
        out.append(validate_v2(item, table, profile))
    return out


# ---- V1 <-> V2 -----------------------------------------------------------------------

def _v1_types(*names: str) -> dict[str, type[V1Policy]]:
    """The V1 types a table maps (by lower-case name) to their models (hns/schema/v1.py)."""
    return {name.lower(): V1_POLICY_MODELS[name] for name in names}


# Which V1 types each kind of object maps to V2; any other V1 type is taken as a V2 type
# name written flat (V1 accepts e.g. RemoteSubnetRoute that way).
_NETWORK_V1 = _v1_types("VLAN", "VSID")
_BY_V1 = {
    id(ENDPOINT_POLICY_TYPES): _v1_types("NAT", "ACL", "PA", "QOS", "OutBoundNAT", "ROUTE",
                                         "PROXY", "L2Driver", "VLAN", "VNET", "Isolation"),
    id(NETWORK_POLICY_TYPES): _NETWORK_V1,
    id(SUBNET_POLICY_TYPES): _NETWORK_V1,
}
_BY_V2 = {id(table): {model.v2_type: model for model in by_v1.values()}
          for table, by_v1 in ((ENDPOINT_POLICY_TYPES, _BY_V1[id(ENDPOINT_POLICY_TYPES)]),
                               (NETWORK_POLICY_TYPES, _NETWORK_V1),
                               (SUBNET_POLICY_TYPES, _NETWORK_V1))}
_PROTOCOL_NAMES = {6: "TCP", 17: "UDP"}


def from_v1(policy: Json, table: Mapping[str, Spec]) -> Json:
    """A flat V1 policy in V2 ``{"Type","Settings"}`` form: its V1-only spellings parsed
    by its V1 model, the rest left for the V2 model (``validate_v2``)."""
    ptype = policy.get("Type")
    if not isinstance(ptype, str):
        raise _fail(InvalidPolicyType, "policy without a string Type")
    model = _BY_V1[id(table)].get(ptype.lower())
    fields = {k: v for k, v in policy.items() if k != "Type"}
    if model is None or model.v2_type is None:
        # V1 also accepts V2 type names written flat (e.g. RemoteSubnetRoute).
        return {"Type": ptype, "Settings": fields}
    try:
        v1_values = parse_fields(model, fields)
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"]
        raise _fail(InvalidPolicy, f"{model.v2_type}: {reason}") from None
    return {"Type": model.v2_type, "Settings": model.v2_settings(fields, v1_values)}


def to_v1(policy: Json, table: Mapping[str, Spec]) -> Json:
    """A stored V2 policy written flat, as V1 shows it."""
    ptype = policy["Type"]
    settings = dict(policy.get("Settings") or {})
    model = _BY_V2[id(table)].get(ptype)
    if model is None:
        return {"Type": ptype, **settings}
    back = {v2: v1 for v1, v2 in model.renames.items()}
    out: Json = {"Type": get_args(model.model_fields["type"].annotation)[0]}
    for key, value in settings.items():
        out[str(back.get(key, key))] = value
    if ptype == "PortMapping":
        proto = out.get("Protocol")
        if isinstance(proto, int) and proto in _PROTOCOL_NAMES:
            out["Protocol"] = _PROTOCOL_NAMES[proto]
        flags = out.get("Flags")
        if isinstance(flags, int) and flags & EXTERNAL_PORT_RESERVED:
            out["ExternalPortReserved"] = True
            rest = flags & ~EXTERNAL_PORT_RESERVED
            if rest:
                out["Flags"] = rest
            else:
                del out["Flags"]
    return out


def endpoint_policy_from_v1(policy: Json) -> Json:
    return from_v1(policy, ENDPOINT_POLICY_TYPES)


def endpoint_policy_to_v1(policy: Json) -> Json:
    return to_v1(policy, ENDPOINT_POLICY_TYPES)


def subnet_policy_from_v1(policy: Json) -> Json:
    return from_v1(policy, SUBNET_POLICY_TYPES)


def subnet_policy_to_v1(policy: Json) -> Json:
    return to_v1(policy, SUBNET_POLICY_TYPES)

