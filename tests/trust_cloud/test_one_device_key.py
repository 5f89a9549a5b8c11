"""One key per controller: the store's device key signs online calls and offline files alike."""

from __future__ import annotations

import json
from pathlib import Path

from core.device_keys import stored_signer
from core.settings import Settings
from core.signing import key_id_of, load_public_key
from tests.support.services import embedded_app, make_service

A = "SmartServer-A"


async def test_the_cloud_binds_the_key_the_store_keeps_and_offline_files_carry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = make_service(data)
    try:
        service.set_customer_id(A, str((await service.demo_info()).customer_id))
        code = service.segment(A).install_code
        offer = await service.cloud_licenses(A)  # the first signed call binds the key
        assert offer.licenses
        request = tmp_path / "request.json"
        service.offline_request(A, request)
        with service.context.store.read() as tx:
            signer = stored_signer(tx, code)
        assert signer is not None
        cloud_db = embedded_app(service).state.db  # the embedded cloud's own database
        with cloud_db.read() as tx:
            bound = tx.device_key(code)
    finally:
        await service.aclose()
    assert bound is not None and bound.key_id == signer.key_id
    offline_key = load_public_key(json.loads(request.read_text())["payload"]["device_public_key"].encode())
    assert key_id_of(offline_key) == signer.key_id
    assert Settings(data_dir=data).embedded_cloud_dir.is_dir()
