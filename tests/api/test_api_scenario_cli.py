"""``hns-emulator scenario``: --list names hns.scenarios' scenarios, a run prints its
traces and a pass line and exits 0 (1 on fail), --pcap gets every underlay frame, and an
unknown name is exit status 2 with the known names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import vxlan
from api.cli import main
from hns import scenarios


def test_scenario_list_names_every_scenario() -> None:
    out = io.StringIO()
    assert main(["scenario", "--list"], out=out) == 0
    assert out.getvalue().splitlines() == list(scenarios.names())
    assert out.getvalue().splitlines()  # at least one ships


def test_scenario_unknown_name_exits_2_with_the_known_names() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["scenario", "no-such-scenario"], out=out, err=err) == 2
    assert "unknown scenario 'no-such-scenario'" in err.getvalue()
    for name in scenarios.names():
        assert name in err.getvalue()
    assert out.getvalue() == ""


def test_scenario_without_name_exits_2() -> None:
    err = io.StringIO()
    assert main(["scenario"], out=io.StringIO(), err=err) == 2
    assert "--list" in err.getvalue()


@pytest.mark.parametrize("name", scenarios.names())
def test_scenario_run_exit_status_matches_its_verdict_and_pcap_is_written(
    name: str, tmp_path: Path
) -> None:
    pcap = tmp_path / "underlay.pcap"
    out, err = io.StringIO(), io.StringIO()
    code = main(["scenario", name, "--pcap", str(pcap)], out=out, err=err)
    last = out.getvalue().strip().splitlines()[-1]
    verdict = last.split()[0].upper()
    if verdict == "SKIP":  # only mixed-linux-windows, where the kernel refuses netns
        assert code == 0
        pytest.skip(last)
    assert verdict in ("PASS", "FAIL")
    assert code == (0 if verdict == "PASS" else 1), out.getvalue()[-3000:] + err.getvalue()
    assert len(vxlan.read_pcap(str(pcap))) > 0  # every scenario crosses the underlay


def test_scenario_failure_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    name = scenarios.names()[0]
    seen: list[tuple[str, str | None]] = []

    def failing(wanted: str, out: io.StringIO, *, pcap: str | None = None) -> bool:
        seen.append((wanted, pcap))
        out.write("FAIL\n")
        return False

    monkeypatch.setattr(scenarios, "run", failing)
    out = io.StringIO()
    assert main(["scenario", name, "--pcap", "x.pcap"], out=out) == 1
    assert seen == [(name, "x.pcap")]
    assert out.getvalue() == "FAIL\n"
