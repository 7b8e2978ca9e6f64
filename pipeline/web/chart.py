"""The overview's chart: applications per recommender, by status, as SVG bars drawn on the server (no
script, no library: the page's policy allows none inline, and the office intranet reaches no CDN)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Status
from ..round.stats import RecommenderLine

ROW = 26            # px per recommender
LABEL = 300         # px for the recommender's name
SCALE_WIDTH = 420   # px for the longest bar
COLOURS = {Status.ACCEPTED: "ok", Status.NEEDS_REVIEW: "check", Status.REJECTED: "no"}


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    css: str
    count: int
    status: str


@dataclass(frozen=True)
class ChartRow:
    y: int
    name: str
    total: int
    bars: tuple[Bar, ...]
    quota: str


@dataclass(frozen=True)
class Chart:
    rows: tuple[ChartRow, ...]
    width: int
    height: int
    label_width: int
    legend: tuple[tuple[str, str], ...]


def chart(lines: Sequence[RecommenderLine]) -> Chart:
    most = max((line.total for line in lines), default=0) or 1
    unit = SCALE_WIDTH / most
    rows = []
    for i, line in enumerate(lines):
        x = float(LABEL)
        bars = []
        for status in (Status.ACCEPTED, Status.NEEDS_REVIEW, Status.REJECTED):
            n = line.statuses.get(status, 0)
            if n:
                bars.append(Bar(x, n * unit, COLOURS[status], n, status.label))
                x += n * unit
        rows.append(ChartRow(i * ROW + 8, line.name, line.total, tuple(bars), line.quota))
    return Chart(tuple(rows), LABEL + SCALE_WIDTH + 60, len(rows) * ROW + 16, LABEL,
                 tuple((COLOURS[s], s.label) for s in (Status.ACCEPTED, Status.NEEDS_REVIEW, Status.REJECTED)))
