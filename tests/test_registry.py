"""The connector registry is the one list of feed types: the docs table, the config checker and
every type's doc page agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from feeds.connectors.registry import CONNECTORS, docs_table
from helpers import ROOT, config_problems


def test_the_docs_table_is_the_registry() -> None:
    text = (ROOT / "docs" / "connectors" / "README.md").read_text()
    found = re.search(r"<!-- registry table:.*?-->\n(.*?)<!-- end of registry table -->", text, re.S)
    assert found is not None and found.group(1) == docs_table(), \
        "docs/connectors/README.md is out of date: paste feeds.connectors.registry.docs_table() in"


def test_every_feed_type_has_its_doc_page() -> None:
    missing = [t.doc for t in CONNECTORS.values() if t.doc and not (ROOT / "docs" / t.doc).is_file()]
    assert missing == []


def test_a_misspelt_type_is_named_with_the_closest_one(tmp_path: Path) -> None:
    for name in CONNECTORS:
        if len(name) < 4:
            continue
        typo = name[:-1]
        found = config_problems(tmp_path, f'[feed]\ntype = "{typo}"\n')
        assert any(f'did you mean "{name}"' in p for p in found), found


def test_a_key_of_another_feed_type_is_refused_and_says_which_types_take_it(tmp_path: Path) -> None:
    found = config_problems(tmp_path, '[feed]\ntype = "demo"\nurl = "https://example.com/feed.json"\n')
    assert found == ['config.toml: feed.url: does not apply to feed type "demo" (only to "http", "csv")']
