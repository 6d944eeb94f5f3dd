"""The markup of `singan report`'s pages, as pure functions of plain values: escaped text, PNGs as data: URIs,
tables, line charts drawn as inline SVG, and the page around them (its CSS inline). Nothing here reads or
writes a file or imports torch; `singan.api.report` gathers what the pages show.

Every string from outside (a file name, a run's record, an error message) goes through `esc`. A page loads
nothing: its Content-Security-Policy allows images from data: URIs and its inline style only.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import singan

# Marks a page as ours: `--out` overwrites an existing file only if it carries this.
GENERATOR_MARK = '<meta name="generator" content="singan report">'
# Distinct on white and for the common colour-vision deficiencies (Okabe and Ito's palette).
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
# A chart draws at most this many points a series (a long log is thinned evenly, keeping its last point).
MOST_POINTS = 600


@dataclass(frozen=True)
class Picture:
    """A PNG to show, with its size in pixels."""

    png: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Series:
    """One line of a chart: its name and its (x, y) points."""

    name: str
    points: Sequence[tuple[float, float]]


def esc(value: object) -> str:
    """Any value as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def picture(image: Picture, alt: str, css_class: str = "pic", caption: str | None = None,
            least_width: int = 0) -> str:
    """An <img> of the PNG as a data: URI (in a <figure> when it has a caption), shown enlarged a whole number of
    times to at least `least_width` pixels wide."""
    uri = "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")
    zoom = max(1, least_width // max(1, image.width))
    tag = (f'<img class="{esc(css_class)}" src="{uri}" width="{image.width * zoom}" height="{image.height * zoom}" '
           f'alt="{esc(alt)}" title="{esc(alt)} ({image.width}x{image.height} px)">')
    if caption is None:
        return tag
    return f'<figure>{tag}<figcaption>{esc(caption)}</figcaption></figure>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], css_class: str = "data",
          row_classes: Sequence[str] | None = None) -> str:
    """A table; headers are text (escaped here), cells are markup (escape them with `esc`)."""
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = []
    for index, row in enumerate(rows):
        extra = f' class="{esc(row_classes[index])}"' if row_classes else ""
        body.append(f"<tr{extra}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return f'<table class="{esc(css_class)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    """A definition list of name: value (both escaped); pairs whose value is None are left out."""
    items = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in pairs if value is not None)
    return f'<dl class="facts">{items}</dl>'


def badge(text: str, tone: str) -> str:
    """A status label; `tone` is good, warn, bad or dim."""
    return f'<span class="badge {esc(tone)}">{esc(text)}</span>'


def section(title: str, body: str, css_class: str = "") -> str:
    extra = f' class="{esc(css_class)}"' if css_class else ""
    return f"<section{extra}><h2>{esc(title)}</h2>{body}</section>"


def note(text: str, tone: str = "dim") -> str:
    return f'<p class="note {esc(tone)}">{esc(text)}</p>'


def number(value: object, digits: int = 4) -> str:
    """A figure for a page: `digits` significant digits, or the value as it is when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str,
               width: int = 440, height: int = 230) -> str:
    """A line chart as an inline <svg class="chart"> with labelled axes and ticks, and its legend below; series
    without a finite point are left out, and a chart with none is a note."""
    lines = [Series(line.name, _thinned([(x, y) for x, y in line.points if _finite(x) and _finite(y)]))
             for line in series]
    lines = [line for line in lines if line.points]
    if not lines:
        return note(f"{title}: nothing logged")
    left, right, top, bottom = 58, 24, 24, 40
    xs = [x for line in lines for x, _ in line.points]
    ys = [y for line in lines for _, y in line.points]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x_range, y_range = (x_ticks[0], x_ticks[-1]), (y_ticks[0], y_ticks[-1])
    plot_width, plot_height = width - left - right, height - top - bottom

    def at_x(x: float) -> float:
        return left + (x - x_range[0]) / (x_range[1] - x_range[0]) * plot_width

    def at_y(y: float) -> float:
        return top + plot_height - (y - y_range[0]) / (y_range[1] - y_range[0]) * plot_height

    parts = [f'<svg class="chart" role="img" aria-label="{esc(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{esc(title)}</title>',
             f'<text class="chart-title" x="{left}" y="15">{esc(title)}</text>']
    for tick in y_ticks:
        y = at_y(tick)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 5}" y="{y + 3.5:.1f}" text-anchor="end">{tick_label(tick)}</text>')
    for tick in x_ticks:
        x = at_x(tick)
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_height}"/>'
                     f'<text class="tick" x="{x:.1f}" y="{top + plot_height + 14}" text-anchor="middle">'
                     f'{tick_label(tick)}</text>')
    parts.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_width}" height="{plot_height}"/>')
    for index, line in enumerate(lines):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{at_x(x):.1f},{at_y(y):.1f}" for x, y in line.points)
        if len(line.points) == 1:
            x, y = line.points[0]
            parts.append(f'<circle cx="{at_x(x):.1f}" cy="{at_y(y):.1f}" r="3" fill="{colour}">'
                         f'<title>{esc(line.name)}</title></circle>')
        else:
            parts.append(f'<polyline class="series" fill="none" stroke="{colour}" points="{points}">'
                         f'<title>{esc(line.name)}</title></polyline>')
    parts.append(f'<text class="axis" x="{left + plot_width / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                 f'{esc(x_label)}</text>')
    parts.append(f'<text class="axis" transform="translate(13 {top + plot_height / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{esc(y_label)}</text></svg>')
    legend = "".join(f'<span class="key"><span class="swatch" style="background:{COLOURS[index % len(COLOURS)]}">'
                     f'</span>{esc(line.name)}</span>' for index, line in enumerate(lines))
    return f'<figure class="chart">{"".join(parts)}<figcaption class="legend">{legend}</figcaption></figure>'


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) covering low..high."""
    if not high > low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(multiple * power for multiple in (1, 2, 5, 10) if multiple * power >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [round(index * step, 12) for index in range(first, last + 1)]


def tick_label(value: float) -> str:
    """2000 as 2000 (not 2e+03), 0.25 as 0.25, tiny and huge values in exponent form."""
    if value == int(value) and abs(value) < 1e7:
        return str(int(value))
    return esc(f"{value:.3g}")


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _thinned(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MOST_POINTS:
        return points
    step = len(points) / MOST_POINTS
    return [points[int(index * step)] for index in range(MOST_POINTS - 1)] + [points[-1]]


def page(title: str, kind: str, status: str, body: str) -> str:
    """The whole document: `status` and `body` are markup."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{GENERATOR_MARK}\n'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            f'style-src \'unsafe-inline\'">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="icon" href="data:,">\n<title>{esc(title)} - singan report</title>\n'
            f'<style>{STYLE}</style>\n</head>\n<body>\n<header><p class="kind">{esc(kind)}</p>'
            f'<h1>{esc(title)}</h1>{status}</header>\n<main>\n{body}\n</main>\n'
            f'<footer>Written by singan {esc(singan.__version__)} (singan report)</footer>\n</body>\n</html>\n')


STYLE = """
:root { color-scheme: light; --ink: #1d2430; --dim: #5b6575; --line: #d8dde5; --card: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #fff; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; border-bottom: 1px solid var(--line); padding-bottom: 10px; }
h1 { font-size: 22px; margin: 2px 0 6px; word-break: break-all; }
h2 { font-size: 17px; margin: 22px 0 8px; }
h3 { font-size: 14px; margin: 0 0 6px; }
.kind { margin: 0; color: var(--dim); text-transform: uppercase; letter-spacing: .06em; font-size: 11px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         margin-right: 6px; }
.badge.good { background: #dff3e4; color: #17612e; } .badge.warn { background: #fff1cc; color: #7a5200; }
.badge.bad { background: #fde0dc; color: #a0241a; } .badge.dim { background: #e9ecf0; color: var(--dim); }
.note { color: var(--dim); margin: 6px 0; } .note.warn { color: #7a5200; } .note.bad { color: #a0241a; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: var(--dim); } dl.facts dd { margin: 0; word-break: break-all; }
table.data { border-collapse: collapse; margin: 6px 0; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left;
                               vertical-align: middle; }
table.data th { color: var(--dim); font-weight: 600; }
img.pic, img.thumb { image-rendering: pixelated; background: #eee; display: block; }
figure { margin: 0; } figcaption { color: var(--dim); font-size: 12px; }
.scales { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.scale { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.scale.untrained { opacity: .75; border-style: dashed; }
.scale .line { color: var(--dim); margin: 0 0 6px; }
.triple { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin-bottom: 6px; }
.triple img.pic { width: 100%; height: auto; }
.strip { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 8px; }
.strip img.pic { width: 100%; height: auto; }
.snapshots { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px; }
.snapshots img.pic { width: 100%; height: auto; }
.snapshots figure { border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: var(--card); }
.wide img.pic { max-width: 100%; height: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 10px; }
svg.chart .grid { stroke: #e6e9ee; } svg.chart .frame { fill: none; stroke: #aab2bf; }
svg.chart .series { stroke-width: 1.6; stroke-linejoin: round; }
svg.chart .tick { fill: var(--dim); } svg.chart .axis { fill: var(--ink); font-size: 11px; }
svg.chart .chart-title { fill: var(--ink); font-weight: 600; font-size: 12px; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; padding-left: 58px; }
.key { white-space: nowrap; } .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
                                        border-radius: 2px; vertical-align: -1px; }
table.index img.thumb { width: 96px; height: auto; }
table.index td.error { color: #a0241a; max-width: 340px; word-break: break-word; }
a { color: #0b5cad; }
footer { color: var(--dim); font-size: 12px; padding-top: 20px; padding-bottom: 24px; }
"""
