"""The web view at /ui/, in a real headless Chromium against a real ``hns-emulator serve``.

Chromium and its driver are Debian's (``chromium``, ``chromium-driver``; .ci/run installs
them), driven through selenium. Screenshots of every page are kept: in
``$HNS_UI_SCREENSHOTS`` when set, else in the pytest tmp folder (the path is printed).
Without a browser the tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from surface_seed import V2, seed

from api.client import HnsClient
from hns.testing.server import EmulatorServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1440,1000")

if CHROMIUM is None or CHROMEDRIVER is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install chromium and chromium-driver (see .ci/run)")
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(state=tmp_path_factory.mktemp("ui") / "hns.sqlite") as srv:
        yield srv


@pytest.fixture(scope="module")
def seeded(server: EmulatorServer) -> Iterator[tuple[HnsClient, dict[str, Any]]]:
    server.reset()
    with HnsClient(server.url) as client:
        yield client, seed(client)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("HNS_UI_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"web view screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tempfile.mkdtemp(prefix="hns-ui-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, what: Callable[[Any], Any], timeout: float = 15.0) -> Any:
    # a live redraw may replace an element between finding and reading it: look again
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(what)


def _open(driver: Any, url: str, page: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == page)


def _shot(driver: Any, folder: Path, name: str) -> Path:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1440, max(1000, min(height + 40, 6000)))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1440, 1000)
    assert path.stat().st_size > 10_000
    return path


def _text(driver: Any) -> str:
    return str(driver.find_element(By.ID, "main").text)


def _only_local_requests(driver: Any, base: str) -> None:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    outside = [n for n in names if not n.startswith(base)]
    assert not outside, outside


def test_overview_lists_the_host_and_updates_live(browser: Any, server: EmulatorServer,
                                                  seeded: Any, shots: Path) -> None:
    client, ids = seeded
    _open(browser, server.url + "/ui/", "overview")
    text = _text(browser)
    for expected in ("overlay0", "10.244.1.0/24", "web-0", "10.244.1.10", "db-0",
                     "web-1", "192.168.1.20", "10.96.0.10", "6:80->8080"):
        assert expected in text, expected
    assert browser.find_element(By.ID, "svc").text == "HNS running"
    assert "ws2025" in browser.find_element(By.ID, "profile").text
    _only_local_requests(browser, server.url)
    _shot(browser, shots, "overview")
    # a call made by a test elsewhere shows up without a reload
    client.hcn_create_endpoint({"Name": "late-arrival", "HostComputeNetwork": ids["network"],
                                "SchemaVersion": V2})
    _wait(browser, lambda d: "late-arrival" in _text(d))
    client.stop_service()
    try:
        _wait(browser, lambda d: d.find_element(By.ID, "svc").text.startswith("HNS stopped"))
    finally:
        client.start_service()


def _keys(driver: Any, *keys: str) -> None:
    # to whatever has the focus, as a user types: an element found earlier may have been
    # replaced by a live redraw since
    ActionChains(driver).send_keys(*keys).perform()


def _js(driver: Any, script: str) -> Any:
    return driver.execute_script("return " + script)


def test_keyboard_filter_rows_and_pages(browser: Any, server: EmulatorServer, seeded: Any,
                                        shots: Path) -> None:
    # The page redraws whenever the emulator changes, so each step waits for what the next
    # one needs, read in one script (a redraw cannot slip between finding and reading).
    _, ids = seeded
    _open(browser, server.url + "/ui/", "overview")
    _keys(browser, "/")
    _wait(browser, lambda d: _js(d, "document.activeElement.id") == "filter")
    _keys(browser, "db-0")
    visible = ("[...document.querySelectorAll('#main tbody tr')]"
               ".filter(r => r.offsetParent !== null).map(r => r.dataset.key)")
    _wait(browser, lambda d: _js(d, visible) == [ids["db"]])
    _keys(browser, Keys.ESCAPE)
    _wait(browser, lambda d: _js(d, "document.activeElement.id") != "filter")
    _keys(browser, "j")  # first visible row
    _wait(browser, lambda d: _js(d, "document.activeElement.dataset.key") == ids["db"])
    _keys(browser, Keys.ENTER)
    _wait(browser, lambda d: _js(d, "document.body.dataset.ready") == "endpoint")
    assert browser.current_url.endswith("/ui/endpoints/" + ids["db"])
    for keys, page in (("gc", "calls"), ("gp", "topology"), ("gt", "trace"), ("go", "overview")):
        _keys(browser, keys[0], keys[1])
        _wait(browser, lambda d, p=page: _js(d, "document.body.dataset.ready") == p)
    _keys(browser, "?")
    _wait(browser, lambda d: d.find_element(By.ID, "keys").is_displayed())
    _shot(browser, shots, "keyboard-help")
    _keys(browser, Keys.ESCAPE)
    _wait(browser, lambda d: not d.find_element(By.ID, "keys").is_displayed())
    _keys(browser, "p")
    _wait(browser, lambda d: d.find_element(By.ID, "live-text").text == "paused")
    _keys(browser, "p")
    _wait(browser, lambda d: d.find_element(By.ID, "live-text").text == "live")


# Holds the page's first /ui/api/overview answer until window.__release() (a slow server,
# on cue) and notes every page marked ready, in order.
HOLD_FIRST_OVERVIEW = """
  const realFetch = window.fetch; let held = false; window.__readies = [];
  window.fetch = (url, options) => {
    if (held || !String(url).includes("/ui/api/overview")) return realFetch(url, options);
    held = true;
    return new Promise((go) => { window.__release = go; }).then(() => realFetch(url, options));
  };
  document.addEventListener("DOMContentLoaded", () => new MutationObserver(() =>
    window.__readies.push(document.body.dataset.ready)).observe(document.body,
    {attributes: true, attributeFilter: ["data-ready"]}));
"""


def test_a_slow_draw_never_lands_over_the_page_navigated_to(browser: Any,
                                                            server: EmulatorServer,
                                                            seeded: Any) -> None:
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": HOLD_FIRST_OVERVIEW})
    try:
        browser.get(server.url + "/ui/")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": added["identifier"]})
    _wait(browser, lambda d: _js(d, "typeof window.__release") == "function")
    _keys(browser, "g", "c")  # the user moves on while the overview is still coming
    _wait(browser, lambda d: d.current_url.endswith("/ui/calls"))
    browser.execute_script("window.__release()")
    _wait(browser, lambda d: "overview" in _js(d, "window.__readies"))
    # the overview, asked for first, is drawn first; the calls page comes after and stays
    _wait(browser, lambda d: _js(d, "window.__readies").pop() == "calls")
    assert browser.current_url.endswith("/ui/calls")
    assert "0x803B000E" in _text(browser)


def test_endpoint_page_shows_the_vfp_port(browser: Any, server: EmulatorServer, seeded: Any,
                                          shots: Path) -> None:
    _, ids = seeded
    _open(browser, f"{server.url}/ui/endpoints/{ids['web']}", "endpoint")
    text = _text(browser)
    assert "VFP port of web-0" in text
    for layer in ("ACL_ENDPOINT_LAYER", "VNET_ENCAP_LAYER", "SLB_NAT_LAYER"):
        assert layer in text
    # read in one script: a live redraw cannot slip between finding and reading
    out_layers, in_layers = browser.execute_script(
        "return [...document.querySelectorAll('.dirs section.panel')].map(p =>"
        " [...p.querySelectorAll('.layer .lh strong')].map(e => e.textContent))")
    assert out_layers[0] == "ACL_ENDPOINT_LAYER"
    assert in_layers[-1] == "ACL_ENDPOINT_LAYER"
    assert in_layers == list(reversed(out_layers))  # VFP's evaluation order per direction
    # the ACL from the endpoint's policy: a block rule on TCP port 23, outbound
    out_text = browser.execute_script(
        "return document.querySelector('.dirs section.panel').innerText")
    assert "block" in out_text
    assert "Protocols=6" in out_text
    assert "ports=23" in out_text
    assert "packets out" in text
    assert "dropped in" in text
    _shot(browser, shots, "endpoint-port")


def test_packet_tracer_names_the_deciding_rule(browser: Any, server: EmulatorServer,
                                               seeded: Any, shots: Path) -> None:
    _, ids = seeded
    _open(browser, f"{server.url}/ui/trace?port={ids['web']}", "trace")

    def trace(dport: str) -> str:
        field = browser.find_element(By.ID, "t-dport")
        field.clear()
        field.send_keys(dport)
        dst = browser.find_element(By.ID, "t-dst")
        dst.clear()
        dst.send_keys("10.244.1.11", Keys.ENTER)  # Enter submits, as in any form
        _wait(browser, lambda d: d.find_elements(By.ID, "verdict"))
        return str(browser.find_element(By.ID, "trace-result").text)

    blocked = trace("23")
    assert blocked.startswith("Trace")
    assert "DROPPED" in blocked
    assert "Blocked by rule" in blocked
    assert "ACL_ENDPOINT_LAYER" in blocked
    _shot(browser, shots, "tracer-drop")
    allowed = trace("80")
    assert "ALLOWED" in allowed
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.steps > li[data-layer]")
    assert next(s.get_attribute("data-layer") for s in steps) == "ACL_ENDPOINT_LAYER"
    assert "Packet out" in allowed
    _shot(browser, shots, "tracer-allow")


def test_tracer_injects_a_pasted_frame(browser: Any, server: EmulatorServer, seeded: Any,
                                      shots: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    client, ids = seeded
    mac = client.hcn_query_endpoint_properties(ids["web"])["MacAddress"].replace("-", ":")
    frame = bytes(Ether(src=mac, dst="12:34:56:78:ab:cd") / IP(src="10.244.1.10",
                  dst="10.244.1.11") / TCP(sport=40001, dport=23, flags="S"))
    _open(browser, f"{server.url}/ui/trace?port={ids['web']}", "trace")
    box = browser.find_element(By.ID, "t-frame")
    box.send_keys(frame.hex())
    browser.find_element(By.CSS_SELECTOR, "form[aria-label=frame] button").click()
    _wait(browser, lambda d: d.find_elements(By.ID, "verdict"))
    text = browser.find_element(By.ID, "trace-result").text
    assert "Trace of the injected frame" in text
    assert "DROPPED" in text
    assert "Blocked by rule" in text
    assert "10.244.1.10:40001 → 10.244.1.11:23" in text
    counters = client.request("GET", f"/vfp/ports/{ids['web']}/counters")
    assert counters["OUT"]["DroppedPackets"] >= 1  # injected for real, unlike a trace
    _shot(browser, shots, "tracer-inject")


def test_call_log_timeline_shows_hresults_details_and_faults(browser: Any,
                                                             server: EmulatorServer,
                                                             seeded: Any, shots: Path) -> None:
    _open(browser, server.url + "/ui/calls", "calls")
    items = browser.find_elements(By.CSS_SELECTOR, "ol.timeline > li")
    assert len(items) >= 8
    text = _text(browser)
    assert "0x803B000E Invalid policy type." in text
    assert "why: unknown policy type 'ProviderAdress' (did you mean 'ProviderAddress'?)" in text
    assert "fault #1 Fail 0x803B0002" in text
    assert "why: injected by fault 1" in text
    faulted = browser.find_elements(By.CSS_SELECTOR, "ol.timeline > li.faulted")
    assert len(faulted) == 1
    assert "HcnDeleteEndpoint" in faulted[0].text
    browser.find_element(By.ID, "only-failed").click()
    _wait(browser, lambda d: d.execute_script(
        "const li = [...document.querySelectorAll('ol.timeline > li')];"
        "return li.length === 2 && li.every(x => x.classList.contains('failed'))"))
    _shot(browser, shots, "call-log")
    browser.find_element(By.ID, "only-failed").click()


def test_topology_is_svg_with_endpoints_and_pa_tunnels(browser: Any, server: EmulatorServer,
                                                       seeded: Any, shots: Path) -> None:
    _open(browser, server.url + "/ui/topology", "topology")
    svg = browser.find_element(By.ID, "topology")
    assert svg.tag_name == "svg"
    text = svg.text
    assert "overlay0" in text
    assert "PA 192.168.1.20" in text
    assert "web-0" in text
    assert len(svg.find_elements(By.CSS_SELECTOR, "path.tunnel")) == 1
    links = svg.find_elements(By.CSS_SELECTOR, "a")
    assert len(links) >= 2  # the local endpoints, reachable with Tab
    links[0].send_keys(Keys.ENTER)
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.ready") == "endpoint")
    _open(browser, server.url + "/ui/topology", "topology")
    _shot(browser, shots, "topology")


def test_docs_render_offline_in_the_browser(browser: Any, server: EmulatorServer,
                                            shots: Path) -> None:
    browser.get(server.url + "/docs")
    try:
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), 30)
    except TimeoutException:  # pragma: no cover - the message says what was missing
        pytest.fail("Swagger UI did not render from the packaged assets")
    _only_local_requests(browser, server.url)
    _shot(browser, shots, "docs")
    browser.get(server.url + "/redoc")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".menu-content"), 30)
    # ReDoc's footer links a logo on its CDN; the page's policy refuses it before any
    # request leaves (an offline machine would just fail it; the docs render either way).
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => [e.name, e.responseStatus, e.transferSize])")
    outside = [e for e in entries if not str(e[0]).startswith(server.url)]
    assert all(status == 0 and size == 0 for _, status, size in outside), outside
    refusals = [entry["message"] for entry in browser.get_log("browser")
                if "Content Security Policy" in entry["message"]]
    assert len(refusals) == len(outside), refusals
    _shot(browser, shots, "redoc")
