"""The ``/patternlab`` page of the Dask dashboard (a Bokeh server application).

The page is added to the scheduler's running HTTP application beside Dask's own pages, and
its name to the dashboard's menu. Both use distributed's internal dashboard API
(``distributed.dashboard.core.BokehApplication``, ``distributed.dashboard.scheduler.
template_variables``), hence the pinned ``distributed`` versions in ``pyproject.toml``.
"""

from __future__ import annotations

import html
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._text import plural
from ._monitor import PLUGIN_NAME, PatternlabMonitor

__all__ = ["PAGE", "TOP_PATTERNS", "add_page", "patternlab_doc"]

logger = logging.getLogger(__name__)

#: Path of the page, relative to the dashboard's prefix.
PAGE = "patternlab"
#: Top patterns drawn (the run event carries at most this many prototypes).
TOP_PATTERNS = 8
_RATE_SPAN = 900.0       # seconds of history the signals/second line shows
_MAX_POINTS = 5000       # points of a line sent to the browser
#: Name of the row of the tasks bars for the patternlab tasks not yet on a worker.
AT_SCHEDULER = "at the scheduler"


def update_interval_ms() -> int:
    """The page's refresh interval: ``patternlab.dashboard.interval`` in Dask's config
    (``DASK_PATTERNLAB__DASHBOARD__INTERVAL``), default ``"1s"``."""
    import dask.config
    from dask.utils import parse_timedelta

    value = dask.config.get("patternlab.dashboard.interval", default="1s")
    return max(50, int(1000 * float(parse_timedelta(value, default="s") or 1.0)))


def rate_series(completions: Sequence[tuple[float, int, float]], now: float, span: float = _RATE_SPAN,
                max_points: int = _MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Signals per second over time, at the resolution of the partitions themselves.

    A finished partition processed its signals at ``signals / seconds`` during its compute time,
    the ``seconds`` before its event reached the scheduler; the rates of partitions running at
    the same time add up (one per worker thread). The result is a step function: ``rates[i]``
    from ``times[i]`` until ``times[i + 1]``, from the start of the first partition that ended in
    the last ``span`` seconds to ``now`` (where the rate is 0 until the next partition reports).
    Exact with at most ``max_points`` steps; beyond, the average rate over ``max_points`` equal
    intervals (the same signals in each interval).

    Returns times (seconds since the epoch) and rates; empty before the first partition.
    """
    cutoff = now - span
    recent = list(itertools.takewhile(lambda c: c[0] > cutoff, reversed(completions)))
    data = np.asarray(recent, dtype=np.float64).reshape(-1, 3)
    if not len(data):
        return np.empty(0), np.empty(0)
    end, seconds = data[:, 0], np.maximum(data[:, 2], 1e-3)
    rate = data[:, 1] / seconds
    t = np.concatenate([end - seconds, end])
    change = np.concatenate([rate, -rate])
    order = np.argsort(t, kind="stable")
    t, level = t[order], np.cumsum(change[order])
    last = np.r_[t[1:] != t[:-1], True]            # the level after every change at one time
    t, level = t[last], level[last]
    level[np.abs(level) <= 1e-9 * float(rate.max())] = 0.0   # rounding left by the subtractions
    times, rates = np.r_[t, max(now, float(t[-1]))], np.r_[level, 0.0]
    if len(times) <= max_points:
        return times, rates
    # the signals processed up to each step, exact and piecewise linear in between
    done = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(times))])
    edges = np.linspace(times[0], times[-1], max_points)
    return edges, np.r_[np.diff(np.interp(edges, times, done)) / np.diff(edges), 0.0]


def _steps(times: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step function's corners, for a line and the area under it."""
    if not len(times):
        return times, rates
    return np.repeat(times, 2)[1:], np.repeat(rates, 2)[:-1]


class PatternlabPage:
    """The figures of one browser session, redrawn from a :class:`PatternlabMonitor`."""

    def __init__(self, scheduler: Any) -> None:
        from bokeh.layouts import column, gridplot, row
        from bokeh.models import ColumnDataSource, DataRange1d, DatetimeTickFormatter, FactorRange, HoverTool
        from bokeh.models.annotations import Title
        from bokeh.models.widgets import Div
        from bokeh.plotting import figure
        from bokeh.transform import dodge

        self.scheduler = scheduler
        self._version = -1
        self._top_key: tuple[Any, ...] = ()
        self.summary = Div(text="", name="patternlab-summary", sizing_mode="stretch_width")
        self.profiles = Div(text="", name="patternlab-profiles", sizing_mode="stretch_width")

        self.patterns_source = ColumnDataSource({"time": [], "founded": [], "tasks": []},
                                                name="patternlab-patterns")
        self.runs_source = ColumnDataSource({"time": [], "discovered": []}, name="patternlab-runs")
        self.patterns = figure(title="Patterns discovered", x_axis_type="datetime", height=280,
                               sizing_mode="stretch_width", tools="xpan,xwheel_zoom,reset",
                               name="patternlab-patterns-plot")
        self.patterns.step("time", "founded", source=self.patterns_source, mode="after",
                           legend_label="founded by partitions (before merging)", color="#9ecae1",
                           line_width=2)
        self.patterns.step("time", "discovered", source=self.runs_source, mode="after",
                           legend_label="discovered (merged, per finished batch)", color="#08519c",
                           line_width=2)
        self.run_points = ColumnDataSource({"time": [], "discovered": []}, name="patternlab-run-points")
        self.patterns.scatter("time", "discovered", source=self.run_points, color="#08519c", size=7)
        _legend_above(self.patterns)
        self.patterns.yaxis.axis_label = "patterns"

        self.rate_source = ColumnDataSource({"time": [], "rate": []}, name="patternlab-rate")
        self.rate = figure(title="Signals per second (partitions over their compute time, all workers)",
                           x_axis_type="datetime", height=280, sizing_mode="stretch_width",
                           tools="xpan,xwheel_zoom,reset", name="patternlab-rate-plot")
        self.rate.line("time", "rate", source=self.rate_source, color="#31a354", line_width=2)
        self.rate.varea("time", 0, "rate", source=self.rate_source, color="#31a354", alpha=0.2)
        self.rate.yaxis.axis_label = "signals / s"
        self.patterns.x_range = self.rate.x_range   # one time axis for both
        ticks = DatetimeTickFormatter(milliseconds="%H:%M:%S.%3N", seconds="%H:%M:%S", minsec="%H:%M:%S",
                                      minutes="%H:%M", hourmin="%H:%M", hours="%H:%M", days="%b %d",
                                      context=None)
        self.patterns.xaxis.formatter = ticks
        self.rate.xaxis.formatter = ticks

        self.workers_source = ColumnDataSource({"worker": [], "processed": [], "queued": []},
                                               name="patternlab-workers")
        self.workers = figure(title="Tasks per worker", y_range=FactorRange(factors=[]), height=280,
                              x_range=DataRange1d(start=0),
                              sizing_mode="stretch_width", tools="", name="patternlab-workers-plot")
        self.workers.hbar(y=dodge("worker", 0.18, range=self.workers.y_range), right="processed",
                          height=0.34, source=self.workers_source, color="#08519c",
                          legend_label="partitions processed")
        self.workers.hbar(y=dodge("worker", -0.18, range=self.workers.y_range), right="queued",
                          height=0.34, source=self.workers_source, color="#fdae6b",
                          legend_label="tasks not finished (sum: queue depth)")
        self.workers.add_tools(HoverTool(tooltips=[("worker", "@worker"), ("processed", "@processed"),
                                                   ("not finished", "@queued")]))
        _legend_above(self.workers)
        self.workers.legend[0].orientation = "vertical"   # one label a line: it fits the figure

        self.top_sources = []
        self.top_plots = []
        self.top_titles = []
        for i in range(TOP_PATTERNS):
            src = ColumnDataSource({"x": [], "y": []}, name=f"patternlab-top-{i}")
            title = Title(text=" ", text_font_size="9pt")
            fig = figure(title=title, width=230, height=130, tools="", toolbar_location=None,
                         name=f"patternlab-top-{i}-plot", visible=False)
            fig.line("x", "y", source=src, color="#6a51a3", line_width=1.5)
            fig.axis.visible = False
            self.top_titles.append(title)
            self.top_sources.append(src)
            self.top_plots.append(fig)
        self.top_title = Div(text="<b>Top patterns</b> (by support, last finished batch)")
        top = gridplot(self.top_plots, ncols=4, toolbar_location=None)  # type: ignore[arg-type]

        self.root = column(self.summary, self.profiles,
                           row(self.patterns, self.rate, sizing_mode="stretch_width"),
                           row(self.workers, column(self.top_title, top), sizing_mode="stretch_width"),
                           sizing_mode="stretch_width", name="patternlab-root")

    @property
    def monitor(self) -> PatternlabMonitor | None:
        m = getattr(self.scheduler, "plugins", {}).get(PLUGIN_NAME)
        return m if isinstance(m, PatternlabMonitor) else None

    def update(self) -> None:
        m = self.monitor
        if m is None:
            self.summary.text = ("<p>patternlab's monitoring is not installed on this scheduler: start it "
                                 "with <code>--preload patternlab.dashboard</code>.</p>")
            return
        now = time.time()
        t, rate = _steps(*rate_series(m.completions, now))
        self.rate_source.data = {"time": t * 1000.0, "rate": rate}
        # read together: the bars and the header's queue depth are one reading of the scheduler
        snap = m.snapshot()
        queued = m.queued_by_worker()
        names = sorted(set(queued) | set(m.processed_by_worker))
        at_scheduler = snap["queue_depth"] - sum(queued.values())
        workers = {"worker": [*names, AT_SCHEDULER],
                   "processed": [m.processed_by_worker.get(w, 0) for w in names] + [0],
                   "queued": [queued.get(w, 0) for w in names] + [at_scheduler]}
        if workers != dict(self.workers_source.data):
            if list(self.workers.y_range.factors) != workers["worker"]:  # type: ignore[attr-defined]
                self.workers.y_range.factors = workers["worker"]  # type: ignore[attr-defined]
            self.workers_source.data = workers
        self.summary.text = _summary_html(snap, at_scheduler)
        profiles = _profiles_html(snap.get("profile_runs", []))
        if self.profiles.text != profiles:
            self.profiles.text = profiles
        if m.version == self._version:
            # only the last point moves: the lines reach "now", a finished batch reads as a plateau
            for src in (self.patterns_source, self.runs_source):
                n = len(src.data["time"])
                if n:
                    src.patch({"time": [(n - 1, now * 1000.0)]})
            return
        self._version = m.version
        hist = list(m.history)[-_MAX_POINTS:]
        if hist:
            h = np.asarray(hist, dtype=np.float64)
            # from zero at the first event, to "now"
            self.patterns_source.data = {"time": np.concatenate([h[:1, 0], h[:, 0], [now]]) * 1000.0,
                                         "founded": np.concatenate([[0.0], h[:, 3], h[-1:, 3]]),
                                         "tasks": np.concatenate([[0.0], h[:, 1], h[-1:, 1]])}
        runs = list(m.run_history)
        if runs and hist:
            r = np.asarray(runs, dtype=np.float64)
            self.runs_source.data = {"time": np.concatenate([h[:1, 0], r[:, 0], [now]]) * 1000.0,
                                     "discovered": np.concatenate([[0.0], r[:, 1], r[-1:, 1]])}
            self.run_points.data = {"time": r[:, 0] * 1000.0, "discovered": r[:, 1]}
        self._update_top(m.top_patterns)

    def _update_top(self, top: list[dict[str, Any]]) -> None:
        key = tuple((p.get("id"), p.get("support")) for p in top)
        if key == self._top_key:
            return
        self._top_key = key
        for i, (src, fig, title) in enumerate(zip(self.top_sources, self.top_plots, self.top_titles)):
            if i < len(top):
                y = np.asarray(top[i]["values"], dtype=np.float64)
                src.data = {"x": np.arange(len(y)), "y": y}
                short = str(top[i].get("id", "")).rsplit("-", 1)[-1][:10]
                title.text = f"#{i + 1}   support {top[i].get('support', '?')}   {short}"
                fig.visible = True
            else:
                src.data = {"x": [], "y": []}
                fig.visible = False


def _legend_above(fig: Any) -> None:
    """Move the figure's legend out of the plot, into a row above it: it never covers a line or
    a bar."""
    legend = fig.legend[0]
    legend.orientation = "horizontal"
    legend.location = "top_left"
    legend.label_text_font_size = "9pt"
    legend.padding = 2
    legend.margin = 2
    fig.center = [r for r in fig.center if r is not legend]
    fig.add_layout(legend, "above")


def _summary_html(s: dict[str, Any], at_scheduler: int | None = None) -> str:
    """The header: one row of figures (label above value), nowrap, that fits 1,400 px; the
    last batch's candidates on a second line of its own."""
    on_workers = s["queue"].get("processing", 0) if at_scheduler is None else s["queue_depth"] - at_scheduler
    waiting = s["queue_depth"] - on_workers
    last = s.get("last_batch", {})
    items = [("workers", f"{s['workers']} ({plural(s['threads'], 'thread')})"),
             ("tasks processed", f"{s['tasks_processed']:,}"),
             ("signals", f"{s['signals']:,}"),
             ("patterns discovered", f"{s['patterns_discovered']:,}"),
             ("batches", f"{s['runs']:,}"),
             ("throughput (finished batches)", f"{s['throughput_per_sec']:,.1f} signals/s")]
    if last.get("wall_seconds"):
        items.append(("last batch", f"{plural(int(last.get('signals', 0)), 'signal')} in "
                                    f"{float(last['wall_seconds']):.1f} s"))
    items.append(("queue depth", f"{s['queue_depth']:,} ({on_workers:,} on workers, {waiting:,} "
                                 f"{AT_SCHEDULER})"))
    cells = "".join("<div style='white-space:nowrap' class='patternlab-item'>"
                    f"<div style='font-size:8pt;color:#666'>{html.escape(k)}</div>"
                    f"<div style='font-size:11pt'><b>{html.escape(v)}</b></div></div>"
                    for k, v in items)
    out = (f"<div id='patternlab-summary' style='display:flex;flex-wrap:nowrap;gap:1.6em;padding:4px 0'>"
           f"{cells}</div>")
    c = s.get("candidates", {})
    if c.get("seen"):
        out += (f"<div style='font-size:9pt;color:#444' id='patternlab-candidates'>last batch's candidates: "
                f"{c['seen']:,} seen, {c['pooled']:,} pooled, {c['promoted']:,} promoted, "
                f"{c['aged_out']:,} aged out</div>")
    return out


def _profiles_html(runs: list[dict[str, Any]]) -> str:
    """The recent matrix profiles run on the cluster (``client=``): a table, newest first, with a
    progress bar in cells; empty when there are none."""
    if not runs:
        return ""
    rows = []
    for r in runs:
        pct = max(0.0, min(100.0, float(r["percent"])))
        bar = (f"<div style='width:160px;height:9px;background:#eee;display:inline-block'>"
               f"<div style='width:{pct:.1f}%;height:9px;background:#08519c'></div></div>")
        state = "finished" if r["finished"] else "running"
        cells = (html.escape(str(r["run"])), f"{r['windows']:,}", str(r["m"]),
                 f"{r['tasks_done']:,} / {r['tasks_total']:,}", f"{bar} {pct:.1f}%",
                 f"{r['cells_per_sec']:.3g}", f"{r['seconds']:.1f} s", state)
        rows.append("<tr class='patternlab-profile-run'>"
                    + "".join(f"<td style='padding:1px 10px'>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th style='text-align:left;padding:1px 10px'>{h}</th>" for h in (
        "run", "windows", "m", "tasks", "cells done", "cells/s", "time", "state"))
    return (f"<div style='font-size:9pt'><b>Matrix profiles</b> (runs with <code>client=</code>, "
            f"newest first)<table id='patternlab-profiles'><tr>{head}</tr>{''.join(rows)}</table></div>")


def patternlab_doc(scheduler: Any, extra: dict[str, Any], doc: Any) -> None:
    """Build the page for one browser session (a Bokeh ``FunctionHandler`` function)."""
    from distributed.dashboard.components import add_periodic_callback
    from distributed.dashboard.components.scheduler import BOKEH_THEME, env

    page = PatternlabPage(scheduler)
    page.update()
    doc.title = "Dask: patternlab"
    add_periodic_callback(doc, page, update_interval_ms())
    doc.add_root(page.root)
    doc.template = env.get_template("simple.html")
    doc.template_variables.update(extra)
    doc.theme = BOKEH_THEME


def add_page(scheduler: Any) -> bool:
    """Serve :func:`patternlab_doc` at ``/patternlab`` on the scheduler's dashboard and list it in
    the menu. Returns False (and changes nothing) where the dashboard is off; idempotent."""
    try:
        from bokeh.server.server import BokehTornado
        from distributed.dashboard.core import BokehApplication
        from distributed.dashboard.scheduler import template_variables
        from tornado.ioloop import IOLoop
    except ImportError:  # bokeh missing or of a version the dashboard refuses
        return False
    http_app = getattr(scheduler, "http_application", None)
    apps = [a for a in getattr(http_app, "applications", []) if isinstance(a, BokehTornado)]
    if not apps:
        return False
    if any(getattr(a, "_patternlab_page", False) for a in apps):
        return True
    tv = template_variables(scheduler)
    if PAGE not in tv["pages"]:
        tv["pages"].append(PAGE)
    app = BokehApplication({f"/{PAGE}": patternlab_doc}, scheduler, prefix=apps[0].prefix,
                           template_variables=tv)
    app._patternlab_page = True  # type: ignore[attr-defined]
    assert http_app is not None
    http_app.add_application(app)
    app.initialize(IOLoop.current())
    app.start()
    return True


def page_path(scheduler: Any) -> str:
    """The page's URL path on this scheduler's dashboard (with the dashboard's prefix)."""
    from bokeh.server.server import BokehTornado

    apps = [a for a in scheduler.http_application.applications if isinstance(a, BokehTornado)]
    return f"{apps[0].prefix if apps else ''}/{PAGE}"
