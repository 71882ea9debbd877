"""``chalkwall web`` and ``chalkwall people``: serve the team page, and manage who may sign in.

Each command prints a clear line and returns an exit code (0 done, 1 could not, 2 bad input); none
prints a secret except ``people invite``, whose whole point is to print the sign-in links.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from feeds.config.schema import LoadedConfig
from feeds.config.web import split_listen, web_path
from feeds.db import feed_state_dir
from feeds.logs import LOGGER, register_secret
from feeds.web.auth import RateLimit, write_password_hash
from feeds.web.invites import invite_url, write_qr
from feeds.web.people import ROLES, People

if TYPE_CHECKING:
    from feeds.web.app import Checker, Previewer, WallOf, WallPicture

log = logging.getLogger(LOGGER + ".web")
INVITES_DIR = "invites"


def people_dir(loaded: LoadedConfig) -> Path:
    """The state directory whose SQLite file holds the ledger: the people table lives beside it."""
    cfg = loaded.config
    return feed_state_dir(cfg.state.dir, cfg.feed.type)


def password_file(loaded: LoadedConfig, reading: bool = True) -> Path:
    return web_path(loaded.config.web.admin_password_file, loaded.base_dir, credential=reading)


def cmd_web(loaded: LoadedConfig, preview: Previewer | None = None, check: Checker | None = None,
            scenes: Sequence[str] = (), wall_of: WallOf | None = None, wall_picture: WallPicture | None = None) -> int:
    """Serve the team page until interrupted; ``preview``, ``check``, ``wall_of`` and
    ``wall_picture`` come from the composition root (``display/cli.py``), which can draw: without
    them previews (and the Me page's pictures of the wall) are off."""
    import uvicorn

    from feeds.game.shop import Shop
    from feeds.web.app import Site, build_app

    web = loaded.config.web
    listen = split_listen(web.listen)
    assert listen is not None  # the config's check
    cert = web_path(web.tls_cert, loaded.base_dir, credential=True) if web.tls else None
    key = web_path(web.tls_key, loaded.base_dir, credential=True) if web.tls else None
    for label, path in (("tls_cert", cert), ("tls_key", key)):
        if path is not None and not path.is_file():
            print(f"chalkwall: cannot read {path} ([web] {label})", file=sys.stderr)
            return 1
    people = People(people_dir(loaded))
    shop = Shop(people_dir(loaded), loaded.config.periods.zone)
    site = Site(people, password_file(loaded), web.url(), RateLimit(), tls=web.tls, shop=shop, config_path=loaded.path,
                check=check, preview=preview, scenes=tuple(scenes), config=loaded.config, wall_of=wall_of,
                wall_picture=wall_picture)
    app = build_app(site)
    scheme = "https" if web.tls else "http"
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    log.info("team page on %s://%s:%d (links point to %s)%s", scheme, host, listen[1], web.url(),
             "" if web.tls else "; plain HTTP: only on a trusted LAN")
    if site.admin_hash() is None:
        log.warning("no admin password yet (%s): run 'chalkwall people admin-password'", site.password_file)
    config = uvicorn.Config(app, host=listen[0], port=listen[1], log_config=None, access_log=False,
                            server_header=False, proxy_headers=False, timeout_graceful_shutdown=3,
                            ssl_certfile=str(cert) if cert else None, ssl_keyfile=str(key) if key else None)
    try:
        uvicorn.Server(config).run()
    finally:
        shop.close()
        people.close()
    return 0


def cmd_invite(loaded: LoadedConfig, ids: list[str], qr_dir: str | None, role: str | None,
               name: str | None, out: TextIO = sys.stdout) -> int:
    """One ``ID URL`` line per person (everyone on the board not yet invited, when no ids are
    given) and a QR PNG each; a new link replaces any old one."""
    from feeds.game.payout import board_names

    directory = people_dir(loaded)
    roster = {subject: n for (kind, subject), n in board_names(directory).items() if kind == "agent"}
    if role is not None and role not in ROLES:
        print(f"chalkwall: --role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if name is not None and len(ids) != 1:
        print("chalkwall: --name goes with exactly one person", file=sys.stderr)
        return 2
    people = People(directory)
    try:
        if not ids:
            known = {p.id for p in people.all() if p.token_sha256 or p.revoked}
            ids = sorted(set(roster) - known)
            if not ids:
                where = "everyone on the board already has a link" if roster else \
                    "no board saved yet ('chalkwall run' saves one): name the people to invite"
                print(f"chalkwall: nobody to invite: {where}", file=sys.stderr)
                return 1
        qr_path = Path(qr_dir).expanduser() if qr_dir else directory / INVITES_DIR
        for person_id in ids:
            token = people.invite(person_id, name or roster.get(person_id), role)  # type: ignore[arg-type]
            url = invite_url(loaded.config.web.url(), token)
            write_qr(qr_path, person_id, url)
            out.write(f"{person_id} {url}\n")
        outside = [i for i in ids if roster and i not in roster]
        if outside:
            print(f"chalkwall: not on the last board (invited by name): {', '.join(outside)}", file=sys.stderr)
        print(f"chalkwall: {len(ids)} link(s); QR codes in {qr_path} (each one signs its person in: "
              "hand them out, then delete them)", file=sys.stderr)
    finally:
        people.close()
    return 0


def cmd_revoke(loaded: LoadedConfig, ids: list[str]) -> int:
    people = People(people_dir(loaded))
    try:
        missing = [i for i in ids if not people.revoke(i)]
    finally:
        people.close()
    for person_id in ids:
        if person_id not in missing:
            print(f"{person_id}: revoked (the link and its sessions no longer work)")
    if missing:
        print(f"chalkwall: nobody with the id {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def cmd_admin_password(loaded: LoadedConfig, stdin: TextIO = sys.stdin) -> int:
    """Read the new admin password from stdin (one line; asked for without echo on a terminal)."""
    if stdin.isatty():
        import getpass

        password = getpass.getpass("New admin password: ")
        if getpass.getpass("Again: ") != password:
            print("chalkwall: the two passwords differ; nothing changed", file=sys.stderr)
            return 2
    else:
        password = stdin.readline().rstrip("\r\n")
    register_secret(password)
    path = password_file(loaded, reading=False)
    try:
        write_password_hash(path, password)
    except ValueError as exc:
        print(f"chalkwall: {exc}; nothing changed", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"chalkwall: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{path}: admin password set (argon2 hash); admins signed in before must sign in again")
    return 0
