"""What the wall shows about me: the Me page's section of every scene (and page) where the wall
shows me now, and ``/me/wall/<scene>.png``, the picture of one of them.

Both come from the composition root's previews (:class:`display.preview.Previews`, injected as
:attr:`Site.wall_of` and :attr:`Site.wall_picture`): each scene drawn from the wall's last saved
board through the same redaction the wall applies — the privacy profile and everyone's own
choices — and kept a while, so a page view never draws. My name is looked up as the wall shows
it (my alias when I chose one; initials in ``anonymous``), never by what I type.

The picture route answers only for the signed-in person and only for a scene and page on which
the wall shows them: nobody can fetch the scenes of a colleague's Me page, and a hidden person
(whom the wall names nowhere) gets no picture at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from feeds.logs import LOGGER
from feeds.web.app import Site, Who, page

log = logging.getLogger(LOGGER + ".web")
SCENE_LABELS = {"leaderboard": "The leaderboard", "teams": "Team standings", "wins": "Wins and thanks",
                "challenges": "Challenges", "record": "The number to beat", "near": "Near you",
                "history": "Compared with earlier days", "role_models": "Role models"}


@dataclass(frozen=True)
class Shown:
    """One page of a scene that shows me, as the Me page lists it."""

    scene: str
    page: int  # from 0
    label: str
    title: str  # the wall's own subtitle on that page

    @property
    def url(self) -> str:
        return f"/me/wall/{self.scene}.png" + (f"?page={self.page + 1}" if self.page else "")


@dataclass(frozen=True)
class OnWall:
    """The section's state: ``status`` is "off" (no display code here), "no_board" (the wall has
    saved none yet), "failed" (drawing failed; see the log) or "ok"."""

    status: str
    name: str | None = None  # as the wall shows me; None: it names me nowhere
    shown: tuple[Shown, ...] = field(default_factory=tuple)


def on_wall(site: Site, person: str) -> OnWall:
    """Where the wall shows ``person`` now (runs in a worker thread: the first call may draw)."""
    if site.wall_of is None:
        return OnWall("off")
    try:
        found = site.wall_of(person)
    except Exception as exc:  # a drawing that fails must not take the Me page down
        log.warning("the wall's pictures for the Me page failed: %s: %s", type(exc).__name__, exc)
        return OnWall("failed")
    if found is None:
        return OnWall("no_board")
    name, seen = found
    return OnWall("ok", name, tuple(Shown(scene, number, SCENE_LABELS.get(scene, scene), title)
                                    for scene, number, title in seen))


def wall_routes(site: Site) -> list[Route]:
    async def picture(request: Request) -> Response:
        who: Who = request.state.who
        if who.admin:
            return page(request, "message.html", 403, title="Sign in as yourself",
                        text="Admins signed in by password are not on the wall: the previews are under Admin.")
        scene = request.path_params["scene"]
        wanted = request.query_params.get("page", "1")
        number = int(wanted) - 1 if wanted.isascii() and wanted.isdigit() and len(wanted) < 4 else -1
        state = await run_in_threadpool(on_wall, site, who.id)
        if not any(s.scene == scene and s.page == number for s in state.shown) or site.wall_picture is None:
            return page(request, "message.html", 404, title="Not on the wall",
                        text="The wall does not show you on that scene right now.")
        try:
            png = await run_in_threadpool(site.wall_picture, scene, number)
        except Exception as exc:
            log.warning("the Me page's picture of %s failed: %s: %s", scene, type(exc).__name__, exc)
            png = None
        if png is None:
            return page(request, "message.html", 404, title="No picture", text="Reload the Me page and try again.")
        return Response(png, media_type="image/png")

    return [Route("/me/wall/{scene}.png", picture, methods=["GET"])]
