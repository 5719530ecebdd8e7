"""hcsshim's own hcn integration suite (``go test -tags integration
github.com/Microsoft/hcsshim/hcn`` at the version gotest/go.mod pins), unmodified, under
Wine against the emulator, for each profile.

On ws2025 every test passes. On ws2019 and ws2022 the suite runs without the tests a real
host of that release fails too (the feature they use needs a newer HNS; docs/go-compat.md
lists each with its reason); each of those is then run alone on a reset emulator and must
fail there, and must pass on ws2025, so the list cannot go stale silently. The emulator is
reset before every run: a test that aborts leaves its objects behind (docs/go-compat.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from go_helpers import Emulator

#: test -> the hcsshim feature (hcn/hcnglobals.go) it needs and that HNS version
NEEDS = {
    "TestAddL4WfpProxyPolicyOnEndpoint": ("L4WfpProxy", (13, 2)),
    "TestApplyTierAclPolicyOnEndpoint": ("TierAcl", (14, 0)),
    "TestAddRemoveNetworACLPolicy": ("NetworkACL", (15, 0)),
    "TestCreateUpdateDeleteLoadBalancer": ("ModifyLoadbalancer", (15, 4)),
    "TestAccelnetNnvManagementMacAddresses": ("Accelnet", (15, 4)),
}
HNS_VERSION = {"ws2019": (9, 5), "ws2022": (13, 3), "ws2025": (15, 4)}
#: the suite at hcsshim v0.15.0 has 78 tests; fewer means the binary did not run them all
SUITE_SIZE = 78


def expected_failures(profile: str) -> list[str]:
    return sorted(t for t, (_, version) in NEEDS.items() if HNS_VERSION[profile] < version)


def _results(output: str) -> dict[str, str]:
    return dict((m.group(2), m.group(1))
                for m in re.finditer(r"^--- (PASS|FAIL|SKIP): (\S+)", output, re.M))


@pytest.mark.parametrize("profile", ["ws2025", "ws2022", "ws2019"])
def test_hcn_suite(profile: str, emulator: Emulator, go_builds: Path) -> None:
    exe = str(go_builds / "hcn.test.exe")
    failing = expected_failures(profile)
    emulator.server.set_profile(profile)
    emulator.server.reset()
    argv = [exe, "-test.v", "-test.count=1"]
    if failing:
        argv.append("-test.skip=^(" + "|".join(failing) + ")$")
    run = emulator.run_exe(profile, argv)
    results = _results(run.stdout)
    failed = sorted(t for t, r in results.items() if r == "FAIL")
    assert run.returncode == 0, f"{profile}: failed {failed}\n{run.stdout[-4000:]}{run.stderr}"
    assert failed == []
    assert sum(r == "PASS" for r in results.values()) == SUITE_SIZE - len(failing), results
    for test in failing:
        emulator.server.reset()
        alone = emulator.run_exe(profile, [exe, "-test.v", "-test.count=1",
                                           f"-test.run=^{test}$"])
        assert _results(alone.stdout).get(test) == "FAIL", (
            f"{test} passed on {profile}, whose HNS {HNS_VERSION[profile]} is older than "
            f"{NEEDS[test][0]} needs: is the feature gate gone?\n{alone.stdout[-2000:]}")
    emulator.server.reset()
