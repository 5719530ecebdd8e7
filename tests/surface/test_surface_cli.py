"""CLIs that behave like tools: the serve banner and log, --version, usage errors in one
line with exit status 2, vfpctrl's help without a server, shell completion."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from loopback import dead_url

from api import cli, hnsdiag, vfpctrl
from hns.testing.server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEAD = f"http://127.0.0.1:{free_port()}"  # for what never connects; else dead_url()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("HNS_EMULATOR_TOKEN", None)
    return env


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--state", ":memory:", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        stdin=subprocess.DEVNULL)


def _banner(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server's first line, once it listens
    assert line, f"no banner; stderr: {proc.communicate(timeout=10)[1]}"
    return line


def _stop(proc: subprocess.Popen[str]) -> str:
    """Stop the server; everything it wrote after the banner (stdout, then stderr)."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return out + err


def test_serve_prints_one_line_with_everything_a_user_needs() -> None:
    proc = _serve("--profile", "ws2022")
    try:
        line = _banner(proc)
        match = re.fullmatch(
            r"hns-emulator \S+ listening on (http://127\.0\.0\.1:(\d+)) \(state :memory:, "
            r"profile ws2022\); web view \1/ui/, API docs \1/docs\n", line)
        assert match, line
        url = match.group(1)
        assert int(match.group(2)) > 0  # the port the kernel chose for --port 0
        assert httpx.get(url + "/_emulator/health").json()["Profile"] == "ws2022"
        assert httpx.get(url + "/ui/").status_code == 200
        # one refused call -> exactly one WARNING line with its reason (default level)
        httpx.put(url + "/_emulator/profile", json={"Profile": "ws2023"})
        httpx.get(url + "/hcn/networks")
    finally:
        err = _stop(proc)
    refusals = [ln for ln in err.splitlines() if "refused" in ln]
    assert refusals == [
        "WARNING:  refused PUT /_emulator/profile: 400 0x80070057 E_INVALIDARG: unknown "
        "profile 'ws2023' (did you mean 'ws2025'?); accepted: ws2019, ws2022, ws2025"]
    assert "GET /hcn/networks" not in err  # no access log unless asked


def test_serve_access_log_and_log_level() -> None:
    proc = _serve("--access-log", "--log-level", "error")
    try:
        url = re.findall(r"http://\S+?:\d+", _banner(proc))[0]
        httpx.get(url + "/hcn/networks")
        httpx.put(url + "/_emulator/profile", json={"Profile": "nope"})
    finally:
        err = _stop(proc)
    assert re.search(r'"GET /hcn/networks HTTP/1\.1" 200', err), err
    assert "refused" not in err  # below --log-level error


def test_version_on_every_tool(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"hns-emulator \d+\.\d+\S*\n", capsys.readouterr().out)
    out = io.StringIO()
    assert hnsdiag.main(["--version"], out=out) == 0
    assert re.fullmatch(r"hnsdiag \(hns-emulator\) \d+\.\d+\S*\n", out.getvalue())
    out = io.StringIO()
    assert vfpctrl.main(["--version", "--url", DEAD], out=out) == 0
    assert out.getvalue().startswith("vfpctrl (hns-emulator) ")


@pytest.mark.parametrize("flag", ["/?", "-h", "--help", "/h"])
def test_vfpctrl_help_needs_no_server(flag: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert vfpctrl.main(["--url", DEAD, flag], out=out, err=err) == 0
    assert out.getvalue().startswith("vfpctrl.exe (hns-emulator)")
    assert "/list-vmswitch-port" in out.getvalue()
    assert err.getvalue() == ""


def _one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_bad_flags_are_named_in_one_line_with_exit_2() -> None:
    err = io.StringIO()
    assert hnsdiag.main(["list", "networks", "-x", "--url", DEAD], err=err) == 2
    assert "unknown option '-x'" in _one_line(err.getvalue())
    err = io.StringIO()
    assert hnsdiag.main(["list", "networks", "--url"], err=err) == 2
    assert "--url needs a value" in _one_line(err.getvalue())
    err = io.StringIO()
    assert vfpctrl.main(["--url", DEAD, "--list-rule"], err=err) == 2
    assert "unknown option '--list-rule'" in _one_line(err.getvalue())
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--bogus"],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 2
    assert "unrecognized arguments: --bogus" in _one_line(done.stderr)
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--log-level", "loud"],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 2
    assert "'loud'" in _one_line(done.stderr)


def test_unreachable_server_is_one_line_for_the_tools() -> None:
    err = io.StringIO()
    with dead_url() as dead:
        assert hnsdiag.main(["list", "networks", "--url", dead], err=err) == 1
    assert _one_line(err.getvalue()) == (
        f"hnsdiag: cannot reach the HNS emulator at {dead}: ConnectError")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_subcommands_options_and_choices() -> None:
    out = io.StringIO()
    assert cli.main(["completion", "bash"], out=out) == 0
    script = out.getvalue()

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        program = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
                   "_hns_emulator; printf '%s\\n' \"${COMPREPLY[@]}\"")
        done = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                              timeout=30, check=True)
        return done.stdout.split()

    assert {"serve", "load", "scenario", "completion"} <= set(complete("hns-emulator", ""))
    assert set(complete("hns-emulator", "s")) == {"serve", "scenario"}
    assert set(complete("hns-emulator", "serve", "--lo")) == {"--log-level"}
    assert set(complete("hns-emulator", "serve", "--log-level", "")) >= {"debug", "warning"}
    assert "--strict" in complete("hns-emulator", "serve", "--")
    assert set(complete("hns-emulator", "completion", "")) == {"bash", "zsh"}
    out = io.StringIO()
    assert cli.main(["completion", "zsh"], out=out) == 0
    assert out.getvalue().startswith("autoload -U +X bashcompinit")


def test_banner_waits_for_the_socket() -> None:
    # A port already taken: uvicorn cannot bind, so no banner claims it listens.
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--state",
             ":memory:"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=_env())
        out, _ = proc.communicate()  # it exits; pytest-timeout bounds a child that does not
    assert "listening on" not in out
