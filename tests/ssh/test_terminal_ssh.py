"""What only a real terminal over SSH shows: Escape as BACK, colour depth chosen by TERM, hang-up."""

from __future__ import annotations

import asyncio

import pytest

from tests.ssh.helpers import process_running
from tests.ssh.server import SmartlicSshServer
from tests.ssh.terminal import SshTerminal, assert_colour, is_purple

A = "SmartServer-A"
GONE_WITHIN = 2.0
"""Seconds after the link dies by which no smartlic process may be left."""


async def test_escape_is_back_on_sub_screens(ssh_server: SmartlicSshServer) -> None:
    term = await SshTerminal.open(ssh_server)
    try:
        await term.wait_title("Manage Licenses")
        await term.wait_for("Close (q)")
        term.send("c")
        await term.wait_title("Manage Customer Accounts")
        term.send("escape")
        await term.wait_title("Manage Licenses")

        term.send("v")
        await term.wait_for("Devices: which segment controller?")
        term.send("enter")
        await term.wait_title(f"Devices — {A}")
        await term.wait_for("unlicensed")
        term.send("escape")
        await term.wait_title("Manage Licenses")
        await term.wait_gone("which segment controller?")
    finally:
        await term.close()


@pytest.mark.parametrize("term_type", ["xterm-256color", "xterm"])
async def test_unlicensed_devices_are_purple(ssh_server: SmartlicSshServer, term_type: str) -> None:
    """The seed's purple, in 256 colours and on a 16-colour terminal (TERM=xterm), where the
    nearest of the 16 colours must still read as purple (magenta), not grey."""
    term = await SshTerminal.open(ssh_server, term=term_type)
    try:
        await term.wait_title("Manage Licenses")
        term.send("v")
        await term.wait_for("Devices: which segment controller?")
        term.send("enter")
        await term.wait_title(f"Devices — {A}")
        await term.wait_for("34 unlicensed")  # the demo: no licenses, so every device is unlicensed
        assert_colour(term, "unlicensed", is_purple)
    finally:
        await term.close()


async def test_window_change_reaches_the_app(ssh_server: SmartlicSshServer) -> None:
    term = await SshTerminal.open(ssh_server)
    try:
        await term.wait_title("Manage Licenses")
        await term.wait_for("Close (q)")
        hint = "No licenses are active. Set a Customer ID (c), then Download Licenses from the Cloud (d)."
        assert hint not in term.screen_text(), "at 80 columns the hint takes two lines"
        term.resize(120, 30)
        await term.wait_for(hint)
        await term.wait_until(lambda: "^p palette" in term.lines()[29], "the footer on the new last row")
    finally:
        await term.close()


async def test_dropped_connection_leaves_no_process(ssh_server: SmartlicSshServer) -> None:
    term = await SshTerminal.open(ssh_server)
    try:
        await term.wait_title("Manage Licenses")
        await term.wait_for("Close (q)")
        (pid,) = ssh_server.pids
        assert process_running(pid)
        term.drop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GONE_WITHIN
        while process_running(pid) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert not process_running(pid), f"smartlic (pid {pid}) still runs {GONE_WITHIN} s after the drop"
    finally:
        await term.close()
