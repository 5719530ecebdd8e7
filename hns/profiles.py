"""Host version profiles: which HNS version a host reports and which features that turns on.

The feature table is hcsshim's (``hcn/hcnsupport.go``, ``hcn/hcnglobals.go``; hns-api.md
section 1.9): a feature is supported when the HNS version falls in one of its ranges,
compared major first, then minor at the edge majors.  Profiles name real Windows Server
releases; the versions chosen for each are written down in docs/hns.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["FEATURES", "PROFILES", "Profile", "feature_supported"]

_MAX = 1 << 32
Version = tuple[int, int]
Range = tuple[Version, Version]


def _from(major: int, minor: int) -> Range:
    return ((major, minor), (_MAX, _MAX))


def _span(major: int, minor: int) -> Range:
    """``major.minor`` up to the end of that major (hcsshim's ``{major, minor}..{major, max}``)."""
    return ((major, minor), (major, _MAX))


FEATURES: Mapping[str, tuple[Range, ...]] = MappingProxyType({
    "Acl": (_from(7, 2),),
    "Api.V2": (_from(9, 2),),
    "RemoteSubnet": (_from(9, 2),),
    "HostRoute": (_from(9, 2),),
    "DSR": (_span(9, 3), _from(10, 2)),
    "Slash32EndpointPrefixes": (_span(9, 3), _from(10, 4)),
    "AclSupportForProtocol252": (_from(11, 0),),
    "SessionAffinity": (_from(12, 0),),
    "IPv6DualStack": (_from(11, 10),),
    "SetPolicy": (_from(13, 0),),
    "VxlanPort": (_from(10, 3),),
    "L4Proxy": (_span(9, 5), _span(10, 5), _span(11, 11), _span(12, 1), _from(13, 1)),
    "L4WfpProxy": (_from(13, 2),),
    "TierAcl": (_from(14, 0),),
    "NetworkACL": (_from(15, 0),),
    "NestedIpSet": (_from(15, 0),),
    "DisableHostPort": (_from(15, 1),),
    "ModifyLoadbalancer": (_from(15, 4),),
    "Accelnet": (_from(15, 4),),
})


def feature_supported(version: Version, feature: str) -> bool:
    """hcsshim's ``isFeatureInRange`` over every range of ``feature``."""
    return any(lo <= version <= hi for lo, hi in FEATURES[feature])


@dataclass(frozen=True, slots=True)
class Profile:
    """A host: its name, the HNS version it reports and the features that follow from it."""

    name: str
    description: str
    major: int
    minor: int

    @property
    def version(self) -> Version:
        return (self.major, self.minor)

    @property
    def packed_version(self) -> int:
        """The V1 object ``Version`` field: ``(Major << 32) | Minor``."""
        return (self.major << 32) | self.minor

    def supports(self, feature: str) -> bool:
        return feature_supported(self.version, feature)

    @property
    def features(self) -> dict[str, bool]:
        return {name: self.supports(name) for name in FEATURES}


PROFILES: Mapping[str, Profile] = MappingProxyType({
    "ws2019": Profile("ws2019", "Windows Server 2019 (1809, 10.0.17763), serviced", 9, 5),
    "ws2022": Profile("ws2022", "Windows Server 2022 (10.0.20348)", 13, 3),
    "ws2025": Profile("ws2025", "Windows Server 2025 (10.0.26100)", 15, 4),
})

DEFAULT_PROFILE = "ws2025"
