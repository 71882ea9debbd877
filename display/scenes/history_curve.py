"""The history scene's chart: today's curve by hour against yesterday's, on one labelled grid.

Today is the thick accent line ending in a dot at now, yesterday the thin muted one; the value
axis has three labelled grid lines and the time axis as many hour labels as fit without touching.
A day with too little to draw a line says so in the chart's own space.
"""

from __future__ import annotations

import math

import pygame

from display.stage import Stage
from display.widgets import format_value

Curve = tuple[tuple[int, float], ...]  # (minute since midnight, value)
MIN_HOURS = 8


def nice_step(top: float, lines: int = 3) -> float:
    """A round grid step (1, 2 or 5 × 10^n) so that ``lines`` steps reach at least ``top``."""
    raw = max(top, 1e-9) / lines
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def span(today: Curve, before: Curve) -> tuple[int, int]:
    """The hours the chart covers: from the first sampled hour of either day to the last (or now)."""
    starts = [c[0][0] for c in (today, before) if c]
    ends = [today[-1][0]] if today else []
    if before:  # yesterday's final stands at midnight; its curve ends with its last sample
        ends.append(before[-2][0] if len(before) > 1 and before[-1][0] >= 24 * 60 else before[-1][0])
    start = min(starts) // 60 * 60 if starts else 8 * 60
    end = -(-max(ends + [start + 60]) // 60) * 60
    if end - start < MIN_HOURS * 60:  # a day just begun: room for the hours ahead, not a zoom on minutes
        end = min(24 * 60, start + MIN_HOURS * 60)
        start = min(start, end - MIN_HOURS * 60)
    return start, min(24 * 60, end)


def draw_curves(surface: pygame.Surface, stage: Stage, rect: pygame.Rect, metric: str, today: Curve,
                before: Curve) -> None:
    st = stage
    small = st.theme.sizes.small
    title = st.text("Today by hour", small, "muted", bold=True)
    # The legend: what each line is, right-aligned on the title's line; when both do not fit, the
    # legend alone (with the hours below, it still says what the chart is).
    label_h = title.get_height()
    keys = [(st.text(name, small, colour), colour, width) for name, colour, width in
            (("yesterday", "muted", 3), ("today", "accent", 6)) if before or name == "today"]
    legend_w = sum(label.get_width() + label_h * 7 // 4 for label, _, _ in keys)
    if title.get_width() + label_h + legend_w <= rect.w:
        surface.blit(title, (rect.x, rect.y))
    legend_y = rect.y
    x = rect.right
    for label, colour, width in keys:
        x -= label.get_width()
        surface.blit(label, (x, legend_y))
        x -= label_h // 4
        pygame.draw.line(surface, st.colour(colour), (x - label_h, legend_y + label_h // 2),
                         (x, legend_y + label_h // 2), width)
        x -= label_h + label_h // 2
    start, end = span(today, before)
    values = [v for m, v in today + before if start <= m <= end] or [0.0]
    plot_y = legend_y + label_h * 3 // 2
    height = rect.bottom - label_h * 3 // 2 - 2 - plot_y  # the hour labels go below the "0"
    lines = max(1, min(3, height // (label_h * 5 // 4)))  # as many labelled grid lines as fit apart
    if height < label_h * 2:
        return
    step = nice_step(max(values), lines)
    top = step * lines
    sample = st.text(format_value(top, metric, st.board), small, "muted", numbers=True)
    plot = pygame.Rect(rect.x + sample.get_width() + label_h // 3, plot_y, 0, height)
    plot.w = rect.right - plot.x - label_h // 2
    if plot.w < label_h * 4:
        return

    def at(minute: float, value: float) -> tuple[int, int]:
        return (round(plot.x + plot.w * (minute - start) / (end - start)),
                round(plot.bottom - plot.h * max(0.0, value) / top))

    for i in range(lines + 1):  # grid lines at 0 and each step, each labelled
        y = at(start, step * i)[1]
        pygame.draw.line(surface, st.colour("surface"), (plot.x, y), (plot.right, y), 2)
        label = st.text(format_value(step * i, metric, st.board), small, "muted", numbers=True)
        surface.blit(label, label.get_rect(midright=(plot.x - label_h // 4, y)))
    hours = (end - start) // 60
    widest = st.fonts.width("88", "numbers", st.px(small)) + label_h
    every = next(n for n in (1, 2, 3, 4, 6, 12, 24) if plot.w * n / max(1, hours) >= widest)
    for h in range(start // 60, end // 60 + 1):
        if (h - start // 60) % every:
            continue
        label = st.text(f"{h % 24:02d}", small, "muted", numbers=True)
        x = at(h * 60, 0)[0]
        rect_label = label.get_rect(midtop=(x, plot.bottom + label_h // 2 + 1))
        rect_label.clamp_ip(pygame.Rect(rect.x, rect_label.y, rect.w, rect_label.h))
        surface.blit(label, rect_label)
    for curve, colour, width in ((before, "muted", 3), (today, "accent", 6)):
        points = [at(m, v) for m, v in curve if start <= m <= end]
        if len(points) > 1:
            pygame.draw.lines(surface, st.colour(colour), False, points, width)
    if today:
        now = at(*today[-1])
        pygame.draw.circle(surface, st.colour("accent"), now, 9)
    if len(today) < 2 and not before:
        note = st.text_fitted("the curve fills in hour by hour", small, "muted", plot.w - label_h)
        surface.blit(note, note.get_rect(center=(plot.centerx, plot.y + plot.h // 3)))
