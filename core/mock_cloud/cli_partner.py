"""``smartlic-cloud partner ...``: the Partner Portal on the data folder, as one partner.

The partner is the one whose token ``--token`` gives (default: the demo partner's), exactly as the
HTTP API would authenticate it, so both faces see and may touch the same things.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from core.clock import utc_now
from core.mock_cloud import partner
from core.mock_cloud.cli_common import (
    CliError,
    Parser,
    cloud_data,
    common_options,
    emit,
    first_error,
    uuid_arg,
)
from core.mock_cloud.db import Partner, Tx
from core.mock_cloud.partner import LicenseList, NewCustomer, NewLicenses, PartnerLicense
from core.mock_cloud.seed import DEMO_PARTNER_TOKEN
from core.models import LicenseKind
from core.rules import is_install_code

_T = TypeVar("_T", bound=BaseModel)


def _as_partner(args: argparse.Namespace, operation: Callable[[Tx, Partner], _T]) -> _T:
    """Run ``operation`` as the partner of ``--token`` in one write transaction."""
    with cloud_data(args) as data, data.db.write() as tx:
        return operation(tx, partner.authenticate(tx, args.token))


def _body(model: type[_T], **values: object) -> _T:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise CliError(first_error(exc), exit_code=2, code="invalid_input") from None


def _license_line(item: PartnerLicense) -> str:
    where = []
    if item.customer_id is not None:
        where.append(f"customer {item.customer_id}")
    if item.install_code is not None:
        where.append(f"active on {item.install_code}")
    if item.earmarked_install_code is not None:
        where.append(f"reserved for {item.earmarked_install_code}")
    suffix = f"  ({', '.join(where)})" if where else ""
    return f"{item.license_id}  {item.description}{suffix}"


def _license_lines(listing: LicenseList, empty: str) -> list[str]:
    return [_license_line(i) for i in listing.items] or [empty]


def create_customer(args: argparse.Namespace) -> int:
    body = _body(NewCustomer, name=args.name)
    account = _as_partner(args, lambda tx, who: partner.create_customer(tx, who, body))
    emit(args, account, [f"Created customer account {account.name!r}: Customer ID {account.customer_id}"])
    return 0


def list_customers(args: argparse.Namespace) -> int:
    listing = _as_partner(args, partner.list_customers)
    lines = [f"{c.customer_id}  {c.name}" for c in listing.items] or ["No customer accounts yet."]
    emit(args, listing, lines)
    return 0


def inventory(args: argparse.Namespace) -> int:
    if args.customer is None:
        listing = _as_partner(args, partner.inventory)
        empty = "My Inventory is empty: every license bought was handed to a customer."
    else:
        listing = _as_partner(args, lambda tx, who: partner.customer_inventory(tx, who, args.customer))
        empty = "This customer has no licenses yet."
    emit(args, listing, _license_lines(listing, empty))
    return 0


def add_licenses(args: argparse.Namespace) -> int:
    body = _body(NewLicenses, kind=args.kind, devices=args.devices, term_years=args.term, count=args.count)
    today = utc_now().date()
    listing = _as_partner(args, lambda tx, who: partner.add_licenses(tx, who, body, today))
    emit(
        args,
        listing,
        [f"Added {len(listing.items)} license(s) to My Inventory:", *_license_lines(listing, "")],
    )
    return 0


def hand_over(args: argparse.Namespace) -> int:
    today = utc_now().date()
    listing = _as_partner(
        args, lambda tx, who: partner.hand_over(tx, who, args.customer, args.license_ids, today)
    )
    emit(
        args,
        listing,
        [f"Customer {args.customer} now has:", *_license_lines(listing, "")],
    )
    return 0


def earmark(args: argparse.Namespace) -> int:
    code = None if args.clear else args.install_code
    body = _body(partner.Earmark, install_code=code)
    today = utc_now().date()
    item = _as_partner(args, lambda tx, who: partner.earmark(tx, who, args.license_id, body, today))
    text = f"reserved for segment controller {code}" if code else "no longer reserved for any controller"
    emit(args, item, [f"License {item.license_id} is {text}."])
    return 0


def _install_code(text: str) -> str:
    if not is_install_code(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an install code (7 characters, 0-9 and a-z)")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def add_partner_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    options = Parser(add_help=False, parents=[common_options()])
    options.add_argument(
        "--token", default=DEMO_PARTNER_TOKEN, help="the partner's token (default: the demo partner's)"
    )
    group = commands.add_parser("partner", help="Partner Portal: customers, inventory, hand-over")
    areas = group.add_subparsers(dest="partner_command", required=True, parser_class=Parser)

    customers = areas.add_parser("customers", help="customer/project accounts")
    customer_actions = customers.add_subparsers(dest="customers_command", required=True, parser_class=Parser)
    create = customer_actions.add_parser("create", parents=[options], help="add an account (makes its ID)")
    create.add_argument("name", metavar="NAME")
    create.set_defaults(handler=create_customer)
    listing = customer_actions.add_parser("list", parents=[options], help="list the accounts")
    listing.set_defaults(handler=list_customers)

    stock = areas.add_parser("inventory", parents=[options], help="My Inventory, or a customer's")
    stock.add_argument("--customer", metavar="CUSTOMER_ID", type=uuid_arg("Customer ID"), default=None)
    stock.set_defaults(handler=inventory)

    licenses = areas.add_parser("licenses", help="purchased licenses")
    license_actions = licenses.add_subparsers(dest="licenses_command", required=True, parser_class=Parser)
    add = license_actions.add_parser("add", parents=[options], help="record purchased licenses")
    add.add_argument("--kind", choices=[k.value for k in LicenseKind], required=True)
    add.add_argument("--devices", metavar="N", type=_positive, required=True)
    add.add_argument("--term", metavar="1|3", type=int, choices=[1, 3], default=None, help="maintenance only")
    add.add_argument("--count", metavar="N", type=_positive, default=1, help="how many (default 1)")
    add.set_defaults(handler=add_licenses)

    hand = areas.add_parser("hand", parents=[options], help="hand licenses from My Inventory to a customer")
    hand.add_argument("--customer", metavar="CUSTOMER_ID", type=uuid_arg("Customer ID"), required=True)
    hand.add_argument("license_ids", metavar="LICENSE_ID", type=uuid_arg("License ID"), nargs="+")
    hand.set_defaults(handler=hand_over)

    mark = areas.add_parser("earmark", parents=[options], help="reserve a license for one install code")
    mark.add_argument("license_id", metavar="LICENSE_ID", type=uuid_arg("License ID"))
    target = mark.add_mutually_exclusive_group(required=True)
    target.add_argument("install_code", metavar="INSTALL_CODE", type=_install_code, nargs="?")
    target.add_argument("--clear", action="store_true", help="remove the reservation")
    mark.set_defaults(handler=earmark)
