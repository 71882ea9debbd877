"""``chalkwall privacy report``: what the wall shows, to whom, what it stores and for how long.

The page is written from the config that runs, never from a template of good intentions: every
sentence about a mode, a scene, a feature or a period of storage is chosen by the value in the
config, so a changed config gives a changed report. It is plain language for a union negotiation,
a works council or a DPIA — material for them, not legal advice. Markdown for a wiki or an e-mail;
HTML with print CSS for a PDF ("Print → Save as PDF" in any browser).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from feeds.config.schema import SCORE, Config
from feeds.db import feed_state_dir
from feeds.game.history import KEEP_DAYS as SAMPLE_DAYS

MODES = {
    "named": "Every agent is shown by name, ranked from first to last.",
    "top": "Only the best {top_n} are named and ranked (never more than a third of the people on the wall); "
           "everyone else appears only as a count (\"and 14 more\") and in their team's totals. "
           "Nobody can see who is last.",
    "anonymous": "Everyone is ranked with their values, but under an alias (chosen by the person or the admin) "
                 "or their initials. No photos are shown.",
    "teams": "Only team totals are shown. No one is named or ranked; a celebration says \"someone on Night shift\".",
}
SCENES = {
    "leaderboard": "the ranked list of people",
    "teams": "each team's total, its gap to the next team, and its members' values",
    "wins": "challenges completed and thank-yous, newest first",
    "challenges": "each challenge and how far each person or team has come",
    "record": "yesterday's best, the number to beat, and today's race to it",
    "near": "each person with the colleague just above them and the gap between",
    "history": "today against earlier days, the most improved and personal bests",
    "role_models": "managers and staff outside support who take tickets, each with how many they solved "
                   "today: thanked, never ranked",
}
TEAM_ONLY_OFF = ("leaderboard", "near", "role_models")  # as the wall: no person to show where only teams may be
FEATURE_TEXT = {  # one per feeds.config.privacy.FEATURES
    "near_you": "The \"near you\" scene (each person and the colleague just above)",
    "individual_challenges": "Each person's progress in challenges, records and head-to-heads",
    "individual_history": "\"Most improved\" and personal bests on the history scene",
    "thanks": "Thank-you messages (kudos) on the wall",
    "individual_celebrations": "Celebration banners and wins naming the person who completed a challenge "
                               "(off: their team only, \"Someone on Night shift\")",
}


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]


def _shown(cfg: Config) -> Section:
    p = cfg.privacy
    lines = [f"Privacy mode: **{p.mode}**. " + MODES[p.mode].format(top_n=p.top_n)]
    if p.mode in ("top", "anonymous"):
        lines.append(f"A team of fewer than {p.min_group} people is never broken down into people: "
                     "only its total is shown, so no one in a small team can be singled out.")
    if p.mode == "teams":
        lines.append(f"A team of fewer than {p.min_group} people is not shown on its own; its work counts in "
                     "the floor's totals.")
    else:
        if p.mode == "top" and cfg.board.group_by:
            lines.append(f"Each {cfg.board.group_by} has a board of its own, so the best {p.top_n} of each "
                         f"{cfg.board.group_by} are named (never more than a third of it).")
        lines.append("No team's total gives away one person's value: when exactly one person on a team is not "
                     f"listed (hidden by their choice{', or below the best named' if p.mode == 'top' else ''}), "
                     f"or a team of fewer than {p.min_group} has anyone not listed, that team shows only its total "
                     "and lists none of its members; a team of one whose member is not listed is not shown on "
                     "its own (its work counts in the floor's totals).")
    if cfg.display.teams:
        lines.append("This wall shows only these teams: " + ", ".join(cfg.display.teams) + ".")
    what = cfg.board.rank_by if cfg.board.rank_by != SCORE else \
        "a score made of " + ", ".join(f"{m} (weight {w:g})" for m, w in cfg.board.score.items())
    lines.append(f"People and teams are ranked by {what}.")
    lines += _fairness(cfg)
    if p.mode in ("top", "teams"):
        lines.append("No scene shows the bottom of a ranking: the \"near you\" scene is off.")
    return Section("What the wall shows", tuple(lines))


def _fairness(cfg: Config) -> list[str]:
    """How the ranking is made fair (docs/fair-ranking.md), in words: what people are compared on."""
    board, out = cfg.board, []
    if board.yardstick is not None:
        out.append(f"Each person is ranked by the percentage of their own target (the targets of "
                   f"`{board.yardstick.challenge}`, fitted to their level), not by raw volume.")
    per_hour = [name for name, spec in board.metrics.items() if spec.per_hour]
    if per_hour:
        out.append(f"{', '.join(per_hour)} is counted per hour available, so part-timers are not last by design.")
    if board.gate is not None:
        out.append(f"Quality first: a person's volume counts only while {board.gate.metric} is at least "
                   f"{board.gate.min:g} over {board.gate.sample} or more samples.")
    if board.group_by:
        out.append(f"Each {board.group_by} has a board of its own: nobody is ranked against another {board.group_by}.")
    out.append("Role models (managers and staff outside support who take tickets) are never ranked and never "
               "counted in agents' races.")
    return out


def _scenes(cfg: Config) -> Section:
    p = cfg.privacy
    lines = []
    for entry in cfg.display.scenes:
        off = (entry.name == "near" and (p.mode in ("top", "teams") or not p.near_you)) or \
              (entry.name in TEAM_ONLY_OFF and p.mode == "teams")
        state = "**off** under this profile" if off else f"on screen {entry.seconds:g} s per rotation"
        what = SCENES[entry.name]
        if entry.name == "teams" and p.mode == "teams":
            what = "each team's total and its gap to the next team (no member's value under this profile)"
        lines.append(f"`{entry.name}` — {what}: {state}.")
    celebrate = {"named": "name the person", "top": "name the person, never with a rank or a shortfall",
                 "anonymous": "use the person's alias or initials",
                 "teams": "name only the team (\"someone on Night shift\")"}[p.mode]
    if not p.individual_celebrations:
        celebrate = "name only the team (\"someone on Night shift\"; `individual_celebrations` is off)"
    leader = p.mode in ("named", "anonymous") and p.individual_celebrations
    lines.append(f"Celebrations (a challenge completed) {celebrate}."
                 + (" A new leader is announced." if leader else " No \"new leader\" is announced."))
    return Section("Scenes in rotation", tuple(lines))


def _features(cfg: Config) -> Section:
    p = cfg.privacy
    lines = [f"{text}: {_feature_state(cfg, name)} (`{name}`)." for name, text in FEATURE_TEXT.items()]
    lines.append("Each of these can be switched off on its own in `[privacy]`.")
    return Section("Features that show one person's data", tuple(lines))


def _feature_state(cfg: Config, name: str) -> str:
    """What the wall does with a feature under the running profile, not only its switch."""
    p = cfg.privacy
    if not p.feature(name):
        return "**off**"
    if name == "thanks":
        return {"teams": "**on**, naming only each person's team (\"someone on Night shift\"), never who thanked whom",
                "anonymous": "**on**, with who thanked whom under aliases or initials"}.get(
                    p.mode, "**on**, with who thanked whom")
    if p.mode == "teams":
        return "**off** under the `teams` profile (switched on, but this profile shows no person)"
    if name == "near_you" and p.mode == "top":
        return "**off** under the `top` profile (it would show the bottom of the ranking)"
    if p.mode == "top" and name != "individual_celebrations":
        return f"**on**, for the {p.top_n} people named only"
    if p.mode == "anonymous":
        return "**on**, under aliases or initials"
    return "**on**"


def _choices(cfg: Config) -> Section:
    people = cfg.privacy.people.values()
    hidden = sum(1 for c in people if c.ranking == "hidden")
    only = sum(1 for c in people if c.ranking == "celebrate_only")
    aliases = sum(1 for c in people if c.alias)
    lines = ["Everyone can choose on the team page (Me) to be hidden from the wall, to be celebrated but never "
             "ranked, or to be shown under an alias. A choice takes effect at the next poll "
             f"(within {cfg.feed.interval:g} s). Hidden people still count in their team's totals.",
             f"The admin has set, in the config: {hidden} hidden, {only} celebrated but not ranked, "
             f"{aliases} with an alias. Where both have chosen, the more private choice wins; "
             "a person's own alias wins over the admin's."]
    if cfg.feed.type == "hub":  # the choices live in the hub's state file; the hub publishes them
        lines[0] = ("Everyone can choose on the team page (Me) beside the hub to be hidden from the wall, to be "
                    "celebrated but never ranked, or to be shown under an alias. The hub sends those choices "
                    "to this screen over the broker within a second, and it applies them at once. "
                    "Hidden people still count in their team's totals.")
    return Section("Each person's own choice", tuple(lines))


def _audience(cfg: Config) -> Section:
    hours = cfg.schedule.hours
    when = ("The screen is on during these hours and dark outside them: " +
            ", ".join(f"{d} {h}" for d, h in hours.items()) + ".") if hours else \
        "The screen is on at all hours (no `[schedule] hours` are set)."
    return Section("Who sees it", (
        f"Anyone in front of the screen titled \"{cfg.display.title}\": colleagues, managers and visitors. "
        "The wall has no sign-in; assume everyone in the room can read it.",
        when,
        f"The team page (`chalkwall web`, {cfg.web.url()}) is only for people with a personal sign-in link, "
        "and the admin. Each person there sees and changes their own choices.",
    ))


def _stored(cfg: Config) -> Section:
    p = cfg.privacy
    samples = min(p.keep_days, SAMPLE_DAYS)
    directory = feed_state_dir(cfg.state.dir, cfg.feed.type)
    if cfg.hub is not None:
        where = (f"Where: one SQLite file in `{directory}` on the hub's computer, which the team page beside it "
                 f"reads. The hub sends each team's board (names and today's values of everyone on the feed, "
                 f"before any privacy profile is applied), the game's progress and the people's own privacy choices from the team page (each one's ranking and alias, by agent id) through the MQTT broker "
                 f"`{cfg.hub.broker}` to the site's screens: only logins the broker's ACL lets read "
                 f"site `{cfg.hub.site}` get them, over TLS unless the broker is on this computer. Each screen "
                 "applies its own `[privacy]` profile before anything is drawn, and keeps nothing but the "
                 "celebrations it has shown.")
    elif cfg.feed.type == "hub":
        where = ("Where: this screen stores no values: the hub keeps them. It receives its teams' boards "
                 "(names and values, before any profile) from the hub through the MQTT broker and applies "
                 "this config's `[privacy]` profile before anything is drawn; it keeps on disk only which "
                 "celebrations it has shown.")
    else:
        where = (f"Where: one SQLite file in `{directory}` on the wall's computer. chalkwall sends none of it "
                 "anywhere; the team page on the same computer reads it.")
    lines = [
        where,
        f"Each person's daily, weekly and monthly values: **{p.keep_days} days**; after that only team and floor "
        "totals are kept.",
        f"Each person's values through the day (for \"yesterday at this time\"): **{samples} days**.",
        "Team and floor totals: kept (they name no one).",
        "Points awarded (the ledger, for rewards and payroll): kept, with the person's id and the amount, because "
        "a payout may still need them. The person's name beside it is forgotten once they have had no award "
        f"for {p.keep_days} days; who sent a thank-you is forgotten after {p.keep_days} days.",
        f"Thank-yous given on the team page (who, to whom, the words, public or quiet): **{p.keep_days} days**; "
        "their points stay in the ledger.",
        "Shop requests (who asked for which item, each step, an admin's reason for a decline): kept with the "
        "ledger, for payroll and tax.",
        "Someone who leaves the feed: their own history is gone "
        f"{p.keep_days} days after their last day; their points stay under their id.",
        "The last board (names and today's values of everyone on the feed): only the latest poll, replaced at the next.",
        f"Each person's privacy choice and team-page entry (name, sign-in link): until they change it, or "
        f"{p.keep_days} days after their last day on the feed.",
    ]
    if cfg.feed.avatars:
        lines.append("Photos (avatars) the feed links to: a cache of the latest copy, refreshed while the person is "
                     "on the feed.")
    if cfg.feed.type == "hub":
        awards = "no awards (the hub records and logs them)"
    elif p.mode == "named":
        awards = ("each award with the points and the person's name as the feed gives it, or only their agent id "
                  "for anyone with a privacy choice (hidden, not ranked, an alias; theirs or the admin's)")
    else:
        awards = (f"each award with the points and the person's agent id only (never a name, under the `{p.mode}` "
                  "profile)")
    lines.append(f"Logs ({cfg.log.format}, to the system journal, for the admin; never on the wall): {awards}; "
                 "each celebration banner and thank-you toast as the wall showed it (under this profile's names, "
                 "never a thank-you's words); the team page's thank-yous by ids. The journal's own retention "
                 "applies (`journalctl --vacuum-time`).")
    return Section("What is stored, and for how long", tuple(lines))


def sections(cfg: Config) -> list[Section]:
    return [_shown(cfg), _scenes(cfg), _features(cfg), _choices(cfg), _audience(cfg), _stored(cfg)]


def _source(cfg: Config, label: str) -> str:
    return f"Generated by `chalkwall privacy report` from {label} (feed: {cfg.feed.type})."


def markdown(cfg: Config, label: str) -> str:
    out = [f"# Privacy: what \"{cfg.display.title}\" shows and keeps", "", _source(cfg, label), ""]
    for section in sections(cfg):
        out += [f"## {section.title}", ""] + [f"- {line}" for line in section.lines] + [""]
    out += ["This page is material for a DPIA, a works council or a union negotiation; it is not legal advice.", ""]
    return "\n".join(out)


CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans", "DejaVu Sans", sans-serif; font-size: 11pt; line-height: 1.45; color: #111;
       max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; margin-top: 1.4em; border-bottom: 1px solid #999; break-after: avoid; }
li { margin: 0.25em 0; break-inside: avoid; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.95em; }
.source, .note { color: #444; font-size: 9.5pt; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"""


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` as HTML, everything else escaped."""
    out: list[str] = []
    bold = False
    for i, part in enumerate(html.escape(text, quote=False).split("`")):
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        pieces = part.split("**")
        for j, piece in enumerate(pieces):
            if j:
                out.append("</strong>" if bold else "<strong>")
                bold = not bold
            out.append(piece)
    return "".join(out) + ("</strong>" if bold else "")


def html_page(cfg: Config, label: str) -> str:
    title = f"Privacy: what \u201c{cfg.display.title}\u201d shows and keeps"
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="source">{_inline(_source(cfg, label))}</p>']
    for section in sections(cfg):
        body.append(f"<h2>{html.escape(section.title)}</h2>\n<ul>")
        body += [f"  <li>{_inline(line)}</li>" for line in section.lines]
        body.append("</ul>")
    body.append('<p class="note">This page is material for a DPIA, a works council or a union negotiation; '
                "it is not legal advice.</p>")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(cfg: Config, label: str, fmt: str, out: Path | None) -> str:
    """The report in ``fmt`` ("md" or "html"), written to ``out`` when given; the text."""
    text = html_page(cfg, label) if fmt == "html" else markdown(cfg, label)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    return text
