"""The team page's shop: ``/shop`` lists the items, my balance and my requests; a request holds
the points at once (see :mod:`feeds.game.shop`, which makes the check and the hold one
transaction). Agents and role models may ask; watchers and admins look only.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from feeds.game.shop import TAX_NOTES, Refused, Shop
from feeds.web.app import Site, Who, as_id, checked_form, page

SHOPPERS = ("agent", "role_model")  # who may spend points: those the wall counts


def shop_of(site: Site) -> Shop:
    """The site's shop, opened on the people table's state file the first time it is needed."""
    if site.shop is None:
        site.shop = Shop(site.people.path.parent)
    return site.shop


def may_shop(site: Site, who: Who) -> bool:
    if who.admin:
        return False
    person = site.people.get(who.id)
    return person is not None and person.role in SHOPPERS


def points(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def routes(site: Site) -> list[Route]:
    shop = shop_of(site)

    def view(who: Who) -> dict[str, object]:
        mine = not who.admin
        return {"items": shop.items(active_only=True), "balance": shop.balance(who.id) if mine else None,
                "mine": shop.requests(person=who.id) if mine else [], "shopper": may_shop(site, who),
                "tax_notes": TAX_NOTES, "points": points}

    async def show(request: Request) -> Response:
        who: Who = request.state.who
        context = await run_in_threadpool(view, who)
        return page(request, "shop.html", asked=as_id(request.query_params.get("asked")), **context)

    async def ask(request: Request) -> Response:
        form = await checked_form(request)
        who: Who = request.state.who
        if not await run_in_threadpool(may_shop, site, who):
            return page(request, "message.html", 403, title="Not for you to spend",
                        text="Only agents and role models can spend points in the shop.")
        item = as_id(form.get("item"))
        if item is None:
            return page(request, "message.html", 400, title="Which item?", text="Pick an item from the shop.")
        try:
            made = await run_in_threadpool(shop.request, who.id, item)
        except Refused as refusal:
            context = await run_in_threadpool(view, who)
            return page(request, "shop.html", 409, error=str(refusal), asked=None, **context)
        return RedirectResponse(f"/shop?asked={made.id}", 303)

    return [
        Route("/shop", show, methods=["GET"]),
        Route("/shop/request", ask, methods=["POST"]),
    ]
