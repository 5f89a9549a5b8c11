"""The seed's 14 steps, as a user does them: over SSH, at 80x24, read off a terminal emulator.

Setting up the Customer Account (6 steps), Downloading and Activating Licenses from the Cloud
(steps 3-7; 1-2 are the same start), Transferring Licenses to the Cloud (steps 3-5), in two SSH
sessions, as the seed's two "Start the SmartServer CMS". Each step checks the seed's labels on the
emulated screen, and the store (through the service, or the CLI) where the step changes it.
"""

from __future__ import annotations

import re

from core.models import DeviceState
from tests.ssh.helpers import process_running, run_smartlic, store_service
from tests.ssh.server import SmartlicSshServer
from tests.ssh.terminal import SshTerminal, assert_colour, is_blue, is_green, is_purple, is_yellow

A = "SmartServer-A"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHORT_ID = re.compile(r"\b([0-9a-f]{8})…")  # a License ID as an 80-column table shows it
OFFERED = re.compile(r"(\d+) of (\d+) selected")


async def test_seed_flow_over_ssh(ssh_server: SmartlicSshServer) -> None:
    data_dir = ssh_server.data_dir
    # README "First steps" 2: the demo Customer ID, from the command line on the same data.
    demo = (await run_smartlic(data_dir, "demo-info"))["customer_id"]
    assert UUID.fullmatch(demo)

    term = await SshTerminal.open(ssh_server)
    try:
        await _set_up_customer_account(term, data_dir, demo)
        chosen = await _download_and_activate(term, ssh_server)
    finally:
        await term.close()

    term = await SshTerminal.open(ssh_server)
    try:
        await _transfer_to_cloud(term, ssh_server, chosen)
    finally:
        await term.close()


async def _set_up_customer_account(term: SshTerminal, data_dir, demo: str) -> None:
    # 1. Start: the app comes up in the SSH session.
    await term.wait_title("Manage Licenses")
    # 2. The Manage Licenses dialog, with the seed's buttons; nothing is active yet.
    await term.wait_for("Close (q)")
    screen = term.screen_text()
    for label in (
        "Manage Customer Accounts (c)",
        "Download Licenses from the Cloud (d)",
        "Transfer to Cloud (t)",
    ):
        assert label in screen, term.dump()
    assert "No licenses are active" in screen

    # 3. Manage Customer Accounts: Segment Controller and Install Code (read-only), Customer ID.
    term.send("c")
    await term.wait_title("Manage Customer Accounts")
    await term.wait_for("Install Code")
    header = term.line_with("Install Code")
    assert "Segment Controller" in header and "Customer ID" in header, term.dump()
    assert "(none)" in term.line_with(A)
    assert "Save Changes" not in term.screen_text(), "Save/Discard appear only once a change is pending"

    # 4. Enter the Customer ID (a paste): Save Changes and Discard Changes appear for it.
    await _enter_customer_id(term, demo)
    assert demo in term.line_with(A) and "✔" in term.line_with(A), term.dump()
    assert "Discard Changes (x)" in term.screen_text()
    # Discard Changes cancels the change ...
    term.send("x")
    await term.wait_gone("Save Changes (s)")
    assert demo not in term.line_with(A) and "(none)" in term.line_with(A), term.dump()
    # ... so enter it again, and it is not stored before Save Changes.
    await _enter_customer_id(term, demo)
    async with store_service(data_dir) as service:
        assert service.segment(A).customer_id is None

    # 5. Save Changes stores the Customer ID; the buttons go away.
    term.send("s")
    await term.wait_for("Customer ID saved")
    await term.wait_gone("Save Changes (s)")
    assert demo in term.line_with(A) and "✔" not in term.line_with(A), term.dump()
    async with store_service(data_dir) as service:
        assert str(service.segment(A).customer_id) == demo

    # 6. BACK: the Manage Licenses dialog appears.
    assert "BACK (b)" in term.screen_text()
    term.send("b")
    await term.wait_title("Manage Licenses")


async def _enter_customer_id(term: SshTerminal, demo: str) -> None:
    term.send("enter")  # the cursor starts on SmartServer-A's Customer ID
    await term.wait_for("Esc restores the cell")  # the editor is in the cell
    term.paste(demo)
    await term.wait_for(demo)
    term.send("enter")
    await term.wait_for("Save Changes (s)")


async def _download_and_activate(term: SshTerminal, server: SmartlicSshServer) -> set[str]:
    # 3. Download Licenses from the Cloud (two segment controllers: pick A).
    term.send("d")
    await term.wait_for("which segment controller?")
    term.send("enter")
    await term.wait_title(f"Download Licenses from the Cloud — {A}")
    await term.wait_until(lambda: OFFERED.search(term.screen_text()) is not None, "the loaded list")
    header = term.line_with("License ID")
    # The Segment Controller column repeats one value, so at 80 columns the title names it instead.
    assert "Transfer Date" in header and "Description" in header, term.dump()
    loaded = OFFERED.search(term.screen_text())
    assert loaded is not None, term.dump()
    offered = int(loaded[2])
    assert offered >= 2
    rows = _license_rows(term)
    assert rows and all(re.search(r"\d{4}-\d{2}-\d{2}", line) for line in rows.values()), term.dump()
    # At 80 columns every column shows: the Description too.
    assert re.search(r"\d+-device (capacity|maintenance)", term.screen_text()), term.dump()

    # 4. Select two licenses: the mark turns from blue to yellow.
    assert_colour(term, "[ ]", is_blue)
    term.send("space", "down", "space", "down")
    await term.wait_for(f"2 of {offered} selected")
    chosen = {lic for lic, line in _license_rows(term).items() if line.lstrip().startswith("[x]")}
    assert len(chosen) == 2, term.dump()
    # The cursor is on a third row now, so both marks show their own colour.
    assert [is_yellow(c) for c in term.colours("[x]")] == [True, True], term.colours("[x]")
    assert_colour(term, "[ ]", is_blue)

    # 5. ACTIVATE (shift+a): the licenses leave this list and are active on the controller.
    term.send("A")
    await term.wait_for("Activated 2 license(s)")
    # The count line is on the left, clear of the toasts that may cover the table's right side.
    await term.wait_for(f"0 of {offered - 2} selected")
    assert not chosen & set(_license_rows(term)), term.dump()
    async with store_service(server.data_dir) as service:
        assert {str(r.license_id)[:8] for r in service.license_rows()} == chosen
        states = [d.state for d in service.devices(A)]
    licensed = states.count(DeviceState.UNPROVISIONED)
    assert licensed > 0 and DeviceState.PROVISIONED not in states, states

    # 6. BACK to Manage Licenses: the activated licenses are listed there.
    assert "BACK (b)" in term.screen_text()
    term.send("b")
    await term.wait_title("Manage Licenses")
    await term.wait_gone("No licenses are active")
    # Their License IDs start in column 58 (cut at 80 columns); a toast may cover them for a while.
    await term.wait_until(
        lambda: all(
            any(line.startswith(f" {A}") and lic[:8] in line for line in term.lines()) for lic in chosen
        ),
        "a row of SmartServer-A for each activated license",
    )
    status = await run_smartlic(server.data_dir, "licenses")
    assert {lic["license_id"][:8] for lic in status["licenses"]} == chosen
    assert {lic["status"] for lic in status["licenses"]} == {"Active"}, status

    # README "First steps" 5: Devices, licensed (blue) devices provisioned (green).
    term.send("v")
    await term.wait_for("Devices: which segment controller?")
    term.send("enter")
    await term.wait_title(f"Devices — {A}")
    await term.wait_for(f"{licensed} unprovisioned")
    assert_colour(term, "unprovisioned", is_blue)
    if states.count(DeviceState.UNLICENSED):
        assert_colour(term, "unlicensed", is_purple)
    term.send("P")
    await term.wait_for(f"Provisioned {licensed} device(s)")
    await term.wait_for(f"{licensed} provisioned")
    assert_colour(term, "provisioned", is_green)
    async with store_service(server.data_dir) as service:
        states = [d.state for d in service.devices(A)]
    assert states.count(DeviceState.PROVISIONED) == licensed
    assert DeviceState.UNPROVISIONED not in states
    term.send("b")
    await term.wait_title("Manage Licenses")

    # 7. CLOSE: the session ends and the app with it.
    pid = server.pids[-1]
    term.send("q")
    assert await term.wait_exit() == 0
    assert not process_running(pid)
    return chosen


async def _transfer_to_cloud(term: SshTerminal, server: SmartlicSshServer, chosen: set[str]) -> None:
    # 1-2. Start again: Manage Licenses shows the active licenses.
    await term.wait_title("Manage Licenses")
    await term.wait_for("Transfer to Cloud (t)")
    assert "No licenses are active" not in term.screen_text()

    # 3. Transfer to Cloud: the confirmation names the licenses and the consequence.
    term.send("t")
    await term.wait_for("TRANSFER LICENSES")
    await term.wait_for(f"Transfer to Cloud — {A}")
    screen = term.screen_text()
    assert "Cancel (n)" in screen and "TRANSFER LICENSES (y)" in screen, term.dump()
    assert "These 2 license(s) will go back to the cloud" in screen, term.dump()
    for license_id in chosen:
        assert license_id in screen, term.dump()
    assert "unlicensed (purple)" in screen
    assert_colour(term, "unlicensed (purple)", is_purple, on_cursor_row=True)

    # 4. TRANSFER LICENSES (y): the licenses go back; the devices become unlicensed.
    term.send("y")
    await term.wait_for("Transferred 2 license(s)")
    await term.wait_for("No licenses are active")
    async with store_service(server.data_dir) as service:
        assert service.license_rows() == []
        devices = service.devices(A)
    assert {d.state for d in devices} == {DeviceState.UNLICENSED}
    await term.wait_for(f"{len(devices)} unlicensed")
    assert (await run_smartlic(server.data_dir, "licenses"))["licenses"] == []

    # 5. CLOSE.
    pid = server.pids[-1]
    term.send("q")
    assert await term.wait_exit() == 0
    assert not process_running(pid)


def _license_rows(term: SshTerminal) -> dict[str, str]:
    """Short License ID (its first 8 characters) -> its screen line, for the Download table's rows."""
    rows = {}
    for line in term.lines():
        match = SHORT_ID.search(line)
        if match and line.lstrip().startswith(("[ ]", "[x]")):
            rows[match[1]] = line
    return rows
