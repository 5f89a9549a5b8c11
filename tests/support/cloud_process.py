"""Start a real `smartlic-cloud serve` on 127.0.0.1 and a free port, and stop it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CloudProcess:
    url: str
    public_key: Path
    demo_customer_id: str
    process: subprocess.Popen[str]


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    """`smartlic-cloud serve` on 127.0.0.1 and a free port (it prints url, public-key, demo id)."""
    return [
        sys.executable,
        "-m",
        "core.mock_cloud.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data",
        str(data_dir),
        *extra,
    ]


@contextmanager
def running_cloud(data_dir: Path, *extra: str) -> Iterator[CloudProcess]:
    proc = subprocess.Popen(
        serve_command(data_dir, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        fields: dict[str, str] = {}
        assert proc.stdout is not None
        while len(fields) < 3:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"cloud did not start: {proc.stderr.read() if proc.stderr else ''}")
            key, _, value = line.strip().partition(": ")
            fields[key] = value
        yield CloudProcess(fields["url"], Path(fields["public-key"]), fields["demo-customer-id"], proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def smartlic(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
