"""A TLS mismatch says so, instead of "connection refused": https:// to a plain HTTP cloud."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.cloud import CloudClient
from core.errors import CloudUnreachable
from tests.support.cloud_process import running_cloud, smartlic


def test_https_against_a_plain_http_cloud_names_the_scheme(tmp_path: Path) -> None:
    with running_cloud(tmp_path / "cloud") as cloud:
        assert cloud.url.startswith("http://127.0.0.1:")
        wrong = "https://" + cloud.url.removeprefix("http://")
        env = {"SMARTLIC_DATA_DIR": str(tmp_path / "data"), "SMARTLIC_CLOUD_URL": wrong}
        env["SMARTLIC_RETRIES"] = "0"
        done = smartlic(env, "demo-info")
    assert done.returncode != 0
    assert "not speaking TLS (https)" in done.stderr and "check the URL's scheme" in done.stderr, done.stderr
    assert "connection refused" not in done.stderr


async def test_http_against_a_tls_server_names_the_scheme() -> None:
    """A TLS server answers plain HTTP with a TLS alert record: the likely cause is named."""

    async def tls_alert(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"\x15\x03\x01\x00\x02\x02\x46")  # alert: protocol_version
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(tls_alert, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = CloudClient(f"http://127.0.0.1:{port}", retries=0)
    try:
        with pytest.raises(CloudUnreachable) as info:
            await client.demo_info()
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert "did not answer in plain HTTP" in str(info.value) and "check the URL's scheme" in str(info.value)
