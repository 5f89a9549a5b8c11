"""What every ``smartlic-cloud`` subcommand shares: the parser, the data folder, output, errors.

Subcommands other than ``serve`` work on the data folder directly (no server), in one transaction
each. Errors are one line on stderr: exit 2 for bad input (arguments, an unreadable file), exit 1
for what the cloud refuses or cannot do. With ``--json`` stdout carries a stable JSON document:
the answer, or the problem document of a refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from uuid import UUID

from pydantic import BaseModel, ValidationError

from core.clock import utc_now
from core.mock_cloud.datadir import CloudData, open_data_dir
from core.mock_cloud.db import CloudDBError
from core.mock_cloud.problems import ApiProblem, make_problem
from core.paths import default_data_dir, embedded_cloud_dir

PROG = "smartlic-cloud"
Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit 2, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


class CliError(Exception):
    """A one-line failure of a subcommand, with its exit code and a stable code for ``--json``."""

    def __init__(self, message: str, *, exit_code: int, code: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code


def default_cloud_dir() -> Path:
    """The folder the embedded demo cloud uses too, so both see the same licenses."""
    explicit = os.environ.get("SMARTLIC_DATA_DIR")
    return embedded_cloud_dir(Path(explicit) if explicit else default_data_dir())


def data_dir_of(args: argparse.Namespace) -> Path:
    data: Path | None = args.data
    return (data or default_cloud_dir()).expanduser().resolve()


def common_options() -> Parser:
    """``--data`` and ``--json``, for every subcommand (a parent parser)."""
    options = Parser(add_help=False)
    options.add_argument(
        "--data", metavar="DIR", type=Path, default=None, help="data folder (default: the demo's)"
    )
    options.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    return options


def uuid_arg(what: str) -> Callable[[str], UUID]:
    def parse(text: str) -> UUID:
        try:
            return UUID(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {what} (a UUID)") from None

    return parse


@contextmanager
def cloud_data(args: argparse.Namespace) -> Iterator[CloudData]:
    data_dir = data_dir_of(args)
    try:
        data = open_data_dir(data_dir, clock=utc_now)
    except (OSError, CloudDBError) as exc:
        raise CliError(
            f"cannot use data folder {data_dir}: {exc}", exit_code=1, code="data_unusable"
        ) from None
    try:
        yield data
    finally:
        data.db.close()


def first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def emit(args: argparse.Namespace, document: BaseModel | dict[str, Any], human: list[str]) -> None:
    if args.json:
        text = document.model_dump_json() if isinstance(document, BaseModel) else json.dumps(document)
        print(text)
    else:
        for line in human:
            print(line)


def run(args: argparse.Namespace, handler: Handler) -> int:
    """Run a subcommand; refusals and input errors become one line on stderr and an exit code."""
    try:
        return handler(args)
    except ApiProblem as exc:
        failure = (exc.detail, 1, exc.problem().model_dump(mode="json"))
    except CliError as exc:
        status = 400 if exc.exit_code == 2 else 500
        failure = (str(exc), exc.exit_code, make_problem(status, exc.code, str(exc)).model_dump(mode="json"))
    message, exit_code, problem = failure
    if args.json:
        print(json.dumps(problem))
    print(f"{PROG}: {message}", file=sys.stderr)
    return exit_code
