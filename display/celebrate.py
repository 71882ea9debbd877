"""Celebrations — Schwab's chalk number: a completed challenge stops the wall for a moment.

Completions and new leaders are *banners* that cover the board for ``celebration_seconds`` with a
burst of confetti; a kudos is a *toast* that slides into the header, beside the title, and never
covers the board or a notice. Toasts show one at a time; a few more wait their turn. Banners wait in a
queue and are shown one at a time; a burst (three or more waiting) is coalesced into one
("3 challenges completed!") so the board is never blocked for minutes. While the screen is dark
they are held, and shown as one "while you were away" banner when it comes on (:mod:`display.away`).
Confetti is a pure function of the time since the burst began, so a frame at t = 1.2 s is the same
in every run. With ``animation = "calm"`` there is no confetti or glow: the card fades in where it
stands, and toasts appear in place.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pygame

from display import away
from display.anim import CONFETTI_FPS, PULSE_FPS
from display.stage import RGB, Stage, hex_rgb, mix
from display.widgets import draw_heart, keyed_surface
from feeds.board.build import COLLEAGUE, OTHER_GROUP, Board, group_of, hailed_is, self_thank, sender_name, who_is
from feeds.model import CHALLENGE_COMPLETED, KUDOS, FeedEvent

COALESCE_AT = 3
BIG_KINDS = {"record": "Record broken!", "streak": "Streak!", "race": "Race won!",  # the big moments
             "head_to_head": "Head to head: won!"}
TOAST_SECONDS = 6.0
TOAST_SLIDE = 0.3
APPEAR_SECONDS = 0.35
BURST_SECONDS = 3.0  # confetti has fallen (or the glow settled) by then
MAX_TOASTS = 3  # waiting their turn; older ones give way (the wins scene lists every thanks)
MAX_HELD = 200  # celebrations kept while the screen is dark (the oldest go first)
CONFETTI = 140


@dataclass
class Celebration:
    title: str
    detail: str
    points: float = 0.0
    colour: RGB | None = None
    big: bool = False
    names: list[str] = field(default_factory=list)
    key: str = ""
    kicker: str = ""
    kind: str = ""  # "kudos" (a toast), "leader", "away" (the summary) or the challenge's kind
    rows: list[tuple[str, str, float]] = field(default_factory=list)  # the summary's lines: who, what, points


class Celebrations:
    def __init__(self, stage: Stage, on_banner: Callable[[Celebration], None] | None = None) -> None:
        self.stage = stage
        self.on_banner = on_banner  # e.g. the theme's sound
        self.queue: deque[Celebration] = deque()
        self.current: Celebration | None = None
        self.started = 0.0
        self.toasts: deque[tuple[float, Celebration]] = deque()  # the toast showing, with its start
        self.waiting: deque[Celebration] = deque(maxlen=MAX_TOASTS)
        self._confetti: tuple[str, list[tuple[float, float, float, float, RGB]]] = ("", [])
        self._card_cache: tuple[str, pygame.Surface] = ("", pygame.Surface((1, 1)))
        self._pieces: list[tuple[pygame.Rect, RGB]] = []
        self.dark = False  # the screen is off: what comes is held for the "while you were away" summary
        self.held: deque[tuple[float, Celebration]] = deque(maxlen=MAX_HELD)  # (clock time, celebration)

    def adopt(self, old: Celebrations) -> None:
        """Carry on where ``old`` (on the wall being replaced) was: the banner showing keeps its
        time, the queue, the toasts and what the dark screen holds stay; only the pictures are
        drawn again, in the new look."""
        self.queue, self.current, self.started, self.toasts = old.queue, old.current, old.started, old.toasts
        self.waiting, self.dark, self.held = old.waiting, old.dark, old.held

    # --- the screen's office hours ---------------------------------------------------------
    def hold(self) -> None:
        """The screen goes dark: from now on banners and toasts wait, unseen, for ``welcome_back``."""
        self.dark = True
        self.current = None  # the floor has gone home: what is showing ends with the screen
        self.toasts.clear()
        self._hold_arrivals()  # the toasts still waiting their turn were not seen

    def welcome_back(self, max_age: float) -> tuple[int, int]:
        """The screen is on again: what came while it was dark (no older than ``max_age`` seconds)
        becomes one "while you were away" banner, shown first. (How many were held, how many had
        grown too old.)"""
        self.dark = False
        self._hold_arrivals()
        now = self.stage.clock.now()
        kept = [c for t, c in self.held if now - t <= max_age]
        expired = len(self.held) - len(kept)
        self.held.clear()
        if kept:
            title, rows, names, points = away.summarise(kept)
            self.queue.appendleft(Celebration(title, ", ".join(names), points, self.stage.colour("accent"), big=True,
                                              names=names, key="away:" + "+".join(c.key for c in kept),
                                              kicker="While you were away", kind="away", rows=rows))
        return len(kept), expired

    def _hold_arrivals(self) -> None:
        now = self.stage.clock.now()
        self.held.extend((now, c) for c in self.queue)
        self.held.extend((started, c) for started, c in self.toasts)
        self.held.extend((now, c) for c in self.waiting)
        self.queue.clear()
        self.toasts.clear()
        self.waiting.clear()

    # --- feeding ----------------------------------------------------------------------
    def feed_event(self, event: FeedEvent, board: Board | None) -> None:
        if event.type == CHALLENGE_COMPLETED:
            who = event.data.get("agent") or event.data.get("team")
            name, colour, _ = hailed_is(board, who)
            kind = str(event.data.get("kind", ""))
            self.queue.append(Celebration(name, str(event.data.get("challenge", "")),
                                          float(event.data.get("points") or 0), hex_rgb(colour, self.stage.colour("accent")),
                                          big=kind in BIG_KINDS, names=[name], key=event.id,
                                          kicker=BIG_KINDS.get(kind, "Challenge completed"), kind=kind or "challenge"))
        elif event.type == KUDOS:
            to = event.data.get("to")
            if self_thank(event) or (board is not None and board.find(str(to)) is None):
                return  # a self-thank, or a thank-you to nobody on this wall: nothing to show
            to_name = who_is(board, to)[0]
            sender = sender_name(board, event.data.get("from"))
            self.waiting.append(Celebration(f"{sender or COLLEAGUE.capitalize()} thanked {to_name}",
                                            str(event.data.get("text", "")), key=event.id,
                                            names=[to_name, sender or COLLEAGUE], kind="kudos"))
            self._next_toast(self.stage.clock.now())

    def withdraw(self, key: str) -> bool:
        """A thank-you taken back: its toast leaves the screen if showing, never comes if waiting,
        and is dropped from what a dark screen holds. Whether it was anywhere."""
        before = len(self.toasts) + len(self.waiting) + len(self.held)
        self.toasts = deque((t, c) for t, c in self.toasts if c.key != key)
        self.waiting = deque((c for c in self.waiting if c.key != key), maxlen=MAX_TOASTS)
        self.held = deque(((t, c) for t, c in self.held if c.key != key), maxlen=MAX_HELD)
        gone = before != len(self.toasts) + len(self.waiting) + len(self.held)
        if gone:
            self._next_toast(self.stage.clock.now())
        return gone

    def new_leader(self, agent_id: str, board: Board | None) -> None:
        name, colour, _ = who_is(board, agent_id)
        ranked = board.find(agent_id) if board is not None and board.group_by else None
        group = group_of(ranked.agent, board.group_by) if ranked is not None and board is not None else ""
        # With a board per group there is a leader per group: say which one is theirs.
        line = f"takes the lead in {group.capitalize()}!" if group and group != OTHER_GROUP else "takes the lead!"
        self.queue.append(Celebration(name, line, 0, hex_rgb(colour, self.stage.colour("accent")),
                                      big=True, names=[name], key=f"leader:{agent_id}", kicker="New leader",
                                      kind="leader"))

    # --- running ----------------------------------------------------------------------
    def seconds(self) -> float:
        """How long the current banner stays: a big moment (a record, a streak, a new leader) longer."""
        base = self.stage.display.celebration_seconds
        if self.current is not None and self.current.kind == "away":
            return base * 2.5  # a whole night's news, read by people walking in
        return base * 1.5 if self.current is not None and self.current.big else base

    def update(self) -> None:
        now = self.stage.clock.now()
        if self.dark:
            self._hold_arrivals()  # nobody would see them now: no banner starts, none is logged as shown
            return
        if self.current is not None and now - self.started >= self.seconds():
            self.current = None
        if self.current is None and self.queue:
            self.current = self._next()
            self.started = now
            self._card(self.current)  # here, not in the frame that first shows it along with the shaded board
            if self.on_banner is not None:
                self.on_banner(self.current)
        while self.toasts and now - self.toasts[0][0] >= TOAST_SECONDS:
            self.toasts.popleft()
        self._next_toast(now)

    def _next_toast(self, now: float) -> None:
        if not self.toasts and self.waiting:
            self.toasts.append((now, self.waiting.popleft()))

    def _next(self) -> Celebration:
        if len(self.queue) < COALESCE_AT or self.queue[0].kind == "away":
            return self.queue.popleft()
        burst = list(self.queue)
        self.queue.clear()
        names = [n for c in burst for n in c.names]
        completions = sum(1 for c in burst if not c.key.startswith("leader:"))
        title = f"{completions} challenges completed!" if completions == len(burst) else f"{len(burst)} big moments!"
        shown = ", ".join(dict.fromkeys(names))
        return Celebration(title, shown, sum(c.points for c in burst), self.stage.colour("accent"), big=True,
                           names=names, key="+".join(c.key for c in burst), kicker="Well done!")

    def active(self) -> bool:
        return self.current is not None

    def animating(self) -> bool:
        return self.banner_moving() or self.toasts_moving()

    def frame_rate(self) -> int | None:
        """While ``animating``: the frames a second it needs. The card rising and a toast sliding
        want every frame (None); then the confetti falls at CONFETTI_FPS, a glow pulses at PULSE_FPS."""
        if self.toasts_moving() or self.current is None:
            return None
        t = self.stage.clock.now() - self.started
        if t < APPEAR_SECONDS + 0.05:
            return None
        return CONFETTI_FPS if self._style() == "confetti" else PULSE_FPS

    def _style(self) -> str:
        """The theme's celebration style, or "none" where the motion setting allows no bursts ("calm")."""
        return "none" if self.stage.motion.fades else self.stage.theme.celebration.style

    def toasts_moving(self) -> bool:
        """A toast is sliding in or out (the rest of its life it stands still)."""
        if self.stage.motion.mode == "none" or self.stage.motion.fades:
            return False
        now = self.stage.clock.now()
        return any(now - t < TOAST_SLIDE or now - t > TOAST_SECONDS - TOAST_SLIDE for t, _ in self.toasts)

    def next_change(self) -> float | None:
        now = self.stage.clock.now()
        # The toast's slide-out starts before it ends: the loop must be awake for it.
        times = [t + s for t, _ in self.toasts for s in (TOAST_SECONDS - TOAST_SLIDE, TOAST_SECONDS) if t + s > now]
        if self.current is not None:
            times.append(self.started + self.seconds())
        return min(times) if times else None

    # --- drawing ----------------------------------------------------------------------
    def draw(self, surface: pygame.Surface) -> None:
        """Banner (over a shaded board) and toasts, drawn in full (previews, full frames)."""
        if self.current is not None:
            self.stage.shade(surface)
            self.draw_banner(surface)
        self.draw_toasts(surface)

    def draw_banner(self, surface: pygame.Surface) -> None:
        if self.current is not None:
            self._draw_banner(surface, self.current, self.stage.clock.now() - self.started)

    def _card_size(self) -> tuple[int, int]:
        st = self.stage
        return round(st.w * (0.8 if not st.portrait else 0.9)), round(st.h * (0.46 if not st.portrait else 0.34))

    def _card_rect(self, t: float, item: Celebration | None = None) -> pygame.Rect:
        st = self.stage
        appear = 1.0 if st.motion.mode == "none" or st.motion.fades else min(1.0, t / APPEAR_SECONDS)
        card = pygame.Rect((0, 0), self._card_size())
        if item is not None and item.rows:  # the summary: as tall as its list needs
            card.h = self._card(item).get_height()
        card.center = (st.w // 2, st.h // 2 + round((1 - appear) * st.h * 0.05))
        return card

    def _card(self, item: Celebration) -> pygame.Surface:
        """The banner's card, rendered once per celebration."""
        if self._card_cache[0] == item.key:
            return self._card_cache[1]
        if item.rows:
            width, least = self._card_size()
            most = round(self.stage.h * (0.66 if self.stage.portrait else 0.72))
            self._card_cache = (item.key, away.draw_card(self.stage, item, width, least, most))
            return self._card_cache[1]
        st = self.stage
        sizes = st.theme.sizes
        rect = self._card_rect(APPEAR_SECONDS)
        card = keyed_surface(rect.size)
        box = card.get_rect()
        colour = item.colour or st.colour("accent")
        pygame.draw.rect(card, st.colour("banner"), box, border_radius=box.h // 10)
        pygame.draw.rect(card, colour, box, width=max(4, box.h // 60), border_radius=box.h // 10)
        kicker = item.kicker or "Challenge completed"
        pad = box.h // 10
        top = st.text(kicker.upper(), sizes.small * 1.2, "accent", bold=True)
        card.blit(top, top.get_rect(midtop=(box.centerx, pad)))
        title = st.text_fitted(item.title, sizes.banner_title, "text", box.w - 2 * pad, bold=True)
        card.blit(title, title.get_rect(midtop=(box.centerx, pad + top.get_height() + pad // 3)))
        detail = st.text_fitted(item.detail, sizes.value * 0.9, "text", box.w - 2 * pad)
        card.blit(detail, detail.get_rect(midtop=(box.centerx, pad + top.get_height() + title.get_height() + pad // 2)))
        if item.points:
            pts = st.text(f"+{item.points:g} points", sizes.value * 1.1, "accent", bold=True, numbers=True)
            card.blit(pts, pts.get_rect(midbottom=(box.centerx, box.bottom - pad)))
        self._card_cache = (item.key, card)
        return card

    def banner_moving(self) -> bool:
        """The banner's first seconds: the card rises, confetti flies or the glow pulses. After
        that it stands still until it ends, and costs no frames."""
        if self.current is None or self.stage.motion.mode == "none":
            return False
        t = self.stage.clock.now() - self.started
        return t < (APPEAR_SECONDS if self._style() == "none" else BURST_SECONDS)

    def _draw_banner(self, surface: pygame.Surface, item: Celebration, t: float) -> None:
        st = self.stage
        card = self._card_rect(t, item)
        if self._style() == "confetti" and st.motion.mode != "none":
            self._pieces = self._confetti_rects(item, t, card)
            for rect, colour in self._pieces:  # behind the card: it never crosses the words
                pygame.draw.rect(surface, colour, rect)
        surface.blit(self._faded(self._card(item), t), card)
        if self._style() == "glow" and t < BURST_SECONDS:
            self._glow(surface, item, card, t)

    def draw_banner_partial(self, surface: pygame.Surface, under: pygame.Surface,
                            also: Sequence[pygame.Rect] = ()) -> list[pygame.Rect]:
        """One frame of a standing banner over the still board (``under``): the confetti pieces' old
        and new places, the card while it rises, and the rectangles ``also`` given (the toast's slot,
        when it moved) are laid again from ``under``, with the banner's parts over them."""
        item = self.current
        if item is None:
            return list(also)
        st = self.stage
        t = st.clock.now() - self.started
        card = self._card_rect(t, item)
        old = self._pieces
        pieces = self._confetti_rects(item, t, card) if self._style() == "confetti" and st.motion.mode != "none" \
            else []
        dirty = [*also, *(rect for rect, _ in old), *(rect for rect, _ in pieces)]
        if t < APPEAR_SECONDS + 0.05 or self._style() == "glow":
            dirty.append(card.inflate(card.h // 4, card.h // 2))
        for rect in dirty:
            surface.blit(under, rect, rect)
        self._pieces = pieces
        for rect, colour in pieces:
            pygame.draw.rect(surface, colour, rect)
        card_surface = self._faded(self._card(item), t)
        for rect in dirty:
            overlap = rect.clip(card)
            if overlap:
                surface.blit(card_surface, overlap, overlap.move(-card.x, -card.y))
        if self._style() == "glow" and t < BURST_SECONDS:
            self._glow(surface, item, card, t)
        return dirty

    def _faded(self, card: pygame.Surface, t: float) -> pygame.Surface:
        """The card as it shows ``t`` seconds in: fading in over APPEAR_SECONDS when motion is
        "calm" (where it does not rise), else opaque."""
        card.set_alpha(round(255 * min(1.0, t / APPEAR_SECONDS)) if self.stage.motion.fades else None)
        return card

    def _glow(self, surface: pygame.Surface, item: Celebration, card: pygame.Rect, t: float) -> None:
        grow = round(card.h * 0.06 * (1 + math.sin(t * 5)))
        pygame.draw.rect(surface, item.colour or self.stage.colour("accent"), card.inflate(grow, grow),
                         width=max(3, card.h // 80), border_radius=card.h // 9)

    def _particles(self, item: Celebration) -> list[tuple[float, float, float, float, RGB]]:
        """Each piece's start, velocity, spin and colour: drawn from a seed once per celebration."""
        if self._confetti[0] != item.key:
            st = self.stage
            rng = random.Random(item.key)
            palette = [st.colour("accent"), st.colour("up"), st.colour("down"), item.colour or st.colour("accent"),
                       st.colour("text")]
            self._confetti = (item.key, [(st.w * rng.uniform(0.1, 0.9), st.w * rng.uniform(-0.25, 0.25),
                                          -st.h * rng.uniform(0.6, 1.2), rng.uniform(4, 12), rng.choice(palette))
                                         for _ in range(CONFETTI * (2 if item.big else 1))])
        return self._confetti[1]

    def _confetti_rects(self, item: Celebration, t: float, card: pygame.Rect) -> list[tuple[pygame.Rect, RGB]]:
        """Where each piece that can be seen is at ``t`` seconds: a pure function of
        time, the same in every run. A piece off the screen, or wholly behind the ``card`` (opaque
        but for its rounded corners), is left out: drawing it would change no pixel. (Up to 280
        pieces, 30 times a second: hence the plain locals.)"""
        w, h = self.stage.size
        corner = min(card.w, card.h) // 10 + 1  # the cards' radius is at most a tenth of their shorter side
        wide, tall = card.inflate(-2 * corner, 0).contains, card.inflate(0, -2 * corner).contains
        start, fall = h * 0.75, h * 0.9 * t * t / 2  # the same for every piece (and summed as ever: the same pixels)
        size = max(6, h // 70)
        cos = math.cos
        out = []
        for x0, vx, vy, spin, colour in self._particles(item):
            x = x0 + vx * t
            y = start + vy * t + fall
            if y > h + size or x < -size or x > w + size:
                continue
            rect = pygame.Rect(round(x), round(y), max(2, round(size * abs(cos(spin * t)))), size)
            if not (wide(rect) or tall(rect)):
                out.append((rect, colour))
        return out

    def toast_key(self) -> tuple[str, int] | None:
        """What the toast slot shows: the toast and how far it has slid (None: empty)."""
        if not self.toasts:
            return None
        started, item = self.toasts[0]
        return item.key or item.title, round(self._slide(self.stage.clock.now() - started) * 1000)

    def _slide(self, age: float) -> float:
        """How far in the toast is: 0 above the screen, 1 in place."""
        if self.stage.motion.mode == "none" or self.stage.motion.fades:
            return 1.0
        return max(0.0, min(1.0, age / TOAST_SLIDE, (TOAST_SECONDS - age) / TOAST_SLIDE))

    def draw_toasts(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """The toast showing, in the header beside the title: a heart, who thanked whom (first names
        when the whole names leave no room) and the words, on one line, sliding down into place over
        the header's own text. The slot it covers, or none."""
        if not self.toasts:
            return []
        st = self.stage
        slot = st.header_slot()
        started, item = self.toasts[0]
        size = st.theme.sizes.small
        pad = st.px(size) // 3
        heart = st.px(size)
        room = slot.w - 5 * pad - heart
        words = f"“{item.detail}”" if item.detail else ""
        quote_room = 6 * st.px(size) if words else 0  # enough for a few words of the thanks
        title_text = item.title
        if len(item.names) == 2 and st.fonts.width(title_text, "text", st.px(size), True) > room - quote_room:
            thanked, sender = (name if name == COLLEAGUE or not name.split() else name.split()[0] for name in item.names)
            title_text = f"{sender[:1].upper()}{sender[1:]} thanked {thanked}"
        title = st.text_fitted(title_text, size, "text", room, bold=True)
        room -= title.get_width() + pad
        detail = st.text(words, size, "muted", max_width=room) if words and room > 2 * st.px(size) else None
        h = min(slot.h - pad, title.get_height() + pad)
        box = pygame.Rect(slot.x, 0, 4 * pad + heart + title.get_width() + (pad + detail.get_width() if detail else 0), h)
        box.centery = slot.centery - round((1 - self._slide(st.clock.now() - started)) * slot.bottom)
        clip = surface.get_clip()
        surface.set_clip(slot.clip(clip))
        surface.blit(st.background(), slot, slot)  # the header's own words give way while it shows
        if self.current is not None:
            st.shade(surface, rect=slot)  # under a banner, as dim as the rest of the board
        pygame.draw.rect(surface, mix(st.colour("banner"), st.colour("surface"), 0.3), box, border_radius=h // 2)
        pygame.draw.rect(surface, st.colour("down"), box, width=max(2, pad // 3), border_radius=h // 2)
        draw_heart(surface, (box.x + pad + heart // 2, box.centery), heart // 2, st.colour("down"))
        x = box.x + 2 * pad + heart
        surface.blit(title, title.get_rect(midleft=(x, box.centery)))
        if detail:
            surface.blit(detail, detail.get_rect(midleft=(x + title.get_width() + pad, box.centery)))
        surface.set_clip(clip)
        return [slot]
