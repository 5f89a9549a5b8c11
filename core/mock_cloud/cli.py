"""``smartlic-cloud``: serve the mock license cloud, or use its portals on the data folder.

``serve`` prints three lines a caller (a test, the TUI, a person) can read from stdout before
serving: ``url: ...``, ``public-key: ...`` and ``demo-customer-id: ...`` (with ``--json``: one JSON
object with those keys). The socket is bound before they are printed, so with ``--port 0`` the URL
names the port actually in use. ``--admin`` (or ``--faults``) adds the unauthenticated
``/api/v1/admin/*`` endpoints; without either they answer 404.

``portal ...`` (Customer Portal) and ``partner ...`` (Partner Portal) need no server: they open
the data folder directly, see ``cli_common``.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
from types import FrameType

from core.mock_cloud.cli_common import PROG, Parser, common_options, data_dir_of, default_cloud_dir, run
from core.mock_cloud.cli_partner import add_partner_commands
from core.mock_cloud.cli_portal import add_portal_commands
from core.mock_cloud.faults import Faults
from core.mock_cloud.seed import DEFAULT_EARMARK_INSTALL_CODE
from core.models import MAX_BATCH
from core.rules import is_install_code

__all__ = ["PROG", "default_cloud_dir", "main"]


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


def _max_batch(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"--max-batch {text!r} is not a number in 1-{MAX_BATCH}")
    return int(text)


def _install_code(text: str) -> str:
    if not is_install_code(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an install code (7 characters, 0-9 and a-z)")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="The mock license cloud of smartlic.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve = commands.add_parser("serve", parents=[common_options()], help="serve the cloud API over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8765, help="port; 0 picks a free one (default 8765)")
    serve.add_argument(
        "--faults",
        type=_faults,
        default=None,
        help="e.g. delay=0.1,fail=3,malformed=1 (implies --admin)",
    )
    serve.add_argument(
        "--admin",
        action="store_true",
        help="serve /api/v1/admin/* (fault injection; unauthenticated: for tests only)",
    )
    serve.add_argument(
        "--earmark", type=_install_code, default=DEFAULT_EARMARK_INSTALL_CODE, help="install code to earmark"
    )
    serve.add_argument(
        "--max-batch", type=_max_batch, default=MAX_BATCH, help="most licenses per call (default 5000)"
    )
    serve.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    add_portal_commands(commands)
    add_partner_commands(commands)
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

    data_dir = data_dir_of(args)
    try:
        app = create_app(
            data_dir,
            faults=args.faults,
            earmark_install_code=args.earmark,
            admin=args.admin or args.faults is not None,
            max_batch=args.max_batch,
        )
    except (OSError, CloudDBError) as exc:
        print(f"{PROG}: cannot use data folder {data_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"{PROG}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    header = {
        "url": _url(sock),
        "public-key": str(app.state.public_key_path),
        "demo-customer-id": str(app.state.demo_customer_id),
    }
    if args.json:
        print(json.dumps({name.replace("-", "_"): value for name, value in header.items()}), flush=True)
    else:
        for name, value in header.items():
            print(f"{name}: {value}", flush=True)

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
    return run(args, args.handler)


if __name__ == "__main__":
    raise SystemExit(main())
