"""The patternlab page of the Dask dashboard, as a person sees it in a browser (headless Chromium)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Scheduler

import patternlab as pl
from monitoring_helpers import CONFIG, WINDOW, dashboard_base, get, monitored_cluster, signals
from patternlab.dashboard import PAGE, PatternlabMonitor, dask_setup
from patternlab.dashboard._page import TOP_PATTERNS, rate_series

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# What the page holds, read in the browser from the Bokeh document it received over the websocket.
READ_PAGE = """
const out = {docs: (window.Bokeh && Bokeh.documents) ? Bokeh.documents.length : 0, sources: {}};
if (out.docs === 0) return out;
const doc = Bokeh.documents[0];
const col = (m, k) => { const d = m.data; return Array.from(d instanceof Map ? d.get(k) : d[k]); };
for (const [name, cols] of Object.entries(arguments[0])) {
  const m = doc.get_model_by_name(name);
  out.sources[name] = m ? Object.fromEntries(cols.map(k => [k, col(m, k)])) : null;
}
out.visible = [];
for (let i = 0; i < arguments[1]; i++)
  out.visible.push(doc.get_model_by_name(`patternlab-top-${i}-plot`).visible);
const summary = doc.get_model_by_name('patternlab-summary');
out.summary = summary ? summary.text : null;
const canvases = [];
const walk = root => { for (const el of root.querySelectorAll('*')) {
  if (el.tagName === 'CANVAS') canvases.push([el.width, el.height]);
  if (el.shadowRoot) walk(el.shadowRoot); } };
walk(document);
out.canvases = canvases;
out.menu = Array.from(document.querySelectorAll('.navbar a')).map(a => a.getAttribute('href'));
return out;
"""
SOURCES = {"patternlab-patterns": ["time", "founded"], "patternlab-runs": ["time", "discovered"],
           "patternlab-rate": ["time", "rate"], "patternlab-workers": ["worker", "processed", "queued"],
           **{f"patternlab-top-{i}": ["x", "y"] for i in range(TOP_PATTERNS)}}


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by chromedriver (Debian's packages, installed by CI)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,900"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def wait_for(driver: Any, ok: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        page = driver.execute_script(READ_PAGE, SOURCES, TOP_PATTERNS)
        if page["docs"] and ok(page):
            return page
        assert time.monotonic() < deadline, f"the page never showed it: {page}"
        time.sleep(0.2)


def test_page_draws_a_batch_live(browser: Any) -> None:
    with monitored_cluster() as (_, client):
        url = f"{dashboard_base(client)}/{PAGE}"
        browser.get(url)                                  # opened before any work
        empty = wait_for(browser, lambda p: p["summary"] is not None)
        assert "tasks processed</b>: 0" in empty["summary"]
        assert empty["sources"]["patternlab-patterns"]["time"] == []
        assert not any(empty["visible"])
        worker = next(iter(client.scheduler_info()["workers"]))

        out = pl.batch_perceive(signals(12), config=CONFIG, client=client, batch_size=4, progress=False)
        m = out.metrics
        # the periodic callback brings the batch to the open page, without a reload
        page = wait_for(browser, lambda p: bool(p["sources"]["patternlab-top-0"]["y"])
                        and p["sources"]["patternlab-workers"]["processed"] == [3]
                        and f"patterns discovered</b>: {int(m['patterns_discovered'])}" in p["summary"])
        shot = ARTIFACTS / "dashboard-patternlab.png"
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(shot))
        print(f"screenshot of the patternlab page: {shot}")
        _, status_html = get(f"{dashboard_base(client)}/status")

    src = page["sources"]
    assert f"tasks processed</b>: {int(m['tasks_processed'])}" in page["summary"]
    assert f"signals</b>: {int(m['signals'])}" in page["summary"]
    # patterns over time: the partitions' count climbs, then the merged count of the run
    founded = src["patternlab-patterns"]["founded"]
    assert founded[0] == 0 and founded == sorted(founded) and founded[-1] >= m["patterns_discovered"]
    assert src["patternlab-runs"]["discovered"][-1] == m["patterns_discovered"]
    # signals per second: the batch's signals, averaged over 10 s windows
    assert 0 < max(src["patternlab-rate"]["rate"]) <= m["signals"] / 10.0 + 1e-12
    assert src["patternlab-workers"] == {"worker": [worker], "processed": [3], "queued": [0]}
    # the top patterns: the merged library's highest-support prototypes, drawn
    lib = out.library
    order = np.argsort(-lib.supports, kind="stable")[:TOP_PATTERNS]
    assert page["visible"] == [i < len(order) for i in range(TOP_PATTERNS)]
    for i, k in enumerate(order):
        np.testing.assert_allclose(src[f"patternlab-top-{i}"]["y"], lib.prototypes[k], rtol=1e-12)
        assert src[f"patternlab-top-{i}"]["x"] == list(range(WINDOW))
    # drawn: a canvas per plot, with pixels
    assert len(page["canvases"]) >= 4 + len(order)
    assert all(w > 0 and h > 0 for w, h in page["canvases"])
    assert shot.stat().st_size > 20_000
    # in the dashboard's menu, on its own page and on Dask's
    assert PAGE in page["menu"] and "status" in page["menu"]
    assert f'href="{PAGE}"' in status_html


def test_rate_series() -> None:
    completions = [(100.0, 4), (101.5, 6), (105.0, 10)]
    t, rate = rate_series(completions, now=112.0, window=10.0, span=900.0)
    assert t[0] == 90.0 and t[-1] == 112.0 and np.all(np.diff(t) == 1.0)
    at = dict(zip(t, rate))
    assert at[99.0] == 0 and at[100.0] == 0.4 and at[102.0] == 1.0 and at[105.0] == 2.0
    assert at[110.0] == 1.6 and at[112.0] == 1.0     # 100 and 101.5 have left the window
    assert rate_series([], now=5.0)[0].size == 0


def test_preload_twice_and_without_dashboard() -> None:
    """A second preload changes nothing; a scheduler without a dashboard still has the plugin."""
    async def main() -> None:
        async with Scheduler(host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0",
                             preload=["patternlab.dashboard"]) as s:
            plugin = s.plugins["patternlab"]
            dask_setup(s)
            from distributed.dashboard.scheduler import template_variables

            assert s.plugins["patternlab"] is plugin and isinstance(plugin, PatternlabMonitor)
            assert sum(getattr(a, "_patternlab_page", False) for a in s.http_application.applications) == 1
            assert template_variables(s)["pages"].count(PAGE) == 1
            assert s.get_metadata(keys=["patternlab-monitoring"])["page"] == f"/{PAGE}"
        async with Scheduler(host="127.0.0.1", port=0, dashboard=False,
                             preload=["patternlab.dashboard"]) as s:
            assert isinstance(s.plugins["patternlab"], PatternlabMonitor)
            assert s.get_metadata(keys=["patternlab-monitoring"])["page"] is None
            assert not any(getattr(a, "_patternlab_page", False) for a in s.http_application.applications)

    asyncio.run(main())
