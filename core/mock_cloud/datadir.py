"""Opening a data folder of the mock cloud: database, signing key, public key file, first-run seed.

Shared by ``create_app`` and the CLI subcommands that work on the folder directly, so a folder is
seeded the same way whichever touches it first.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from core.mock_cloud.db import CloudDB
from core.mock_cloud.seed import DEFAULT_EARMARK_INSTALL_CODE, demo_customer_id, seed
from core.models import Clock
from core.signing import Signer

KEY_FILE = "cloud_key.pem"
PUBLIC_KEY_FILE = "cloud_key.pub"


@dataclass(frozen=True)
class CloudData:
    db: CloudDB
    signer: Signer
    demo_customer_id: UUID
    public_key_path: Path


def _write_public_key(path: Path, pem: bytes) -> None:
    if path.exists() and path.read_bytes() == pem:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(pem)
    os.replace(tmp, path)


def open_data_dir(
    data_dir: Path,
    *,
    clock: Clock,
    rng: random.Random | None = None,
    earmark_install_code: str = DEFAULT_EARMARK_INSTALL_CODE,
) -> CloudData:
    """The cloud's state in ``data_dir`` (made if missing); seeds it on first use from ``rng``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = CloudDB.open(data_dir)
    try:
        with db.write() as tx:
            customer_id = demo_customer_id(tx)
            if customer_id is None:
                customer_id = seed(tx, rng or random.Random(), clock().date(), earmark_install_code)
        signer = Signer.load_or_create(data_dir / KEY_FILE)
        public_key_path = data_dir / PUBLIC_KEY_FILE
        _write_public_key(public_key_path, signer.public_pem())
    except BaseException:
        db.close()
        raise
    return CloudData(db=db, signer=signer, demo_customer_id=customer_id, public_key_path=public_key_path)
