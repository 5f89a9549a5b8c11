"""Inventory moves are consistent: every license is in exactly one place, whatever the sequence."""

from __future__ import annotations

import random
from collections import Counter

import httpx

from tests.mock_cloud.test_partner_portal import (
    AUTH,
    add_licenses,
    create_customer,
    customer_licenses,
    hand,
    inventory,
)

INSTALLS = ["aaaaaaa", "bbbbbbb", "ccccccc"]


async def places(cloud: httpx.AsyncClient, customers: list[str]) -> Counter[str]:
    """How many holders list each license: My Inventory or one customer."""
    seen: Counter[str] = Counter(i["license_id"] for i in await inventory(cloud))
    for customer in customers:
        seen.update(i["license_id"] for i in await customer_licenses(cloud, customer))
    return seen


async def test_random_moves_keep_each_license_in_one_place(cloud: httpx.AsyncClient) -> None:
    rng = random.Random(11)
    customers = [await create_customer(cloud, f"Project {n}") for n in range(3)]
    created: set[str] = set()
    ever_active: set[str] = set()
    for step in range(60):
        action = rng.choice(["add", "hand", "activate", "transfer"])
        if action == "add":
            new = await add_licenses(cloud, kind="capacity", devices=25, count=2)
            created |= {i["license_id"] for i in new}
        elif action == "hand":
            mine = [i["license_id"] for i in await inventory(cloud) if i["license_id"] in created]
            if mine:
                await hand(cloud, rng.choice(customers), rng.sample(mine, k=min(len(mine), 2)))
        else:
            customer = rng.choice(customers)
            theirs = [i["license_id"] for i in await customer_licenses(cloud, customer)]
            if not theirs:
                continue
            install = rng.choice(INSTALLS)
            verb = "activate" if action == "activate" else "transfer"
            response = await cloud.post(
                f"/api/v1/customers/{customer}/installs/{install}/{verb}",
                json={"license_ids": rng.sample(theirs, k=1)},
                headers={"Idempotency-Key": f"step-{step}"},
            )
            assert response.status_code == 200, response.text
        counted = await places(cloud, customers)
        assert all(counted[i] == 1 for i in created), f"step {step}: {action}"
        active: Counter[str] = Counter()
        for customer in customers:
            for item in await customer_licenses(cloud, customer):
                if item["install_code"]:
                    active[item["license_id"]] += 1
        assert all(n == 1 for n in active.values())
        ever_active |= set(active)
    assert created and ever_active
    listed = (await cloud.get("/api/v1/partner/customers", headers=AUTH)).json()["items"]
    assert {c["customer_id"] for c in listed} >= set(customers)
