"""Counts what the fuzz tests tried and prints one line at the end of the session.

    fuzz: 1234 examples tried, 0 crashes

A crash is an exception that is not a SmartlicError. Crashes inside tests marked xfail are known
bugs (each has a reproducer there) and are reported apart, so the line stays honest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.fuzz_helpers import STATS, Env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    STATS.current = item.nodeid
    if item.get_closest_marker("xfail") is not None:
        STATS.known.add(item.nodeid)
    yield
    STATS.current = "(outside a test)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not STATS.examples:
        return
    examples = sum(STATS.examples.values())
    known = sum(n for test, n in STATS.crashes.items() if test in STATS.known)
    crashes = sum(STATS.crashes.values()) - known
    line = f"fuzz: {examples} examples tried, {crashes} crashes"
    if known:
        line += (
            f" ({known} more in {len(STATS.known & set(STATS.crashes))} xfail reproducer(s) of known bugs)"
        )
    terminalreporter.write_line(line)
    if terminalreporter.config.getoption("verbose") > 0:
        for test, n in sorted(STATS.examples.items()):
            terminalreporter.write_line(f"  {n:6d} examples, {STATS.crashes[test]:3d} crashes  {test}")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """One service per test function, reused by every example of it (compare snapshots, not fresh stores)."""
    environment = Env(tmp_path)
    yield environment
    environment.close()
