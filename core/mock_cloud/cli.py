"""``smartlic-cloud serve``: run the mock license cloud over HTTP.

Before serving it prints three lines a caller (a test, the TUI, a person) can read from stdout:
``url: ...``, ``public-key: ...`` and ``demo-customer-id: ...``. The socket is bound before they are
printed, so with ``--port 0`` the URL names the port actually in use.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

from core.mock_cloud.faults import Faults
from core.mock_cloud.seed import DEFAULT_EARMARK_INSTALL_CODE
from core.rules import is_install_code

PROG = "smartlic-cloud"


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit 2, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def default_data_dir() -> Path:
    """The folder the embedded demo cloud uses too, so both see the same licenses."""
    explicit = os.environ.get("SMARTLIC_DATA_DIR")
    if explicit:
        return Path(explicit) / "cloud"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "smartlic" / "cloud"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is not in 0-65535")
    return value


def _faults(text: str) -> Faults:
    try:
        return Faults.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _install_code(text: str) -> str:
    if not is_install_code(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an install code (7 characters, 0-9 and a-z)")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="The mock license cloud of smartlic.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="serve the cloud API over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8765, help="port; 0 picks a free one (default 8765)")
    serve.add_argument("--data", type=Path, default=None, help="data folder (default: the demo's)")
    serve.add_argument("--faults", type=_faults, default=None, help="e.g. delay=0.1,fail=3,malformed=1")
    serve.add_argument(
        "--earmark", type=_install_code, default=DEFAULT_EARMARK_INSTALL_CODE, help="install code to earmark"
    )
    serve.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now means a client that reads the URL and connects at once is queued, not refused.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(args: argparse.Namespace) -> int:
    import uvicorn  # here, so importing the app stays light

    from core.mock_cloud.app import create_app
    from core.mock_cloud.db import CloudDBError

    data_dir: Path = (args.data or default_data_dir()).expanduser().resolve()
    try:
        app = create_app(data_dir, faults=args.faults, earmark_install_code=args.earmark)
    except (OSError, CloudDBError) as exc:
        print(f"{PROG}: cannot use data folder {data_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"{PROG}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    print(f"url: {_url(sock)}", flush=True)
    print(f"public-key: {app.state.public_key_path}", flush=True)
    print(f"demo-customer-id: {app.state.demo_customer_id}", flush=True)

    stopped_by: list[int] = []

    def _note(signum: int, _frame: FrameType | None) -> None:
        stopped_by.append(signum)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal under the handlers
    # it found; with these, that re-raise is a no-op and we exit 0 instead of dying by the signal.
    previous = {sig: signal.signal(sig, _note) for sig in (signal.SIGINT, signal.SIGTERM)}
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        app.state.db.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # argparse refuses unknown commands before this


if __name__ == "__main__":
    raise SystemExit(main())
