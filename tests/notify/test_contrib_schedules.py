"""The shipped systemd units and cron line run `smartlic notify` as the command line defines it."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from tui.cli import build_parser

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"


class UnitParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # systemd keys are case-sensitive


def unit(name: str) -> configparser.ConfigParser:
    parser = UnitParser(strict=False, interpolation=None)
    parser.read(CONTRIB / "systemd" / name)
    return parser


def test_service_runs_notify_once_per_start() -> None:
    service = unit("smartlic-notify.service")["Service"]
    assert service["Type"] == "oneshot"
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/smartlic")
    assert build_parser().parse_args(command[1:]).command == "notify"
    assert "SMARTLIC_DATA_DIR=" in service["Environment"] or "SMARTLIC_CONFIG=" in service["Environment"]
    assert "PASSWORD" not in service.get("Environment", "")  # secrets live in the EnvironmentFile


def test_timer_is_daily_and_catches_up() -> None:
    timer = unit("smartlic-notify.timer")
    assert timer["Timer"]["OnCalendar"].startswith("*-*-*")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_cron_line_runs_notify() -> None:
    lines = [
        line
        for line in (CONTRIB / "cron" / "smartlic-notify").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    minute, hour, _dom, _month, _dow, user, command = fields
    assert (minute, hour, user) == ("0", "7", "smartlic")
    assert command.rstrip().endswith("/smartlic notify")
