"""SVG snapshots of every screen and modal at 80x24 and 120x40 (fixed clock, seeded data, no blink).

Regenerate on purpose: .venv/bin/pytest tests/tui --snapshot-update
"""

from __future__ import annotations

import pytest

from tests.support.scenarios import SCENARIOS
from tests.support.tui import make_app

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_snapshot(snap_compare, tmp_path, name: str, size: tuple[int, int]) -> None:
    app = make_app(tmp_path / "data")
    assert snap_compare(app, terminal_size=size, run_before=SCENARIOS[name])
