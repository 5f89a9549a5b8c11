"""The action table: one row per user action of Manage Licenses, used by the key bindings, the
buttons, the command palette and the help screen, so the four always agree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class ActionSpec:
    id: str
    """Binding id: the name to use in ``Settings.keys`` to remap the key."""
    key: str
    action: str
    title: str
    """The seed's name, as users know it (buttons and command palette)."""
    footer: str
    """Short label for the footer."""
    help: str


HOME_ACTIONS: list[ActionSpec] = [
    ActionSpec(
        "accounts",
        "c",
        "customer_accounts",
        "Manage Customer Accounts",
        "Accounts",
        "Set the Customer ID of each segment controller",
    ),
    ActionSpec(
        "download",
        "d",
        "download",
        "Download Licenses from the Cloud",
        "Download",
        "Load the licenses the cloud holds for a segment and activate them",
    ),
    ActionSpec(
        "add_license",
        "l",
        "add_license",
        "Add License",
        "Add",
        "Activate a license file (offline activation)",
    ),
    ActionSpec(
        "transfer",
        "t",
        "transfer",
        "Transfer to Cloud",
        "Transfer",
        "Return every license of a segment to the cloud",
    ),
    ActionSpec(
        "devices", "v", "devices", "Devices", "Devices", "Device states and provisioning of a segment"
    ),
    ActionSpec(
        "notifications",
        "n",
        "notifications",
        "Edit Notifications",
        "Notify",
        "Who gets e-mail/webhook notices of expiring licenses, and when; send a test message",
    ),
]
CLOSE = ActionSpec("close", "q", "close", "Close", "Close", "Quit smartlic")

MORE_ACTIONS: list[ActionSpec] = [
    ActionSpec(
        "offline_request",
        "o",
        "offline_request",
        "Offline Activation Request",
        "Offline req",
        "Write a request file for the License Customer Portal (no Internet here)",
    ),
    ActionSpec(
        "offline_return",
        "x",
        "offline_return",
        "Offline Return",
        "Offline return",
        "Take every license off a segment and write a return receipt file",
    ),
    ActionSpec(
        "warnings",
        "w",
        "warnings",
        "Warnings",
        "Warnings",
        "Every warning: expiring maintenance, shortfalls, clock, unfinished operations",
    ),
]
"""Actions without a button (the seed's grid stays as it is): keys, command palette and help only."""


def bindings(specs: list[ActionSpec], show: bool = True) -> list[BindingType]:
    return [Binding(s.key, s.action, s.footer, id=s.id, tooltip=s.help, show=show) for s in specs]
