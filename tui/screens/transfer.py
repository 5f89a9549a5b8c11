"""Transfer to Cloud: the confirmation. Cancel has the default focus; only y or a click transfers."""

from __future__ import annotations

from rich.text import Text

from core.views import LicenseRow
from tui.widgets.confirm import ConfirmModal
from tui.widgets.styles import PURPLE, plain


def transfer_details(rows: list[LicenseRow]) -> Text:
    text = Text(f"These {len(rows)} license(s) will go back to the cloud:\n", style="bold")
    for row in rows:
        text.append(f"  {row.license_id}  ")
        text.append(plain(row.description))
        text.append("\n")
    text.rstrip()
    return text


def consequence(segment: str) -> Text:
    text = Text()
    text.append(plain(f"The devices of {segment} become "))
    text.append("unlicensed (purple)", style=PURPLE)
    text.append(
        ", and nothing talks to them until new licenses are activated and the devices are "
        "provisioned again. This needs the cloud (online)."
    )
    return text


class TransferModal(ConfirmModal):
    """``ModalScreen[bool]``: True only after ``y`` or a click on TRANSFER LICENSES."""

    def __init__(self, rows: list[LicenseRow]) -> None:
        segment = rows[0].segment_name if rows else "the segment"
        super().__init__(
            f"Transfer to Cloud — {segment}",
            consequence(segment),
            yes="TRANSFER LICENSES",
            no="Cancel",
            details=transfer_details(rows),
            id="transfer-modal",
        )


def offline_return_consequence(segment: str, receipt: str) -> Text:
    text = Text()
    text.append(plain(f"They leave {segment} now, before the receipt is written. Its devices become "))
    text.append("unlicensed (purple)", style=PURPLE)
    text.append(" until licenses are activated and the devices provisioned again.\n")
    text.append("The return receipt goes to ")
    text.append(plain(receipt, style="bold"))
    text.append(": give it to the License Customer Portal so the licenses are free again.")
    return text


class OfflineReturnModal(ConfirmModal):
    """``ModalScreen[bool]``: True only after ``y`` or a click on RETURN LICENSES (Cancel is focused)."""

    def __init__(self, rows: list[LicenseRow], receipt: str) -> None:
        segment = rows[0].segment_name if rows else "the segment"
        details = Text(f"These {len(rows)} license(s) are returned offline:\n", style="bold")
        for row in rows:
            details.append(f"  {row.license_id}  ")
            details.append(plain(row.description))
            details.append("\n")
        details.rstrip()
        super().__init__(
            f"Offline Return — {segment}",
            offline_return_consequence(segment, receipt),
            yes="RETURN LICENSES",
            no="Cancel",
            details=details,
            id="offline-return-modal",
        )
