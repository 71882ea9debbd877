"""The Thanks page (``/thanks``): thank a colleague, publicly (a toast on the wall) or quietly, and
undo it within ten minutes.

Each form carries a one-time key besides the CSRF token, so the same form posted twice (a double
tap, a resent POST) is one thank-you, paid once. After a post the page redirects (303) to itself,
so reloading it sends nothing again. The daily limit is ``[points] kudos_per_sender_per_day``,
counted with the feed's kudos in the ledger; admins signed in by password are nobody to thank from.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from feeds.game.thanks import TEXT_MAX, UNDO_SECONDS, Refused, Thank, ThanksStore
from feeds.logs import LOGGER
from feeds.web.app import Site, Who, as_id, checked_form, page
from feeds.web.floor import Floor

log = logging.getLogger(LOGGER + ".web")


def now_of(site: Site) -> datetime:
    return datetime.fromtimestamp(site.clock(), timezone.utc)


def thanks_routes(site: Site, store: ThanksStore, floor: Floor) -> list[Route]:
    points = site.config.points

    def view(request: Request, who: Who, status: int = 200, **extra: Any) -> HTMLResponse:
        now = now_of(site)
        day = floor.day(now)
        names = floor.names()
        given = store.given_by(who.id, 10)
        used = store.used_today(who.id, day)
        limit = points.kudos_per_sender_per_day
        return page(request, "thanks.html", status, colleagues=floor.colleagues(who.id), names=names,
                    given=given, undoable={t.id for t in given if t.undoable(now)}, used=used, limit=limit,
                    left=None if not limit else max(0, limit - used), points=points.kudos, text_max=TEXT_MAX,
                    undo_minutes=UNDO_SECONDS // 60, form_key=secrets.token_urlsafe(16), when=floor.when, **extra)

    def person(request: Request) -> Who | None:
        who: Who = request.state.who
        return None if who.admin else who

    def not_a_person(request: Request) -> HTMLResponse:
        return page(request, "message.html", 403, title="Sign in as yourself",
                    text="Admins signed in by password are not a person on the floor: to thank someone, "
                         "sign in with your own link.")

    async def thanks_page(request: Request) -> HTMLResponse:
        who = person(request)
        if who is None:
            return not_a_person(request)
        notice = None
        sent, undone = as_id(request.query_params.get("sent")), as_id(request.query_params.get("undone"))
        number = sent if sent is not None else undone
        if number is not None:
            thank = await run_in_threadpool(store.get, number)
            if thank is not None and thank.giver == who.id:
                notice = (thank, "sent" if sent is not None else "undone")
        return await run_in_threadpool(view, request, who, notice=notice)

    async def give(request: Request) -> Response:
        form = await checked_form(request)
        who = person(request)
        if who is None:
            return not_a_person(request)
        taker, text = str(form.get("to", "")), str(form.get("text", ""))
        public = form.get("visibility", "public") != "quiet"
        if taker not in {c.id for c in await run_in_threadpool(floor.colleagues, who.id)}:
            problem = ("You cannot thank yourself — thank a colleague who helped you." if taker == who.id
                       else "Pick a colleague from the list.")
            return await run_in_threadpool(view, request, who, 400, error=problem, text=text, chosen=taker,
                                           public=public)
        try:
            thank, new = await run_in_threadpool(
                lambda: store.give(str(form.get("key", "")), who.id, taker, text, public, day=floor.day(now_of(site)),
                                   points=points.kudos, per_sender_per_day=points.kudos_per_sender_per_day,
                                   now=now_of(site)))
        except Refused as exc:
            return await run_in_threadpool(view, request, who, exc.status, error=str(exc), text=text,
                                           chosen=taker, public=public)
        if new:
            log.info("thanks %d: %s thanked %s (%s)", thank.id, who.id, taker, "public" if public else "quiet")
        return RedirectResponse(f"/thanks?sent={thank.id}", 303)

    async def undo(request: Request) -> Response:
        form = await checked_form(request)
        who = person(request)
        if who is None:
            return not_a_person(request)
        number = as_id(form.get("id"))
        try:
            if number is None:
                raise Refused("There is no such thank-you of yours.", 404)
            thank: Thank = await run_in_threadpool(store.undo, number, who.id, now_of(site))
        except Refused as exc:
            return await run_in_threadpool(view, request, who, exc.status, error=str(exc))
        log.info("thanks %d undone by %s", thank.id, who.id)
        return RedirectResponse(f"/thanks?undone={thank.id}", 303)

    return [
        Route("/thanks", thanks_page, methods=["GET"]),
        Route("/thanks", give, methods=["POST"]),
        Route("/thanks/undo", undo, methods=["POST"]),
    ]
