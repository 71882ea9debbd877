"""The ``chalkwall`` command: check, feed, points, web, people, hub (and, with the display, run and shot).

Every error a user can cause ends as a clear message and an exit code, never a traceback:
0 success, 1 the feed gave no data, 2 an invalid config or command line, 130 interrupted.
Only the display commands import pygame, so ``check`` and ``feed`` work on any machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from display.check import cmd_check, poll_once, theme_problems
from feeds.board.build import Board, build_board
from feeds.config.schema import SCENES, LoadedConfig, load_config
from feeds.board.diff import FeedEventReceived, SeenEvents
from feeds.db import feed_state_dir
from feeds.live.roles import RoleModels
from feeds.config.lastgood import fall_back
from feeds.logs import LOGGER, setup_logging
from feeds.model import FeedError
from feeds.config.validate import ConfigError

log = logging.getLogger(LOGGER)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="config file (default: $CHALKWALL_CONFIG, "
                        "./config.toml, /etc/chalkwall/config.toml, then the built-in demo)")
    common.add_argument("--log-format", choices=("plain", "json"), help="log lines for people, or JSON per line")
    common.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    parser = argparse.ArgumentParser(prog="chalkwall", description="A live leaderboard for the office wall.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", parents=[common], help="validate the config and exit 0, or list every problem")
    check.add_argument("--online", action="store_true",
                       help="also poll the feed once and check every metric the config names against its data")
    feed = sub.add_parser("feed", parents=[common], help="poll the feed once and print the ranked board as JSON")
    feed.add_argument("--watch", action="store_true", help="keep polling and print the board as a table")
    points = sub.add_parser("points", parents=[common], help="points balances; 'points export --csv' for payroll")
    points.add_argument("action", nargs="?", choices=("show", "export"), default="show")
    points.add_argument("--csv", action="store_true", help="with export: the whole ledger as CSV (the only format)")
    points.add_argument("--out", metavar="FILE", help="with export: write to FILE instead of stdout")
    points.add_argument("--since", metavar="YYYY-MM-DD", help="only awards from this day on ([periods] zone)")
    points.add_argument("--until", metavar="YYYY-MM-DD", help="only awards up to and including this day")
    sub.add_parser("web", parents=[common], help="serve the team page ([web] in the config; /health is open)")
    people = sub.add_parser("people", help="who may sign in to the team page")  # options after the action
    people_sub = people.add_subparsers(dest="people_action", required=True, metavar="ACTION")
    invite = people_sub.add_parser("invite", parents=[common],
                                   help="print 'ID URL' sign-in links (new ones replace old) and write a QR PNG each")
    invite.add_argument("ids", nargs="*", metavar="AGENT",
                        help="agent ids on the board, or names (default: everyone on the board not yet invited)")
    invite.add_argument("--qr-dir", metavar="DIR", help="where the QR PNGs go (default: the state dir's invites/)")
    invite.add_argument("--role", choices=("agent", "role_model", "watcher", "admin"),
                        help="the role to give (default: agent for someone new; unchanged otherwise)")
    invite.add_argument("--name", help="the name to show (one person only; default: the board's)")
    revoke = people_sub.add_parser("revoke", parents=[common], help="end a person's link and sessions")
    revoke.add_argument("ids", nargs="+", metavar="AGENT")
    people_sub.add_parser("admin-password", parents=[common],
                          help="set the admin password (read from stdin) as an argon2 hash in admin_password_file")
    privacy = sub.add_parser("privacy", help="what the wall shows and keeps about people")
    privacy_sub = privacy.add_subparsers(dest="privacy_action", required=True, metavar="ACTION")
    report = privacy_sub.add_parser("report", parents=[common],
                                    help="a plain-language page of what is shown, to whom, what is stored and how long")
    report.add_argument("--format", choices=("md", "html"), default="md",
                        help="Markdown (default) or printable HTML (Print → Save as PDF)")
    report.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    hub = sub.add_parser("hub", parents=[common],
                         help="one process polls for every screen and publishes through an MQTT broker")
    hub_sub = hub.add_subparsers(dest="hub_action", metavar="ACTION")  # none: run the hub
    init = hub_sub.add_parser("init-broker", parents=[common],
                              help="write Mosquitto's drop-in config, a login per screen, the ACL and a private CA")
    init.add_argument("--out", default="/etc/mosquitto", metavar="DIR",
                      help="where Mosquitto's config lives (default /etc/mosquitto: conf.d/ and chalkwall/ in it)")
    init.add_argument("--host", action="append", default=[], metavar="NAME",
                      help="another name or address screens reach the broker by (repeatable)")
    init.add_argument("--local-port", type=int, default=1883, help="the hub's plain listener on 127.0.0.1 (1883)")
    init.add_argument("--tls-port", type=int, default=8883, help="the screens' TLS listener (8883)")
    hub_sub.add_parser("status", parents=[common],
                       help="every screen online or not, its scene, frame p95 and board lag; the source; the broker")
    sub.add_parser("status", parents=[common], help="how the running wall is doing (from its status file)")
    run = sub.add_parser("run", parents=[common], help="show the wall (fullscreen; --windowed for a laptop)")
    run.add_argument("--windowed", action="store_true", help="a window instead of the whole screen; Esc or q quits")
    run.add_argument("--size", help="WxH, e.g. 1280x720")
    shot = sub.add_parser("shot", parents=[common], help="render one scene to a PNG (offscreen)")
    shot.add_argument("--scene", required=True, choices=(*SCENES, "celebration"))
    shot.add_argument("--size", default="1920x1080", help="WxH, e.g. 1920x1080, 1080x1920 (default 1920x1080)")
    shot.add_argument("--theme", help="a built-in theme or a theme file (default: the config's)")
    shot.add_argument("--out", required=True, metavar="FILE.png")
    bench = sub.add_parser("bench", parents=[common], help="measure parse/rank/diff speed and memory over many polls")
    bench.add_argument("--agents", type=int,
                       help="agents in the large document (5000; --connector: 500; --web: people, 200)")
    bench.add_argument("--rounds", type=int, default=40, help="polls of the large document to time (40)")
    bench.add_argument("--polls", type=int, default=10_000, help="polls for the memory run (10000)")
    bench.add_argument("--only", choices=("feed", "display"), help="run one half only")
    bench.add_argument("--soak", type=float, metavar="HOURS", nargs="?", const=24.0,
                       help="a simulated day (or HOURS) of the wall on an accelerated clock: memory and caches")
    bench.add_argument("--minute", action="store_true",
                       help="measure the whole 'chalkwall run' process over a scripted minute on X (Xvfb)")
    bench.add_argument("--still", type=int, nargs="+", metavar="AGENTS",
                       help="CPU-s per minute of 'chalkwall run' showing a still board of AGENTS agents on X (Xvfb)")
    bench.add_argument("--seconds", type=float,
                       help="how long --still measures each board, --web loads the team page (60), "
                            "or --hub runs (300)")
    bench.add_argument("--web", action="store_true",
                       help="200 people on the team page at once beside a running wall: page times, the wall's frames")
    bench.add_argument("--connector", metavar="TYPE",
                       help="a native connector on its fake vendor API: a big floor's cold backfill and steady poll")
    bench.add_argument("--tickets", type=int, default=12_500, help="tickets in the --connector day (12500)")
    bench.add_argument("--hub", action="store_true",
                       help="the hub's work per poll for 5,000 agents, then a real broker, hub and 50 screens "
                            "with a broker and a hub restart: latency, lost and repeated celebrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe ends in a traceback
    except BrokenPipeError:
        return _closed_stdout()
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    rejected: ConfigError | None = None
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        setup_logging(args.log_format or "plain", args.log_level or "info")
        fallback = fall_back(args.config, exc) if args.command == "run" else None
        if fallback is None:
            found = [*exc.problems, *(theme_problems(args.config) if args.command == "check" else ())]
            print("\n".join(str(p) for p in found), file=sys.stderr)
            print(f"chalkwall: {len(found)} problem(s) in the config", file=sys.stderr)
            return 2
        loaded, rejected = fallback, exc  # a kiosk must not stay black over a typo: the last good config
    cfg = loaded.config
    setup_logging(args.log_format or cfg.log.format, args.log_level or cfg.log.level)
    try:
        if args.command == "check":
            return cmd_check(loaded, args.online)
        if args.command == "feed":
            return cmd_watch(loaded) if args.watch else cmd_feed(loaded)
        if args.command == "points":
            return cmd_points(loaded, args.action, args.out, args.since, args.until)
        if args.command == "web":
            return _web(loaded)
        if args.command == "people":
            from feeds.web import serve

            if args.people_action == "invite":
                return serve.cmd_invite(loaded, args.ids, args.qr_dir, args.role, args.name)
            if args.people_action == "revoke":
                return serve.cmd_revoke(loaded, args.ids)
            return serve.cmd_admin_password(loaded)
        if args.command == "privacy":
            from feeds.privacy.report import write_report

            try:
                text = write_report(cfg, loaded.label, args.format, Path(args.out) if args.out else None)
            except OSError as exc:
                print(f"chalkwall: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
                return 1
            if not args.out:
                sys.stdout.write(text)
            return 0
        if args.command == "hub":
            if args.hub_action is None:
                from feeds.publish.hub import cmd_hub

                return cmd_hub(loaded)
            if args.hub_action == "status":
                from feeds.publish.status import cmd_hub_status

                return cmd_hub_status(loaded)
            from feeds.publish.broker_setup import cmd_init_broker

            return cmd_init_broker(loaded, args.out, args.host, args.local_port, args.tls_port)
        if args.command == "status":
            from display.health import describe, read_status, status_path

            path = status_path(cfg.state.dir)
            found = read_status(path)
            if found is None:
                print(f"chalkwall: no status at {path}: is 'chalkwall run' running (with this config)?",
                      file=sys.stderr)
                return 1
            print(describe(found))
            return 0 if time.time() - float(found.get("updated", 0)) <= 30 else 1
        if args.command == "run":
            return _run(args, loaded, rejected)
        if args.command == "shot":
            return cmd_shot(loaded, args.scene, args.size, args.theme, args.out)
        if args.command == "bench":
            if args.connector:
                from feeds import connector_bench

                connector_bench.run(args.connector, agents=args.agents or 500, tickets=args.tickets)
                return 0
            if args.hub:
                from feeds import hub_bench_run

                hub_bench_run.run(seconds=args.seconds or 300.0)
                return 0
            regular = not (args.soak or args.minute or args.still or args.web) or args.only is not None  # alone: only them
            if regular and args.only != "display":
                from feeds import bench

                bench.run(agents=args.agents or 5000, rounds=args.rounds, polls=args.polls, board=cfg.board)
            if regular and args.only != "feed":
                from display import bench as display_bench

                display_bench.run(loaded)
            if args.soak:
                from display import soak

                print(f"soak: {args.soak:g} simulated hours, offscreen at 1920x1080:")
                soak.run(loaded, hours=args.soak)
            if args.minute:
                from display import minute

                print(minute.report(minute.run()))
                print(minute.report(minute.run(still=True)))
            if args.web:
                from feeds import web_bench

                print(web_bench.report(web_bench.run(seconds=args.seconds or 60.0, people=args.agents or 200)), flush=True)
            for agents in args.still or ():
                from display import still

                print(still.report(still.run(agents, seconds=args.seconds or 60.0)), flush=True)
            return 0
    except ConfigError as exc:  # a theme, or anything else read after the config
        print("\n".join(str(p) for p in exc.problems), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `chalkwall feed | head`: the reader has gone; main says nothing, as Unix tools
        raise
    except Exception as exc:  # the last guard: one line for the user, the details in the debug log
        log.debug("unexpected error", exc_info=True)
        print(f"chalkwall: internal error: {type(exc).__name__}: {exc} (--log-level debug shows more)",
              file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands first


def _web(loaded: LoadedConfig) -> int:
    """``chalkwall web``, with scene previews and the full config check when this machine can draw."""
    from feeds.web.serve import cmd_web

    try:
        from display.preview import Previews
    except ImportError as exc:  # a team page beside the hub may have no pygame: previews are off
        log.info("scene previews are off (%s)", exc)
        return cmd_web(loaded)
    previews = Previews(loaded)
    try:
        return cmd_web(loaded, preview=previews.png, check=previews.check, scenes=previews.scenes,
                       wall_of=previews.appearances, wall_picture=previews.page_png)
    finally:
        previews.close()


def _closed_stdout() -> int:
    """Nothing more can be written; make the interpreter's last flush quiet and exit as a tool
    killed by SIGPIPE would (128 + 13)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def _run(args: argparse.Namespace, loaded: LoadedConfig, rejected: ConfigError | None = None) -> int:
    size = _parse_size(args.size) if args.size else None
    if args.size and size is None:
        return 2
    from display.app import run

    return run(loaded, windowed=args.windowed, size=size, log_choice=(args.log_format, args.log_level),
               rejected=rejected)



def _feed_json(loaded: LoadedConfig, board: Board, fresh: list[FeedEventReceived]) -> dict[str, Any]:
    return {
        "config": loaded.label,
        "feed": loaded.config.feed.type,
        "polled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **board.to_dict(),
        "new_events": [e.event.to_dict() for e in fresh],
    }


def cmd_feed(loaded: LoadedConfig) -> int:
    cfg = loaded.config
    snapshot = poll_once(loaded)
    if snapshot is None:
        return 1
    roles = RoleModels(cfg.roles.role_models, feed_state_dir(cfg.state.dir, cfg.feed.type))
    board = build_board(roles(snapshot), cfg.board)
    roles.close()
    fresh = [FeedEventReceived(e) for e in SeenEvents().new(snapshot.events)]
    json.dump(_feed_json(loaded, board, fresh), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_points(loaded: LoadedConfig, action: str, out: str | None, since: str | None = None,
               until: str | None = None) -> int:
    from feeds.game import payout
    from feeds.game.ledger import Ledger
    from feeds.db import DB_NAME, feed_state_dir

    cfg = loaded.config
    try:
        window = payout.parse_window(since, until, cfg.periods.zone)
    except ValueError as exc:
        print(f"chalkwall: {exc}", file=sys.stderr)
        return 2
    directory = feed_state_dir(cfg.state.dir, cfg.feed.type)
    which = " (the demo feed's own, apart from a real feed's)" if cfg.feed.type == "demo" else ""
    if not (directory / DB_NAME).exists():
        print(f"chalkwall: no points yet: no ledger at {directory / DB_NAME}{which}", file=sys.stderr)
        return 1
    ledger = Ledger(directory)
    try:
        report = payout.Report(ledger, cfg, payout.board_names(directory))
        print(f"chalkwall: reading the ledger at {ledger.path}{which}", file=sys.stderr)
        if action == "export":
            if out:
                with open(out, "w", newline="", encoding="utf-8") as handle:
                    n = payout.export_csv(report.awards(window), handle)
                print(f"{out}: {n} awards", file=sys.stderr)
            else:
                payout.export_csv(report.awards(window), sys.stdout)
            return 0
        print(payout.table(report.balances(window)))
        return 0
    finally:
        ledger.close()


def _parse_size(text: str) -> tuple[int, int] | None:
    """A "WxH" option as a size; None (after saying why) when it is not one."""
    from feeds.config.schema import check_size

    problem = check_size(text)
    if problem:
        print(f"chalkwall: --size {problem}", file=sys.stderr)
        return None
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def cmd_shot(loaded: LoadedConfig, scene: str, size_text: str, theme_name: str | None, out: str) -> int:
    size = _parse_size(size_text)
    if size is None:
        return 2
    from display.shot import build_wall, render
    from display.themes import load_theme

    import pygame

    from feeds.db import DB_NAME, feed_state_dir

    theme = load_theme(theme_name, loaded.base_dir, "--theme") if theme_name else None
    state = feed_state_dir(loaded.config.state.dir, loaded.config.feed.type)
    people = state if (state / DB_NAME).is_file() else None  # the people's privacy choices, as the wall reads them
    try:
        preview = build_wall(loaded, size, theme=theme, people=people)
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        return 1
    if preview.wall.view is None:
        print(f"chalkwall: feed failed: {preview.coordinator.state().last_error}; drawing the waiting screen",
              file=sys.stderr)
    pygame.image.save(render(preview, scene), out)
    print(out)
    return 0


def _table(board: Board, label: str) -> str:
    lines = [f"{'#':>3}  {'name':<28} {'team':<14} {label:>14}"]
    for row in board.agents:
        value = "–" if row.value is None else f"{row.value:g}"
        rank = "–" if row.rank is None else str(row.rank)
        lines.append(f"{rank:>3}  {row.agent.name[:28]:<28} {(row.agent.team or '')[:14]:<14} {value:>14}")
    return "\n".join(lines)


def cmd_watch(loaded: LoadedConfig) -> int:
    """A terminal view of the live board: an admin's way to watch a feed."""
    cfg = loaded.config
    from feeds.live.feed import open_live_feed

    try:
        live = open_live_feed(loaded, read_only=True)  # looking must not use up the wall's celebrations
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        return 1
    coordinator = live.coordinator
    live.start()
    shown = -1
    try:
        while True:
            state = coordinator.state()
            if state.board is not None and state.generation != shown:
                shown = state.generation
                when = time.strftime("%H:%M:%S")
                print(f"\n{loaded.label} · {when}" + (" · STALE" if state.stale else ""))
                print(_table(state.board, cfg.board.rank_by))
            for event in coordinator.drain_events():
                if isinstance(event, FeedEventReceived):
                    print(f"  ★ {event.event.type}: {json.dumps(event.event.to_dict(), ensure_ascii=False)}")
            sys.stdout.flush()  # a pipe (`| grep`) sees each board as it comes, not in 8 KiB lumps
            time.sleep(0.25)
    finally:
        live.stop()


if __name__ == "__main__":
    sys.exit(main())
