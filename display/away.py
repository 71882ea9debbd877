"""The "while you were away" summary: what the floor missed while the screen was dark, in one banner.

Outside office hours nobody sees a banner, so :class:`~display.celebrate.Celebrations` holds them;
when the screen comes back on, this module turns what it held into one summary — the count of each
kind in the title, then the news itself, line by line (as many as fit, then "and 3 more"), and the
points earned in all — and draws its card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pygame

from display.stage import Stage, mix

if TYPE_CHECKING:  # celebrate imports this module
    from display.celebrate import Celebration

Row = tuple[str, str, float]  # who, what, points


def summarise(held: Sequence[Celebration]) -> tuple[str, list[Row], list[str], float]:
    """The summary's title, its lines, the names in it and the points earned in all: the latest new
    leader first (earlier ones were overtaken), then the big moments, the other completions, the thanks."""
    leaders = [c for c in held if c.kind == "leader"][-1:]
    completions = [c for c in held if c.kind not in ("leader", "kudos")]
    thanks = [c for c in held if c.kind == "kudos"]
    counts = [(len(completions), "challenge completed", "challenges completed"),
              (len(thanks), "thank-you", "thank-yous"), (len(leaders), "new leader", "new leaders")]
    title = " · ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts if n)
    rows: list[Row] = [(c.title, "took the lead", 0.0) for c in leaders]
    rows += [(c.title, f"{c.kicker.rstrip('!')}: {c.detail}", c.points) for c in completions if c.big]
    rows += [(c.title, c.detail, c.points) for c in completions if not c.big]
    rows += [(c.names[0], f"thanked by {c.names[-1]}" + (f": “{c.detail}”" if c.detail else ""), 0.0)
             for c in thanks]  # a toast's names: the one thanked, then the sender
    names = list(dict.fromkeys(n for c in held for n in c.names[:1]))
    return title, rows, names, sum(c.points for c in completions)


def draw_card(st: Stage, item: Celebration, width: int, least: int, most: int) -> pygame.Surface:
    """The summary's card, ``width`` wide and as tall as its list needs (``least`` to ``most``): the
    kicker, the title (over two lines if need be), the list, the total. Wide screens put who, what
    and the points on one line; a portrait one puts what below."""
    sizes = st.theme.sizes
    pad = min(width, least) // 11
    inner = width - 2 * pad
    centre_x = width // 2
    parts: list[tuple[pygame.Surface, pygame.Rect]] = []  # laid out first, drawn once the height is known
    top = st.text(item.kicker.upper(), sizes.small * 1.2, "accent", bold=True)
    parts.append((top, top.get_rect(midtop=(centre_x, pad))))
    y = pad + top.get_height() + pad // 4
    title_size = sizes.banner_title * (0.55 if st.portrait else 0.62)
    for line in _wrapped(st, item.title.split(" · "), title_size, inner):
        title = st.text_fitted(line, title_size, "text", inner, bold=True)
        parts.append((title, title.get_rect(midtop=(centre_x, y))))
        y += title.get_height()
    y += pad // 2
    rule = y
    footer = st.text(f"+{item.points:g} points in all", sizes.value, "accent", bold=True,
                     numbers=True) if item.points else None
    footer_h = footer.get_height() + pad // 3 if footer else 0
    stacked = st.portrait
    one_line = round(st.px(sizes.row) * 1.55)  # also the "and 3 more" line
    line_h = one_line + (round(st.px(sizes.small) * 1.2) if stacked else 0)
    room = most - pad - footer_h - y - pad // 3
    rows = item.rows if len(item.rows) <= room // line_h else item.rows[:max(1, (room - one_line) // line_h)]
    names_w = inner if stacked else min(round(inner * 0.34), max(
        (st.fonts.width(who, "text", st.px(sizes.row), True) for who, _, _ in rows), default=0))
    y += pad // 3
    for who, what, points in rows:
        centre = y + one_line // 2
        tail = st.text(f"+{points:g}", sizes.row, "accent", bold=True, numbers=True) if points else None
        edge = width - pad - (tail.get_width() + pad // 2 if tail else 0)
        name = st.text(who, sizes.row, "text", bold=True, max_width=min(names_w, edge - pad))
        parts.append((name, name.get_rect(midleft=(pad, centre))))
        if tail:
            parts.append((tail, tail.get_rect(midright=(width - pad, centre))))
        if stacked and what:
            detail = st.text(what, sizes.small, "muted", max_width=inner)
            parts.append((detail, detail.get_rect(topleft=(pad, centre + name.get_height() // 2))))
        elif what and edge - (pad + names_w + pad // 2) > pad:
            x = pad + names_w + pad // 2
            detail = st.text(what, sizes.row * 0.85, "muted", max_width=edge - x)
            parts.append((detail, detail.get_rect(midleft=(x, centre))))
        y += line_h
    if len(rows) < len(item.rows):
        more = st.text(f"and {len(item.rows) - len(rows)} more", sizes.row * 0.85, "muted")
        parts.append((more, more.get_rect(midleft=(pad, y + one_line // 2 + (pad // 4 if stacked else 0)))))
        y += one_line
    if footer:
        parts.append((footer, footer.get_rect(midtop=(centre_x, y + pad // 3))))
    used = y + pad // 3 + footer_h + pad
    height = max(least, min(most, used))
    shift = max(0, height - used) // 2  # a short list sits in the middle of the card, not at its top
    card = pygame.Surface((width, height), pygame.SRCALPHA)
    box = card.get_rect()
    radius = min(box.w, box.h) // 10
    pygame.draw.rect(card, st.colour("banner"), box, border_radius=radius)
    pygame.draw.rect(card, item.colour or st.colour("accent"), box, width=max(4, box.h // 90), border_radius=radius)
    rule += shift
    pygame.draw.line(card, mix(st.colour("banner"), st.colour("muted"), 0.5), (pad, rule), (width - pad, rule), 2)
    for surface, rect in parts:
        card.blit(surface, rect.move(0, shift))
    return card


def _wrapped(st: Stage, parts: list[str], size: float, width: int) -> list[str]:
    """``parts`` joined with " · " into as few lines as fit ``width``."""
    lines: list[str] = []
    px = st.px(size)
    for part in parts:
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and st.fonts.width(joined, "text", px, True) <= width:
            lines[-1] = joined
        else:
            lines.append(part)
    return lines
