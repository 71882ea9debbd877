"""The package layout holds: feeds/ never reaches up a layer or into display/ and pygame, display/
never opens the network, and no import cycle joins two feeds sub-packages."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top; a module may import from its own layer or any below it (its own sub-package aside).
LAYERS = [
    {"feeds.model", "feeds.periods", "feeds.logs", "feeds.db", "feeds.faults"},
    {"feeds.config"},
    {"feeds.connectors", "feeds.board", "feeds.bus"},  # the bus: the MQTT link a hub's screen reads through
    {"feeds.game", "feeds.privacy"},  # privacy redacts the board and the game the wall receives
    {"feeds.live", "feeds.web"},
    {"feeds.publish"},  # the hub: a live feed whose reader publishes
    {"feeds.bench", "feeds.connector_bench", "feeds.web_bench", "feeds.hub_bench", "feeds.hub_bench_run"},
]


def unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def layer(module: str) -> int:
    return next(i for i, group in enumerate(LAYERS) if unit(module) in group)


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_feeds_module_imports_only_from_its_layer_or_below() -> None:
    wrong = []
    for path in sorted((ROOT / "feeds").rglob("*.py")):
        me = module_name(path)
        for line, name in imports(path):
            if name.split(".")[0] in ("pygame", "display"):
                wrong.append(f"{me}:{line} imports {name} (feeds/ never draws)")
            elif name == "feeds.connectors.registry" and unit(me) == "feeds.config":
                continue  # the one way down: the config reads the connector registry when it parses
            elif name.startswith("feeds.") and unit(name) != unit(me) and layer(name) > layer(me):
                wrong.append(f"{me}:{line} imports {name}, a layer above it")
    assert wrong == []


def test_connectors_and_board_do_not_import_each_other() -> None:
    crossed = [f"{module_name(p)}:{line} imports {name}"
               for side, other in (("connectors", "feeds.board"), ("board", "feeds.connectors"))
               for p in sorted((ROOT / "feeds" / side).rglob("*.py"))
               for line, name in imports(p) if unit(name) == other]
    assert crossed == []


def test_display_never_opens_the_network() -> None:
    net = {"httpx", "socket", "urllib.request", "http.client", "feeds.connectors.transport"}
    found = [f"{module_name(p)}:{line} imports {name}" for p in sorted((ROOT / "display").rglob("*.py"))
             for line, name in imports(p) if name in net and not (p.name == "health.py" and name == "socket")]
    assert found == []
