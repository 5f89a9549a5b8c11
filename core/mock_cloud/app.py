"""``create_app``: the mock license cloud as a FastAPI app over one data folder.

All setup happens here rather than in a lifespan handler, so the app is ready both under uvicorn
and when driven in-process through ``httpx.ASGITransport`` (which does not run lifespan events).

The admin endpoints (``/api/v1/admin/*``, fault injection) exist only with ``admin=True``
(``smartlic-cloud serve --admin`` or ``--faults``); they have no authentication, so a cloud without
the flag answers them 404.
"""

from __future__ import annotations

import random
from pathlib import Path

from fastapi import FastAPI

from core.clock import utc_now
from core.mock_cloud.api import CloudContext, router
from core.mock_cloud.audit_api import audit_router
from core.mock_cloud.datadir import KEY_FILE, PUBLIC_KEY_FILE, open_data_dir
from core.mock_cloud.faults import FaultMiddleware, Faults, FaultState, admin_router
from core.mock_cloud.limits import BodyLimitMiddleware
from core.mock_cloud.partner_api import partner_router
from core.mock_cloud.portal_api import portal_router
from core.mock_cloud.problems import install_problem_handlers
from core.mock_cloud.seed import DEFAULT_EARMARK_INSTALL_CODE, DEMO_PARTNER_NAME
from core.models import MAX_BATCH, Clock

__all__ = ["KEY_FILE", "PUBLIC_KEY_FILE", "create_app"]


def create_app(
    data_dir: Path,
    *,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    faults: Faults | None = None,
    earmark_install_code: str = DEFAULT_EARMARK_INSTALL_CODE,
    admin: bool = False,
    max_batch: int = MAX_BATCH,
) -> FastAPI:
    """The cloud over ``data_dir``; seeds it on first use (from ``rng``, default: unseeded)."""
    data = open_data_dir(data_dir, clock=clock, rng=rng, earmark_install_code=earmark_install_code)
    app = FastAPI(title="smartlic mock license cloud", version="1")
    app.state.db = data.db
    app.state.public_key_path = data.public_key_path
    app.state.demo_customer_id = data.demo_customer_id
    app.state.faults = FaultState(faults)
    app.state.cloud = CloudContext(
        db=data.db,
        signer=data.signer,
        clock=app.state.faults.clock(clock),
        demo_customer_id=data.demo_customer_id,
        partner_name=DEMO_PARTNER_NAME,
        base_clock=clock,
        max_batch=max_batch,
    )
    install_problem_handlers(app)
    app.include_router(router())
    app.include_router(audit_router())
    app.include_router(partner_router())
    app.include_router(portal_router())
    if admin:
        app.include_router(admin_router())
    app.add_middleware(FaultMiddleware, state=app.state.faults)
    # Added last, so it is the outermost: no other layer sees a body over the limit.
    app.add_middleware(BodyLimitMiddleware)
    return app
