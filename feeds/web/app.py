"""The team page's Starlette app: sign-in by personal link or admin password and the home page;
the shop's routes are in :mod:`feeds.web.shop`, the admin's in :mod:`feeds.web.admin`.

Access is deny-by-default: :class:`Guard` lets through only the paths in ``PUBLIC`` (the health
check and the sign-in pages) without a session; everything under ``/admin`` needs an admin session
(the password, not a link). Every POST form carries the session's CSRF token and is refused (403)
without it. Responses carry no-store and a strict Content-Security-Policy (no scripts at all).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from feeds.config.schema import Config
from feeds.logs import LOGGER
from feeds.web.auth import RateLimit, admin_mark, csrf_ok, new_csrf, read_password_hash, verify_password
from feeds.config.validate import Problem
from feeds.web.people import People

if TYPE_CHECKING:
    from feeds.game.shop import Shop

log = logging.getLogger(LOGGER + ".web")
PUBLIC = frozenset({"/health", "/sign-in", "/admin/sign-in"})
PUBLIC_PREFIX = "/in/"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
Scope = MutableMapping[str, Any]
# The config's problems and warnings, as `chalkwall check` finds them (injected by display/cli.py).
Checker = Callable[[], tuple[list[Problem], list[Problem]]]
# A scene of the wall as PNG bytes, from its last saved board; None when there is no board yet.
Previewer = Callable[[str], bytes | None]
# Where the wall shows a person (by id) now: the name it shows them by (None: nowhere) and each
# (scene, page, title) on which it is drawn; None when there is no board yet.
WallOf = Callable[[str], tuple[str | None, Sequence[tuple[str, int, str]]] | None]
# One page (from 0) of a scene as PNG bytes; None when there is no such page.
WallPicture = Callable[[str, int], bytes | None]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


@dataclass(frozen=True)
class Who:
    """Whoever a request's session belongs to."""

    id: str
    name: str
    role: str
    admin: bool = False


@dataclass
class Site:
    """What the app's pages work with."""

    people: People
    password_file: Path
    public_url: str
    limit: RateLimit
    tls: bool = False
    config: Config = field(default_factory=Config)  # points, challenges, the floor's time zone
    clock: Callable[[], float] = time.time
    shop: Shop | None = None  # opened beside the people table when None
    config_path: Path | None = None  # the config file on disk, for the admin's list of its problems
    check: Checker | None = None  # None: the config's own validation only (no theme checks)
    preview: Previewer | None = None  # None: no pygame here, scene previews are off
    scenes: tuple[str, ...] = ()  # the scenes a preview may show
    wall_of: WallOf | None = None  # None: no pygame here, the Me page cannot show the wall's pictures
    wall_picture: WallPicture | None = None

    def admin_hash(self) -> str | None:
        return read_password_hash(self.password_file)


def who_of(site: Site, session: MutableMapping[str, Any]) -> Who | None:
    """The session's person, while their link (or the admin password) is still the one it came by."""
    mark = session.get("admin")
    if isinstance(mark, str):
        stored = site.admin_hash()
        if stored is not None and mark == admin_mark(stored):
            return Who("admin", "Admin", "admin", admin=True)
        return None
    person_id, link = session.get("person"), session.get("link")
    if not isinstance(person_id, str) or not isinstance(link, str):
        return None
    person = site.people.get(person_id)
    if person is None or not person.session_mark or person.session_mark != link:
        return None
    return Who(person.id, person.name, person.role_label)


class Guard:
    """Deny by default: no session, no page (a GET is sent to sign in; anything else gets 401)."""

    def __init__(self, app: ASGI, site: Site) -> None:
        self.app, self.site = app, site

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        session: MutableMapping[str, Any] = scope["session"]
        if path in PUBLIC or path.startswith(PUBLIC_PREFIX):
            await self.app(scope, receive, send)
            return
        who = await run_in_threadpool(who_of, self.site, session)
        admin_path = path == "/admin" or path.startswith("/admin/")
        response: Response | None = None
        if who is None:
            for key in ("person", "link", "admin"):
                if key in session:
                    del session[key]
            target = "/admin/sign-in" if admin_path else "/sign-in"
            response = (RedirectResponse(target, 303) if scope["method"] in ("GET", "HEAD")
                        else page_response("message.html", {"title": "Sign in first",
                                           "text": "This needs you to be signed in."}, 401))
        elif admin_path and not who.admin:
            response = page_response("message.html", {"title": "Admins only",
                                     "text": "This page is for admins: sign in with the admin password."}, 403)
        if response is not None:
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["who"] = who
        await self.app(scope, receive, send)


class Outer:
    """Security headers on every response, and an access log line that never shows a link's token."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        path = "/in/***" if scope["path"].startswith(PUBLIC_PREFIX) else scope["path"]
        client = scope.get("client") or ("-", 0)
        log.info("%s %s %s %s", client[0], scope["method"], path, status[0])


_templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def page_response(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    template = _templates.env.get_template(name)
    return HTMLResponse(template.render(**context), status_code=status)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    who: Who | None = getattr(request.state, "who", None)
    if not isinstance(request.session.get("csrf"), str):  # made with the first page that may hold a form
        request.session["csrf"] = new_csrf()
    return page_response(name, {"who": who, "csrf": request.session["csrf"], **context}, status)


def as_id(text: object) -> int | None:
    """A row id from a form field or a query: plain ASCII digits that fit SQLite's integer, else None
    ("²" is a digit to str.isdigit, and 30 digits overflow SQLite: neither may become a 500)."""
    raw = str(text or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token is the session's; 403 otherwise."""
    form = await request.form()
    if not csrf_ok(request.session.get("csrf"), form.get("csrf")):
        raise HTTPException(403, "This form has expired or did not come from this site: reload it and try again.")
    return form


def start_session(request: Request, **values: str) -> None:
    """A fresh session (new CSRF token) for whoever just signed in."""
    request.session.clear()
    request.session.update(values, csrf=new_csrf())


def build_app(site: Site) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "chalkwall-web", "https": site.tls})

    async def sign_in(request: Request) -> HTMLResponse:
        return page(request, "sign_in.html")

    async def link(request: Request) -> Response:
        person = await run_in_threadpool(site.people.by_token, request.path_params["token"])
        if person is None:
            return page(request, "message.html", 403, title="This link does not work",
                        text="It may have been replaced by a newer one, or revoked. Ask your admin for a new link.")
        start_session(request, person=person.id, link=person.session_mark)
        return RedirectResponse("/", 303)

    async def admin_sign_in(request: Request) -> Response:
        stored = await run_in_threadpool(site.admin_hash)
        if request.method == "GET":
            return page(request, "admin_sign_in.html", configured=stored is not None)
        client = request.client.host if request.client else "-"
        if not site.limit.allow(client):
            wait = site.limit.retry_after(client)
            response = page(request, "admin_sign_in.html", 429, configured=stored is not None,
                            error=f"Too many sign-in tries from this address. Wait {wait} s and try again.")
            response.headers["Retry-After"] = str(wait)
            return response
        form = await checked_form(request)
        password = form.get("password")
        if stored is None:  # no file, an empty one (the installer's placeholder) or no argon2 hash in it
            log.warning("admin sign-in refused from %s: no admin password is set (%s holds no hash); "
                        "run 'chalkwall people admin-password'", client, site.password_file)
            return page(request, "admin_sign_in.html", 401, configured=False,
                        error="No admin password is set yet, so nobody can sign in as admin.")
        if not isinstance(password, str) or not await run_in_threadpool(verify_password, stored, password):
            log.warning("admin sign-in refused from %s", client)
            return page(request, "admin_sign_in.html", 401, configured=stored is not None,
                        error="That is not the admin password.")
        site.limit.forgive(client)
        start_session(request, admin=admin_mark(stored))
        return RedirectResponse("/admin", 303)

    async def home(request: Request) -> HTMLResponse:
        return page(request, "home.html")

    async def sign_out(request: Request) -> Response:
        await checked_form(request)
        request.session.clear()
        return RedirectResponse("/sign-in", 303)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return page(request, "message.html", exc.status_code, title="Refused", text=exc.detail)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["GET"]),
        Route("/in/{token}", link, methods=["GET"]),
        Route("/admin/sign-in", admin_sign_in, methods=["GET", "POST"]),
        Route("/", home, methods=["GET"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]
    from feeds.web.me import own_routes  # the Thanks and Me pages (they import this module's helpers)

    routes += own_routes(site)
    from feeds.web import admin, shop  # they build on this module's helpers too

    routes += admin.routes(site) + shop.routes(site)
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error}, middleware=[
        Middleware(Outer),
        Middleware(SessionMiddleware, secret_key=session_secret(site), session_cookie="chalkwall_session",
                   max_age=90 * 24 * 3600, same_site="lax", https_only=site.tls),
        Middleware(Guard, site=site),
    ])


def session_secret(site: Site) -> str:
    from feeds.logs import register_secret
    from feeds.web.auth import session_key

    key = session_key(site.people.path.parent)
    register_secret(key)
    return key
