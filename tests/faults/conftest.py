"""Prints the fault matrix at the end of the session: one row per case, then the figures.

faults: 33 cases, 33 healed, 0 lost, 0 duplicated
"""

from __future__ import annotations

import pytest

from tests.faults.matrix import OUTCOMES
from tests.faults.ownership_model import FIGURES, STATS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATS["steps"]:
        terminalreporter.write_line(
            f"ownership model: {STATS['steps']} steps in {STATS['runs']} runs "
            f"({STATS['kills']} kills, {STATS['refusals']} refusals, {STATS['returned']} offline returns, "
            f"{STATS['credited']} credits, {STATS['cancelled']} cancels), largest batch {STATS['largest']}"
        )
    for line in FIGURES:
        terminalreporter.write_line(line)
    if not OUTCOMES:
        return
    write = terminalreporter.write_line
    write("")
    header = f"{'family':<11}{'operation':<12}{'point / fault':<24}{'exit':>5}  {'cloud did it':<13}"
    write(header + f"{'healed by':<34}{'lost':>5}{'dup':>5}  result")
    for o in OUTCOMES:
        committed = "-" if o.cloud_committed is None else "yes" if o.cloud_committed else "no"
        exit_code = "-" if o.exit_code is None else str(o.exit_code)
        write(
            f"{o.family:<11}{o.operation:<12}{o.point:<24}{exit_code:>5}  {committed:<13}"
            f"{o.healed_by[:33]:<34}{o.lost:>5}{o.duplicated:>5}  {'healed' if o.healed else 'FAILED'}"
        )
        if o.note:
            write(f"    {o.note}")
        for problem in o.problems:
            write(f"    ! {problem}")
    healed = sum(o.healed for o in OUTCOMES)
    lost = sum(o.lost for o in OUTCOMES)
    duplicated = sum(o.duplicated for o in OUTCOMES)
    seconds = sum(o.seconds for o in OUTCOMES)
    write(
        f"faults: {len(OUTCOMES)} cases, {healed} healed, {lost} lost, {duplicated} duplicated "
        f"({seconds:.0f} s)"
    )
