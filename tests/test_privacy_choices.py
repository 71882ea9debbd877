"""The privacy choices store: defaults, round trips through a real SQLite file, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.privacy.choices import ALIAS_MAX, DEFAULT, Choice, Choices, clean_alias


def test_default_until_chosen_and_back(tmp_path: Path) -> None:
    store = Choices(tmp_path)
    assert store.get("a1") == DEFAULT and store.all() == {}
    store.set("a1", "celebrate_only", "  Night   owl ")
    assert store.get("a1") == Choice("celebrate_only", "Night owl")
    store.set("a1", "ranked", None)
    assert store.all() == {}


def test_another_connection_sees_the_choice_and_the_version_moves(tmp_path: Path) -> None:
    wall, page = Choices(tmp_path), Choices(tmp_path)
    before = wall.version()
    page.set("ödegård", "hidden", "Åsa Ö.")
    assert wall.version() != before
    assert wall.all() == {"ödegård": Choice("hidden", "Åsa Ö.")}
    assert not wall.get("ödegård").named and not wall.get("ödegård").ranked


@pytest.mark.parametrize("alias", ["x" * (ALIAS_MAX + 1), "bad\u0007bell", "zero\u200bwidth"])
def test_aliases_the_wall_cannot_show_are_refused(alias: str) -> None:
    with pytest.raises(ValueError):
        clean_alias(alias)


def test_unknown_ranking_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Choices(tmp_path).set("a1", "shown")  # type: ignore[arg-type]
