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

from ._monitor import PLUGIN_NAME, PatternlabMonitor

__all__ = ["PAGE", "TOP_PATTERNS", "add_page", "patternlab_doc"]

logger = logging.getLogger(__name__)

#: Path of the page, relative to the dashboard's prefix.
PAGE = "patternlab"
#: Top patterns drawn (the run event carries at most this many prototypes).
TOP_PATTERNS = 8
_RATE_WINDOW = 10.0      # seconds averaged by the signals/second line
_RATE_SPAN = 900.0       # seconds of history the signals/second line shows
_MAX_POINTS = 5000       # points of the patterns line sent to the browser


def update_interval_ms() -> int:
    """The page's refresh interval: ``patternlab.dashboard.interval`` in Dask's config
    (``DASK_PATTERNLAB__DASHBOARD__INTERVAL``), default ``"1s"``."""
    import dask.config
    from dask.utils import parse_timedelta

    value = dask.config.get("patternlab.dashboard.interval", default="1s")
    return max(50, int(1000 * float(parse_timedelta(value, default="s") or 1.0)))


def rate_series(completions: Sequence[tuple[float, int]], now: float, span: float = _RATE_SPAN,
                window: float = _RATE_WINDOW, step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Signals per second on a grid of ``step`` seconds ending at ``now``: at each time ``t``
    the signals of the partitions finished in ``(t - window, t]``, divided by ``window``.

    Returns times (seconds since the epoch) and rates; empty before the first partition.
    """
    cutoff = now - span - window        # older completions cannot reach the grid
    recent = list(itertools.takewhile(lambda c: c[0] > cutoff, reversed(completions)))[::-1]
    data = np.asarray(recent, dtype=np.float64).reshape(-1, 2)
    if not len(data):
        return np.empty(0), np.empty(0)
    start = max(data[0, 0] - window, now - span)
    grid = np.arange(now, start - step, -step)[::-1]
    cum = np.concatenate([[0.0], np.cumsum(data[:, 1])])
    hi = np.searchsorted(data[:, 0], grid, side="right")
    lo = np.searchsorted(data[:, 0], grid - window, side="right")
    return grid, (cum[hi] - cum[lo]) / window


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
        self.patterns.legend.location = "top_left"
        self.patterns.yaxis.axis_label = "patterns"

        self.rate_source = ColumnDataSource({"time": [], "rate": []}, name="patternlab-rate")
        self.rate = figure(title=f"Signals per second ({_RATE_WINDOW:g} s average)",
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
                          legend_label="tasks queued or running")
        self.workers.add_tools(HoverTool(tooltips=[("worker", "@worker"), ("processed", "@processed"),
                                                   ("queued", "@queued")]))
        self.workers.legend.location = "bottom_right"

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

        self.root = column(self.summary, row(self.patterns, self.rate, sizing_mode="stretch_width"),
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
        t, rate = rate_series(m.completions, now)
        self.rate_source.data = {"time": t * 1000.0, "rate": rate}
        queued = m.queued_by_worker()
        names = sorted(set(queued) | set(m.processed_by_worker))
        workers = {"worker": names, "processed": [m.processed_by_worker.get(w, 0) for w in names],
                   "queued": [queued.get(w, 0) for w in names]}
        if workers != dict(self.workers_source.data):
            if list(self.workers.y_range.factors) != names:  # type: ignore[attr-defined]
                self.workers.y_range.factors = names  # type: ignore[attr-defined]
            self.workers_source.data = workers
        snap = m.snapshot()
        self.summary.text = _summary_html(snap)
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


def _summary_html(s: dict[str, Any]) -> str:
    items = [("workers", f"{s['workers']} ({s['threads']} threads)"),
             ("tasks processed", f"{s['tasks_processed']:,}"),
             ("signals", f"{s['signals']:,}"),
             ("patterns discovered", f"{s['patterns_discovered']:,}"),
             ("batches", f"{s['runs']:,}"),
             ("throughput", f"{s['throughput_per_sec']:,.1f} signals/s"),
             ("now", f"{s['recent_signals_per_sec']:,.1f} signals/s"),
             ("queue depth", f"{s['queue_depth']:,}")]
    c = s.get("candidates", {})
    if c.get("seen"):
        items.append(("last batch's candidates", f"{c['seen']:,} seen, {c['pooled']:,} pooled, "
                      f"{c['promoted']:,} promoted, {c['aged_out']:,} aged out"))
    cells = "".join(f"<span style='margin-right:2em'><b>{html.escape(k)}</b>: {html.escape(v)}</span>"
                    for k, v in items)
    return f"<div style='font-size:11pt;padding:4px 0' id='patternlab-summary'>{cells}</div>"


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
