"""A self-contained HTML report with inline SVG charts (no plotting library needed).

Used by ``patternlab demo``; the building blocks (:func:`line_chart`, :class:`Report`) take plain
arrays, so the report can be opened offline in any browser.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PALETTE", "Report", "Series", "Span", "line_chart"]

#: Colours of successive series or highlighted spans (matplotlib's ``tab10``).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1000px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 2px 8px; border-bottom: 1px solid #eee; }
th { text-align: left; } .note { color: #666; font-size: 0.9em; } figure { margin: 0.8em 0; }
figcaption { font-size: 0.9em; color: #444; } svg text { font-size: 11px; fill: #444; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; } .grid figure { margin: 0; max-width: 440px; }
"""


@dataclass
class Series:
    """One line of a chart: ``y`` against ``x`` (default: 0, 1, 2, ...)."""

    y: ArrayLike
    x: ArrayLike | None = None
    color: str = PALETTE[0]
    width: float = 1.0
    label: str = ""


@dataclass
class Span:
    """A shaded interval ``[start, stop]`` of the x axis, with an optional label."""

    start: float
    stop: float
    color: str = PALETTE[3]
    label: str = ""
    opacity: float = 0.25


def _envelope(x: NDArray[np.float64], y: NDArray[np.float64],
              columns: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Min/max of ``y`` per pixel column (a faithful picture of a long series in few points)."""
    n = y.shape[0]
    if n <= 2 * columns:
        return x, y
    edges = np.linspace(0, n, columns + 1).astype(np.int64)
    xs, ys = [], []
    for a, b in itertools.pairwise(edges):
        seg = y[a:b]
        finite = np.isfinite(seg)
        if not finite.any():
            continue
        i, j = a + int(np.nanargmin(seg)), a + int(np.nanargmax(seg))
        for k in sorted((i, j)):
            xs.append(x[k])
            ys.append(y[k])
    return np.asarray(xs), np.asarray(ys)


def _ticks(lo: float, hi: float, count: int = 6) -> NDArray[np.float64]:
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return np.asarray([lo])
    raw = span / count
    mag = 10.0 ** np.floor(np.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10)), key=lambda v: abs(np.log(v / raw)))
    return np.arange(np.ceil(lo / step) * step, hi + step * 1e-9, step) + 0.0  # no "-0"


#: Width of a character of the charts' 11-px labels, with a margin (an upper bound for digits and
#: most letters; labels are placed with it so that they never run into each other).
_CHAR_PX = 7.5


def _legend_width(label: str) -> float:
    return 20 + _CHAR_PX * len(label) + 14


def _legend_rows(legend: Sequence[Series], width: float) -> list[list[Series]]:
    rows: list[list[Series]] = []
    used = width + 1.0
    for s in legend:
        w = _legend_width(s.label)
        if used + w > width and (not rows or rows[-1]):
            rows.append([])
            used = 0.0
        rows[-1].append(s)
        used += w
    return rows


def _place_labels(labels: Sequence[tuple[float, str]]) -> list[int]:
    """The row (0: just above the plot, 1: above that, ...) of each span label at pixel ``x``: the
    first row where it does not run into a label placed before it (labels are placed from left
    to right)."""
    ends: list[float] = []            # per row, where its last label ends
    rows = [0] * len(labels)
    for i in sorted(range(len(labels)), key=lambda k: labels[k][0]):
        x, text = labels[i]
        if not text:
            continue
        r = next((r for r, end in enumerate(ends) if x >= end), len(ends))
        if r == len(ends):
            ends.append(0.0)
        ends[r] = x + _CHAR_PX * len(text) + 3
        rows[i] = r
    return rows


def _label_rows(spans: Sequence[Span], xlim: tuple[float, float] | None, series: Sequence[Series],
                plot_width: float) -> int:
    """How many rows of span labels the chart needs above its plot (0 without labels)."""
    if not any(sp.label for sp in spans):
        return 0
    if xlim is not None:
        x0, x1 = xlim
    else:
        xs = [np.arange(np.asarray(s.y).shape[0]) if s.x is None else np.asarray(s.x, dtype=np.float64)
              for s in series]
        allx = np.concatenate(xs) if xs else np.zeros(1)
        x0, x1 = float(allx.min()), float(allx.max())
    x1 = x1 if x1 > x0 else x0 + 1.0
    pos = [((max(sp.start, x0) - x0) / (x1 - x0) * plot_width, sp.label) for sp in spans
           if min(sp.stop, x1) > max(sp.start, x0)]
    return max(_place_labels(pos), default=-1) + 1


def line_chart(series: Sequence[Series], *, width: int = 900, height: int = 160,
               spans: Sequence[Span] = (), xlabel: str = "", ylabel: str = "",
               xlim: tuple[float, float] | None = None, ylim: tuple[float, float] | None = None,
               title: str = "") -> str:
    """An SVG line chart of one or more series, with shaded spans; long series are reduced to
    their min/max envelope per pixel column.

    Parameters
    ----------
    series : sequence of Series
        The lines. Non-finite values break a line.
    width, height : int
        Size in pixels; the legend (a row of entries per ``width``, for the series with a label)
        and the span labels (stacked in rows where they would run into each other) are added
        above the plot, so that they never cover it.
    spans : sequence of Span
        Intervals of the x axis to shade (drawn under the lines).
    xlabel, ylabel, title : str
        Axis labels and a title (inside the chart).
    xlim, ylim : (float, float), optional
        Axis limits; by default the data's range.

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> import numpy as np
    >>> svg = line_chart([Series(np.sin(np.linspace(0, 6, 50)))], width=200, height=60)
    >>> svg.startswith("<svg") and "polyline" in svg
    True
    """
    legend = [s for s in series if s.label]
    # the legend sits above the plot, in rows of entries: it never covers a line
    legend_rows = _legend_rows(legend, width - 54)
    left, right, bottom = 46, 8, 30 if xlabel else 18
    label_rows = _label_rows(spans, xlim, series, width - left - right)
    extra = 14 * len(legend_rows) + 12 * label_rows   # added above the plot, which keeps its height
    top = (18 if title else 8) + extra
    height += extra
    pw, ph = width - left - right, height - top - bottom
    data = []
    for s in series:
        y = np.asarray(s.y, dtype=np.float64)
        x = np.arange(y.shape[0], dtype=np.float64) if s.x is None else np.asarray(s.x, dtype=np.float64)
        data.append((x, y, s))
    all_x = np.concatenate([d[0] for d in data]) if data else np.zeros(1)
    finite_y = np.concatenate([d[1][np.isfinite(d[1])] for d in data]) if data else np.zeros(1)
    x0, x1 = xlim if xlim is not None else (float(all_x.min()), float(all_x.max()))
    if ylim is not None:
        y0, y1 = ylim
    elif finite_y.size:
        y0, y1 = float(finite_y.min()), float(finite_y.max())
        pad = 0.05 * (y1 - y0 or 1.0)
        y0, y1 = y0 - pad, y1 + pad
    else:
        y0, y1 = 0.0, 1.0
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 1.0

    def px(v: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        return left + (np.asarray(v) - x0) / (x1 - x0) * pw  # type: ignore[no-any-return]

    def py(v: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        return top + ph - (np.clip(np.asarray(v), y0, y1) - y0) / (y1 - y0) * ph  # type: ignore[no-any-return]

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}'>",
           f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='white' stroke='#ccc'/>"]
    if title:
        out.append(f"<text x='{left}' y='{13}'>{html.escape(title)}</text>")
    y_legend = (18 if title else 8) + 10
    for r, entries in enumerate(legend_rows):
        lx = float(left)
        for entry in entries:
            yy = y_legend + 14 * r
            out.append(f"<line x1='{lx:.0f}' x2='{lx + 16:.0f}' y1='{yy - 4}' y2='{yy - 4}' "
                       f"stroke='{entry.color}' stroke-width='2'/><text x='{lx + 20:.0f}' y='{yy}'>"
                       f"{html.escape(entry.label)}</text>")
            lx += _legend_width(entry.label)
    kept = [sp for sp in spans if min(sp.stop, x1) > max(sp.start, x0)]
    placed = _place_labels([(float(px(max(sp.start, x0))), sp.label) for sp in kept])
    for sp, row in zip(kept, placed):
        a, b = max(sp.start, x0), min(sp.stop, x1)
        xa, xb = float(px(a)), float(px(b))
        out.append(f"<rect x='{xa:.1f}' y='{top}' width='{max(xb - xa, 1.0):.1f}' height='{ph}' "
                   f"fill='{sp.color}' fill-opacity='{sp.opacity}'>"
                   f"<title>{html.escape(sp.label)}</title></rect>")
        if sp.label:  # above the plot, stacked where labels would run into each other
            out.append(f"<text x='{xa:.1f}' y='{top - 3 - 12 * row}' style='fill:{sp.color}' "
                       f"class='span-label'>{html.escape(sp.label)}</text>")
    for t in _ticks(x0, x1):
        out.append(f"<text x='{float(px(t)):.1f}' y='{top + ph + 13}' text-anchor='middle'>{t:g}</text>")
    for t in _ticks(y0, y1, 4):
        out.append(f"<text x='{left - 4}' y='{float(py(t)) + 4:.1f}' text-anchor='end'>{t:g}</text>")
    if xlabel:
        out.append(f"<text x='{left + pw / 2:.0f}' y='{height - 3}' text-anchor='middle'>"
                   f"{html.escape(xlabel)}</text>")
    if ylabel:
        out.append(f"<text x='10' y='{top + ph / 2:.0f}' text-anchor='middle' "
                   f"transform='rotate(-90 10 {top + ph / 2:.0f})'>{html.escape(ylabel)}</text>")
    for x, y, s in data:
        keep = (x >= x0) & (x <= x1)
        x, y = x[keep], y[keep]
        ex, ey = _envelope(x, y, pw)
        finite = np.isfinite(ey)
        # split into runs of finite values
        breaks = np.flatnonzero(np.diff(finite.astype(np.int8)) != 0) + 1
        for run_x, run_y, ok in zip(np.split(ex, breaks), np.split(ey, breaks), np.split(finite, breaks)):
            if run_x.size < 2 or not ok[0]:
                continue
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(run_x), py(run_y)))  # type: ignore[arg-type]
            out.append(f"<polyline fill='none' stroke='{s.color}' stroke-width='{s.width}' "
                       f"points='{pts}'><title>{html.escape(s.label)}</title></polyline>")
    out.append("</svg>")
    return "".join(out)


@dataclass
class Report:
    """An HTML page built section by section; :meth:`write` saves it as one self-contained file."""

    title: str
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> Report:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def text(self, text: str, *, note: bool = False) -> Report:
        cls = " class='note'" if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def html(self, fragment: str) -> Report:
        """Add trusted HTML (e.g. a chart or a library's HTML view)."""
        self.parts.append(fragment)
        return self

    def figure(self, svg: str, caption: str = "") -> Report:
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f"<figure>{svg}{cap}</figure>")
        return self

    def grid(self, figures: Sequence[tuple[str, str]]) -> Report:
        """Figures side by side: ``(svg, caption)`` pairs."""
        cells = "".join(f"<figure>{svg}<figcaption>{html.escape(cap)}</figcaption></figure>"
                        for svg, cap in figures)
        self.parts.append(f"<div class='grid'>{cells}</div>")
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Report:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def render(self) -> str:
        return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>{''.join(self.parts)}</body></html>")

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
