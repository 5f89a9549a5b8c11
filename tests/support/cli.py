"""`smartlic` and `smartlic-cloud` run in this process, their output captured."""

from __future__ import annotations

import json

import pytest

from core.mock_cloud import cli as cloud_cli
from tui import cli

A = "SmartServer-A"


class Cli:
    """`smartlic` and `smartlic-cloud` in this process, on one data folder (the embedded demo)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.out = self.err = ""

    def __call__(self, *args: str, code: int = 0) -> str:
        return self._run(cli.main, args, code)

    def json(self, *args: str, code: int = 0) -> dict:
        return json.loads(self._run(cli.main, (*args, "--json"), code))

    def cloud(self, *args: str, code: int = 0) -> str:
        return self._run(cloud_cli.main, args, code)

    def _run(self, main, args: tuple[str, ...], code: int) -> str:
        self.capsys.readouterr()
        returned = main(list(args))
        self.out, self.err = self.capsys.readouterr()
        assert returned == code, (args, self.out, self.err)
        if code == 2:  # refused input: one line, no traceback
            assert self.err.count("\n") == 1 and "Traceback" not in self.err, self.err
        return self.out

    def active(self) -> list[str]:
        return [r["license_id"] for r in self.json("licenses")["licenses"]]
