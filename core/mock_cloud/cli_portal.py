"""``smartlic-cloud portal fulfil|return``: the Customer Portal on offline files.

Files are SignedDocument JSON: the request and the return receipt as the controller wrote them,
the response exactly as the cloud stored it (so fulfilling the same request again writes the same
bytes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from core import safe_files
from core.clock import utc_now
from core.mock_cloud import portal
from core.mock_cloud.cli_common import (
    CliError,
    Parser,
    cloud_data,
    common_options,
    emit,
    first_error,
    uuid_arg,
)
from core.models import OfflineResponse, SignedDocument


def _read_document(path: Path, what: str) -> SignedDocument:
    try:
        raw = safe_files.read_bytes(path, limit=safe_files.DOCUMENT_LIMIT, what=what)
    except safe_files.FileError as exc:
        raise CliError(exc.message, exit_code=2, code="unreadable_file") from None
    try:
        return SignedDocument.model_validate_json(raw)
    except ValidationError as exc:
        raise CliError(
            f"{path} is not a smartlic {what} (a signed JSON document): {first_error(exc)}",
            exit_code=2,
            code="invalid_file",
        ) from None


def _file_error(exc: safe_files.FileError) -> CliError:
    """A refused target is bad input (exit 2); a write the system refused is exit 1."""
    code = exc.code if exc.exit_code == 2 else "unwritable_file"
    return CliError(f"{exc.message} {exc.hint or ''}".strip(), exit_code=exc.exit_code, code=code)


def fulfil(args: argparse.Namespace) -> int:
    request = _read_document(args.request_file, "request file")
    output: Path = args.output
    try:
        safe_files.check_writable_target(output, force=args.force)
        with cloud_data(args) as data, data.db.write() as tx:
            answer = portal.fulfil(tx, data.signer, request, args.license, utc_now())
        # Written after the commit: if writing fails, running the command again writes the same answer.
        output = safe_files.write_file(output, (answer + "\n").encode("utf-8"), force=args.force)
    except safe_files.FileError as exc:
        raise _file_error(exc) from None
    response = OfflineResponse.model_validate(SignedDocument.model_validate_json(answer).payload)
    license_ids = [str(d.payload["license_id"]) for d in response.licenses]
    emit(
        args,
        {
            "request_id": response.request_id,
            "install_code": response.install_code,
            "customer_id": str(response.customer_id),
            "license_ids": license_ids,
            "response_file": str(output),
        },
        [
            f"Wrote {output}: {len(license_ids)} license(s) for segment controller {response.install_code} "
            f"(customer {response.customer_id}, request {response.request_id}).",
            "Load it on the segment controller with Add License.",
        ],
    )
    return 0


def credit_return(args: argparse.Namespace) -> int:
    receipt = _read_document(args.receipt_file, "return receipt")
    with cloud_data(args) as data, data.db.write() as tx:
        answer = portal.ReturnAnswer.model_validate_json(portal.credit_return(tx, receipt, utc_now()))
    emit(
        args,
        answer,
        [
            f"Credited {len(answer.credited)} license(s) back to the cloud from segment controller "
            f"{answer.install_code} (receipt {answer.receipt_id}):",
            *(f"  {license_id}" for license_id in answer.credited),
        ],
    )
    return 0


def add_portal_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    common = common_options()
    group = commands.add_parser("portal", help="Customer Portal: offline activation files")
    actions = group.add_subparsers(dest="portal_command", required=True, parser_class=Parser)

    make = actions.add_parser("fulfil", parents=[common], help="answer an offline request file")
    make.add_argument("request_file", metavar="REQUEST_FILE", type=Path)
    make.add_argument(
        "--license",
        metavar="ID",
        type=uuid_arg("License ID"),
        action="append",
        required=True,
        help="a License ID of the request's customer to activate (repeat for more)",
    )
    make.add_argument("-o", "--output", metavar="RESPONSE_FILE", type=Path, required=True)
    make.add_argument("--force", action="store_true", help="replace RESPONSE_FILE if it exists")
    make.set_defaults(handler=fulfil)

    back = actions.add_parser("return", parents=[common], help="credit back a return receipt")
    back.add_argument("receipt_file", metavar="RECEIPT_FILE", type=Path)
    back.set_defaults(handler=credit_return)
