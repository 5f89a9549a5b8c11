"""``create_app``: the mock license cloud as a FastAPI app over one data folder.

All setup happens here rather than in a lifespan handler, so the app is ready both under uvicorn
and when driven in-process through ``httpx.ASGITransport`` (which does not run lifespan events).
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from core.mock_cloud.api import CloudContext, router
from core.mock_cloud.db import CloudDB
from core.mock_cloud.faults import FaultMiddleware, Faults, FaultState, admin_router
from core.mock_cloud.problems import install_problem_handlers
from core.mock_cloud.seed import DEFAULT_EARMARK_INSTALL_CODE, DEMO_PARTNER_NAME, demo_customer_id, seed
from core.models import Clock
from core.signing import Signer

KEY_FILE = "cloud_key.pem"
PUBLIC_KEY_FILE = "cloud_key.pub"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _write_public_key(path: Path, pem: bytes) -> None:
    if path.exists() and path.read_bytes() == pem:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(pem)
    os.replace(tmp, path)


def create_app(
    data_dir: Path,
    *,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    faults: Faults | None = None,
    earmark_install_code: str = DEFAULT_EARMARK_INSTALL_CODE,
) -> FastAPI:
    """The cloud over ``data_dir``; seeds it on first use (from ``rng``, default: unseeded)."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = CloudDB.open(data_dir)
    with db.write() as tx:
        customer_id = demo_customer_id(tx)
        if customer_id is None:
            customer_id = seed(tx, rng or random.Random(), clock().date(), earmark_install_code)
    signer = Signer.load_or_create(data_dir / KEY_FILE)
    public_key_path = data_dir / PUBLIC_KEY_FILE
    _write_public_key(public_key_path, signer.public_pem())

    app = FastAPI(title="smartlic mock license cloud", version="1")
    app.state.db = db
    app.state.public_key_path = public_key_path
    app.state.demo_customer_id = customer_id
    app.state.faults = FaultState(faults)
    app.state.cloud = CloudContext(
        db=db, signer=signer, clock=clock, demo_customer_id=customer_id, partner_name=DEMO_PARTNER_NAME
    )
    install_problem_handlers(app)
    app.include_router(router())
    app.include_router(admin_router())
    app.add_middleware(FaultMiddleware, state=app.state.faults)
    return app
