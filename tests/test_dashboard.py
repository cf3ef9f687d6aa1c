"""The patternlab page of the Dask dashboard, as a person sees it in a browser (headless Chromium)."""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Event, Scheduler

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
// the header as laid out: every item on one line, nothing overflowing
let header = null;
const find = root => { for (const el of root.querySelectorAll('*')) {
  if (el.id === 'patternlab-summary') header = el;
  if (el.shadowRoot) find(el.shadowRoot); } };
find(document);
if (header) {
  const tops = Array.from(header.querySelectorAll('.patternlab-item'))
    .map(e => e.getBoundingClientRect().top);
  out.header = {items: tops.length, lines: new Set(tops.map(Math.round)).size,
                overflow: header.scrollWidth - header.clientWidth, width: window.innerWidth};
}
// legends: outside the plots (above them), never in the plot area
out.legends = {};
for (const name of ['patternlab-patterns-plot', 'patternlab-workers-plot']) {
  const fig = doc.get_model_by_name(name);
  const inside = m => m.constructor.name === 'Legend' || (m.type || '') === 'Legend';
  out.legends[name] = {above: fig.above.filter(inside).length, center: fig.center.filter(inside).length};
}
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


def _item(summary: str, label: str) -> str:
    """The value of one item of the page's header."""
    found = re.search(rf">{re.escape(label)}</div><div[^>]*><b>([^<]*)</b>", summary)
    assert found, (label, summary)
    return found.group(1)


def test_page_draws_a_batch_live(browser: Any) -> None:
    with monitored_cluster() as (_, client):
        url = f"{dashboard_base(client)}/{PAGE}"
        browser.get(url)                                  # opened before any work
        empty = wait_for(browser, lambda p: p["summary"] is not None)
        assert _item(empty["summary"], "tasks processed") == "0"
        assert empty["sources"]["patternlab-patterns"]["time"] == []
        assert not any(empty["visible"])
        worker = next(iter(client.scheduler_info()["workers"]))

        # the only worker thread is busy: the batch's 3 partitions and 2 merges wait at the
        # scheduler, and the bars say so, adding up to the header's queue depth
        go = Event("go", client=client)
        blocker = client.submit(Event.wait, go, 60, key="blocker")
        done: list[pl.BatchResult] = []
        runner = threading.Thread(target=lambda: done.append(pl.batch_perceive(
            signals(12), config=CONFIG, client=client, batch_size=4, progress=False)))
        runner.start()
        try:
            queued = wait_for(browser, lambda p: _item(p["summary"], "queue depth").startswith("5 "))
        finally:
            go.set()
            runner.join(120)
        assert blocker.result() is True
        # the header's split is what the bars show: the worker holds the tasks Dask assigned to
        # it ahead of its busy thread, the others wait at the scheduler
        depth = re.fullmatch(r"5 \((\d+) on workers, (\d+) at the scheduler\)",
                             _item(queued["summary"], "queue depth"))
        assert depth, queued["summary"]
        bars = queued["sources"]["patternlab-workers"]
        assert bars["worker"] == [worker, "at the scheduler"]
        assert bars["queued"] == [int(depth.group(1)), int(depth.group(2))] and sum(bars["queued"]) == 5
        out = done[0]
        m = out.metrics
        # the periodic callback brings the batch to the open page, without a reload
        page = wait_for(browser, lambda p: bool(p["sources"]["patternlab-top-0"]["y"])
                        and p["sources"]["patternlab-workers"]["processed"] == [3, 0]
                        # every partition's event has arrived too (they travel apart from the tasks)
                        and _item(p["summary"], "tasks processed") == str(m["tasks_processed"])
                        and _item(p["summary"], "patterns discovered") == f"{m['patterns_discovered']:,}")
        shot = ARTIFACTS / "dashboard-patternlab.png"
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(shot))
        print(f"screenshot of the patternlab page: {shot}")
        _, status_html = get(f"{dashboard_base(client)}/status")

    src = page["sources"]
    assert _item(page["summary"], "tasks processed") == str(m["tasks_processed"])
    assert _item(page["summary"], "signals") == str(m["signals"])
    assert _item(page["summary"], "queue depth") == "0 (0 on workers, 0 at the scheduler)"
    # the header is one line at 1,400 px, and the legends sit above their plots
    assert page["header"]["width"] == 1400 and page["header"]["items"] >= 7
    assert page["header"]["lines"] == 1 and page["header"]["overflow"] <= 0, page["header"]
    assert page["legends"] == {"patternlab-patterns-plot": {"above": 1, "center": 0},
                               "patternlab-workers-plot": {"above": 1, "center": 0}}
    # patterns over time: the partitions' count climbs (merges then fold similar patterns and
    # promote candidates pooled in several partitions: it bounds the merged count neither way),
    # then the merged count of the run
    founded = src["patternlab-patterns"]["founded"]
    assert founded[0] == 0 and founded == sorted(founded) and founded[-1] > 0
    assert src["patternlab-runs"]["discovered"][-1] == m["patterns_discovered"]
    # signals per second: each partition's signals over its compute time, where it ran: the area
    # under the curve is the batch's signals, its peak at least their average rate over the
    # batch's wall time, and it is not zero for longer than the batch ran
    t, rate = np.asarray(src["patternlab-rate"]["time"]) / 1000.0, np.asarray(src["patternlab-rate"]["rate"])
    area = float(np.sum(np.diff(t) * (rate[:-1] + rate[1:]) / 2))
    assert area == pytest.approx(m["signals"], rel=1e-4)  # times travel as epoch milliseconds
    assert max(rate) >= m["signals"] / m["wall_seconds"]
    busy = t[1:][(rate[:-1] > 0) | (rate[1:] > 0)]
    assert 0 < busy.max() - busy.min() <= m["wall_seconds"] + 0.2
    assert src["patternlab-workers"] == {"worker": [worker, "at the scheduler"], "processed": [3, 0],
                                         "queued": [0, 0]}
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
    # (end, signals, compute seconds): two workers, partitions of 0.5 to 1 s
    completions = [(100.5, 25, 0.5), (100.8, 25, 0.8), (101.0, 25, 0.5), (101.6, 25, 0.8)]
    t, rate = rate_series(completions, now=112.0, span=900.0)
    # exact: each partition at its own rate while it ran, the rates of concurrent ones added
    assert t.tolist() == [100.0, 100.5, 100.8, 101.0, 101.6, 112.0]
    np.testing.assert_allclose(rate, [50 + 31.25, 31.25 + 50, 50 + 31.25, 31.25, 0.0, 0.0])
    assert np.sum(np.diff(t) * rate[:-1]) == pytest.approx(100.0)   # every signal, once
    # a 2.6 s batch shows as 2.6 s at its real rate, not as a long plateau at a fraction of it
    batch = [(1000.0 + 0.325 * (k + 1), 25, 0.325) for k in range(8)]
    t, rate = rate_series(batch, now=1010.0)
    assert t[0] == pytest.approx(1000.0) and rate[0] == pytest.approx(25 / 0.325)
    assert t[-2] == pytest.approx(1002.6) and rate[-2] == 0.0
    # beyond max_points, averages over equal intervals: the same signals
    many = [(2000.0 + 0.01 * k, 1, 0.01) for k in range(1, 1001)]
    t, rate = rate_series(many, now=2011.0, max_points=100)
    assert len(t) == 100 and np.sum(np.diff(t) * rate[:-1]) == pytest.approx(1000.0)
    # only what ended in the last `span` seconds; nothing before the first partition
    assert rate_series(completions, now=2000.0, span=10.0)[0].size == 0
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
        # without a dashboard the scheduler still serves /metrics and /health, by default on 8787:
        # a free port instead, so that a dashboard running elsewhere on the machine does not matter
        async with Scheduler(host="127.0.0.1", port=0, dashboard=False, dashboard_address="127.0.0.1:0",
                             preload=["patternlab.dashboard"]) as s:
            assert isinstance(s.plugins["patternlab"], PatternlabMonitor)
            assert s.get_metadata(keys=["patternlab-monitoring"])["page"] is None
            assert not any(getattr(a, "_patternlab_page", False) for a in s.http_application.applications)

    asyncio.run(main())
