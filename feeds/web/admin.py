"""The admin's pages (``/admin/...``, an admin session only — :class:`feeds.web.app.Guard` sees
to that before any of these run): people (invite, revoke, roles), the shop's approval queue and
items, the config's current problems, and a preview of each scene as the wall would draw it.

Every POST checks the session's CSRF token (:func:`feeds.web.app.checked_form`). The previews
and the full config check come from the composition root (``display/cli.py``) as callables on
:class:`Site`, since nothing under ``feeds/`` may draw.
"""

from __future__ import annotations

import logging
import math

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from feeds.config.validate import ConfigError, Problem
from feeds.game.shop import TAX_LABELS, TAX_NOTES, Refused, Tax
from feeds.logs import LOGGER
from feeds.web.app import Site, as_id, checked_form, page
from feeds.web.invites import invite_url, qr_data_uri
from feeds.web.people import ROLE_LABELS, ROLES
from feeds.web.shop import points, shop_of

log = logging.getLogger(LOGGER + ".web")
MAX_COST = 1_000_000.0
MAX_STOCK = 100_000


def config_findings(site: Site) -> tuple[list[Problem], list[Problem], str]:
    """The config's problems and warnings as ``chalkwall check`` finds them now, and a note on
    what was checked."""
    if site.check is not None:
        problems, warnings = site.check()
        return problems, warnings, "the same checks as chalkwall check"
    if site.config_path is None:
        return [], [], "no config file: the built-in demo config"
    from feeds.config.schema import load_config

    try:
        load_config(str(site.config_path))
    except ConfigError as exc:
        return list(exc.problems), [], "the config's own checks (the theme is not checked here)"
    return [], [], "the config's own checks (the theme is not checked here)"


def item_fields(form: FormData) -> tuple[tuple[str, float, int | None, Tax, str] | None, str]:
    """An item from the admin's form, or None and what is wrong with it."""
    name = str(form.get("name", "")).strip()
    cost_text = str(form.get("cost", "")).strip().replace(",", ".")
    stock_text = str(form.get("stock", "")).strip()
    tax = str(form.get("tax", ""))
    note = str(form.get("tax_note", "")).strip()
    if not 1 <= len(name) <= 100:
        return None, "Give the item a name (at most 100 characters)."
    try:
        cost = float(cost_text)
    except ValueError:
        return None, f'The cost must be a number of points, not "{cost_text[:20]}".'
    if not math.isfinite(cost) or not 0 < cost <= MAX_COST:
        return None, f"The cost must be more than 0 and at most {MAX_COST:,.0f} points."
    stock: int | None = None
    if stock_text:
        if not stock_text.isascii() or not stock_text.isdigit() or int(stock_text) > MAX_STOCK:
            return None, f"Stock is a whole number from 0 to {MAX_STOCK}, or empty for no limit."
        stock = int(stock_text)
    if tax not in TAX_NOTES:
        return None, "Say whether the item is taxable, tax-free, or to be asked about."
    if len(note) > 300:
        return None, "The tax note is at most 300 characters."
    return (name, cost, stock, tax, note), ""  # type: ignore[return-value]


def routes(site: Site) -> list[Route]:
    shop = shop_of(site)

    async def admin_page(request: Request, name: str, section: str, status: int = 200,
                         **context: object) -> HTMLResponse:
        waiting = await run_in_threadpool(shop.count, ("pending",))
        return page(request, name, status, section=section, waiting=waiting, **context)

    async def people(request: Request) -> HTMLResponse:
        found = await run_in_threadpool(site.people.all)
        return await admin_page(request, "admin.html", "people", people=found, roles=ROLES, role_labels=ROLE_LABELS)

    async def invite(request: Request) -> HTMLResponse:
        form = await checked_form(request)
        person_id = str(form.get("id", "")).strip()
        name = str(form.get("name", "")).strip() or None
        role = str(form.get("role", "agent"))
        if not person_id or role not in ROLES or len(person_id) > 200 or len(name or "") > 200:
            return page(request, "message.html", 400, title="Not invited",
                        text="Give an id (the agent id on the board, or a name) and a role.")
        token = await run_in_threadpool(site.people.invite, person_id, name, role)  # type: ignore[arg-type]
        url = invite_url(site.public_url, token)
        log.info("invited %s (a new link; any old one stops working)", person_id)
        return page(request, "invited.html", person_id=person_id, url=url, qr=qr_data_uri(url))

    async def revoke(request: Request) -> Response:
        form = await checked_form(request)
        person_id = str(form.get("id", ""))
        if not await run_in_threadpool(site.people.revoke, person_id):
            return page(request, "message.html", 404, title="No such person", text=f"Nobody has the id {person_id}.")
        log.info("revoked %s", person_id)
        return RedirectResponse("/admin", 303)

    async def role(request: Request) -> Response:
        form = await checked_form(request)
        person_id, new = str(form.get("id", "")), str(form.get("role", ""))
        if new not in ROLES:
            return page(request, "message.html", 400, title="No such role", text=f"A role is one of {', '.join(ROLES)}.")
        if not await run_in_threadpool(site.people.set_role, person_id, new):  # type: ignore[arg-type]
            return page(request, "message.html", 404, title="No such person", text=f"Nobody has the id {person_id}.")
        log.info("%s is now %s", person_id, new)
        return RedirectResponse("/admin", 303)

    async def queue(request: Request) -> HTMLResponse:
        def load() -> dict[str, object]:
            names = {p.id: p.name for p in site.people.all()}
            return {"open": list(reversed(shop.requests(statuses=("pending", "approved")))),
                    "done": shop.requests(statuses=("fulfilled", "declined"))[:30], "names": names}
        return await admin_page(request, "admin_queue.html", "queue", points=points, tax_labels=TAX_LABELS,
                          **await run_in_threadpool(load))

    def step(action: str) -> object:
        async def handle(request: Request) -> Response:
            form = await checked_form(request)
            number = as_id(form.get("request"))
            reason = str(form.get("reason", "")).strip()[:300]
            if number is None:
                return page(request, "message.html", 400, title="Which request?", text="Pick a request from the queue.")
            try:
                if action == "decline":
                    await run_in_threadpool(shop.decline, number, reason)
                else:
                    await run_in_threadpool(getattr(shop, action), number)
            except Refused as refusal:
                return page(request, "message.html", 409, title="Not done", text=str(refusal))
            log.info("shop request %d: %s", number, action)
            return RedirectResponse("/admin/queue", 303)
        return handle

    async def items(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
        found = await run_in_threadpool(shop.items)
        return await admin_page(request, "admin_items.html", "items", status, items=found, tax_notes=TAX_NOTES,
                          tax_labels=TAX_LABELS, points=points, error=error)

    async def item_add(request: Request) -> Response:
        fields, error = item_fields(await checked_form(request))
        if fields is None:
            return await items(request, error, 400)
        await run_in_threadpool(shop.add_item, *fields)
        return RedirectResponse("/admin/items", 303)

    async def item_edit(request: Request) -> Response:
        form = await checked_form(request)
        fields, error = item_fields(form)
        item = as_id(form.get("item"))
        if fields is None or item is None:
            return await items(request, error or "Pick an item to change.", 400)
        if not await run_in_threadpool(shop.edit_item, item, *fields):
            return await items(request, "There is no such item.", 404)
        return RedirectResponse("/admin/items", 303)

    async def item_retire(request: Request) -> Response:
        form = await checked_form(request)
        item = as_id(form.get("item"))
        active = str(form.get("active", "0")) == "1"
        if item is None or not await run_in_threadpool(shop.set_active, item, active):
            return await items(request, "There is no such item.", 404)
        return RedirectResponse("/admin/items", 303)

    async def config(request: Request) -> HTMLResponse:
        problems, warnings, what = await run_in_threadpool(config_findings, site)
        return await admin_page(request, "admin_config.html", "config", problems=problems, warnings=warnings,
                          what=what, path=site.config_path)

    async def previews(request: Request) -> HTMLResponse:
        return await admin_page(request, "admin_previews.html", "previews", scenes=site.scenes,
                          on=site.preview is not None)

    async def preview(request: Request) -> Response:
        scene = request.path_params["scene"]
        if site.preview is None:
            return page(request, "message.html", 404, title="Previews are off",
                        text="This team page runs without the wall's display code (pygame), so it cannot draw scenes.")
        if scene not in site.scenes:
            return page(request, "message.html", 404, title="No such scene", text="Pick a scene from the previews page.")
        try:
            png = await run_in_threadpool(site.preview, scene)
        except Exception as exc:  # a drawing that fails must not take the page down
            log.warning("preview of %s failed: %s: %s", scene, type(exc).__name__, exc)
            return page(request, "message.html", 503, title="No preview", text="Drawing this scene failed; see the log.")
        if png is None:
            return page(request, "message.html", 404, title="No board yet",
                        text="The wall has not saved a board yet ('chalkwall run' saves one every minute).")
        return Response(png, media_type="image/png")

    return [
        Route("/admin", people, methods=["GET"]),
        Route("/admin/invite", invite, methods=["POST"]),
        Route("/admin/revoke", revoke, methods=["POST"]),
        Route("/admin/role", role, methods=["POST"]),
        Route("/admin/queue", queue, methods=["GET"]),
        Route("/admin/approve", step("approve"), methods=["POST"]),  # type: ignore[arg-type]
        Route("/admin/decline", step("decline"), methods=["POST"]),  # type: ignore[arg-type]
        Route("/admin/fulfil", step("fulfil"), methods=["POST"]),  # type: ignore[arg-type]
        Route("/admin/items", items, methods=["GET"]),
        Route("/admin/items/add", item_add, methods=["POST"]),
        Route("/admin/items/edit", item_edit, methods=["POST"]),
        Route("/admin/items/retire", item_retire, methods=["POST"]),
        Route("/admin/config", config, methods=["GET"]),
        Route("/admin/previews", previews, methods=["GET"]),
        Route("/admin/preview/{scene}.png", preview, methods=["GET"]),
    ]
