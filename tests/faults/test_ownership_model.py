"""A model-based test of license ownership: random interleavings of everything that moves a license.

One in-process mock cloud (batch limit 3, so batches split) and two controllers of the same
customer. Rules: online activate and transfer; offline request + fulfil + Add License, offline
return, the portal crediting a receipt, cancelling a return; sync; a kill at any crash point of any
of those; partner hand-over and earmark; cloud answers refused (503, malformed, bad signatures).
After every step: a license is active on at most one controller and only where the cloud binds it;
none is stranded; both audit chains verify. At the end, with the cloud healthy, both controllers
sync and then agree with the cloud exactly.

`make test` runs a few hundred steps, `make faults` (SMARTLIC_FUZZ_SCALE=5) thousands; the count is
printed at the end of the session ("ownership model: N steps in M runs").
"""

from __future__ import annotations

import json
import os
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core import crashpoints
from core.errors import SmartlicError
from tests.faults.ownership_model import (
    PARTNER,
    STATS,
    Killed,
    Receipt,
    World,
    new_license_ids,
    receipt_body,
    uuid_list,
)

SCALE = max(1, int(os.environ.get("SMARTLIC_FUZZ_SCALE", "1")))

controllers = st.integers(0, 1)
segments = st.sampled_from([0, 0, 0, 1])  # mostly one segment, so offline flows meet
counts = st.integers(1, 7)
KILLABLE = ("activate", "transfer", "sync", "offline activation", "offline return", "cancel return")


class Ownership(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        STATS["runs"] += 1

    def teardown(self) -> None:
        try:
            crashpoints.hook = None
            self.world.set_faults()
            for controller in self.world.controllers:
                self.world.run(controller.svc.sync())
            problems = self.world.settled_problems()
            assert not problems, "\n".join(problems)
        finally:
            self.world.close()

    # --- helpers -----------------------------------------------------------------------------

    def seg(self, c: int, s: int) -> str:
        return self.world.controllers[c].segments()[s]

    def code(self, c: int, s: int) -> str:
        return self.world.controllers[c].install_codes()[self.seg(c, s)]

    def attempt(self, c: int, operation: str, s: int, n: int = 1, ids: list[str] | None = None) -> None:
        """Run one operation on controller ``c``; the cloud or the rules may refuse it."""
        world = self.world
        svc = world.controllers[c].svc
        seg = self.seg(c, s)
        try:
            if operation == "activate":
                ids = ids or world.available(self.code(c, s))[:n] or [str(uuid.uuid4())]
                STATS["largest"] = max(STATS["largest"], len(ids))
                world.run(svc.activate(seg, uuid_list(ids)))
            elif operation == "transfer":
                world.run(svc.transfer(seg))
            elif operation == "sync":
                world.run(svc.sync())
            elif operation == "offline return":
                path = world.new_file("receipt")
                receipt = svc.offline_return(seg, path)
                world.receipts.append(Receipt(path, c, [str(i) for i in receipt.license_ids]))
                STATS["returned"] += 1
            elif operation == "cancel return":
                world.run(svc.cancel_return(seg))
                STATS["cancelled"] += 1
            elif operation == "offline activation":
                self.offline_activate(c, s, n)
        except SmartlicError:
            STATS["refusals"] += 1

    def step(self) -> None:
        STATS["steps"] += 1

    # --- rules -------------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.step()

    @rule(c=controllers, s=segments, n=counts)
    def activate_online(self, c: int, s: int, n: int) -> None:
        self.step()
        self.attempt(c, "activate", s, n)

    @rule(c=controllers, s=segments)
    def activate_one_taken_elsewhere(self, c: int, s: int) -> None:
        """Ask for a license the cloud binds to the other controller: refused, nothing moves."""
        self.step()
        other = self.world.controllers[1 - c].install_codes().values()
        taken = [i for i, code in self.world.bindings().items() if code in other]
        if taken:
            self.attempt(c, "activate", s, ids=taken[:2])

    @rule(c=controllers, s=segments)
    def transfer(self, c: int, s: int) -> None:
        self.step()
        self.attempt(c, "transfer", s)

    @rule(c=controllers)
    def sync(self, c: int) -> None:
        self.step()
        self.attempt(c, "sync", 0)

    @rule(c=controllers, s=segments, n=counts)
    def offline_activation(self, c: int, s: int, n: int) -> None:
        self.step()
        self.attempt(c, "offline activation", s, n)

    def offline_activate(self, c: int, s: int, n: int) -> None:
        """Request file -> Customer Portal fulfil -> Add License (the caller counts refusals)."""
        world = self.world
        svc = world.controllers[c].svc
        request = world.new_file("request")
        svc.offline_request(self.seg(c, s), request)
        ids = world.available(self.code(c, s))[:n]
        if not ids:
            return
        body = {"request": json.loads(request.read_text()), "license_ids": ids}
        answer = world.run(world.post("/portal/fulfil", body))
        if answer.status_code != 200:
            STATS["refusals"] += 1
            return
        world.in_transit.setdefault(self.code(c, s), set()).update(ids)
        response = world.new_file("response")
        response.write_text(answer.text)
        svc.add_license_file(response)

    @rule(c=controllers, s=segments)
    def offline_return(self, c: int, s: int) -> None:
        self.step()
        self.attempt(c, "offline return", s)

    @precondition(lambda self: bool(self.world.receipts))
    @rule(data=st.data())
    def portal_credits_a_receipt(self, data: st.DataObject) -> None:
        self.step()
        receipt = data.draw(st.sampled_from(self.world.receipts))
        answer = self.world.run(self.world.post("/portal/return", receipt_body(receipt.path)))
        if answer.status_code != 200:
            STATS["refusals"] += 1
        else:
            STATS["credited"] += 1

    @rule(c=controllers, s=segments)
    def cancel_offline_return(self, c: int, s: int) -> None:
        self.step()
        self.attempt(c, "cancel return", s)

    @rule(
        c=controllers,
        s=segments,
        operation=st.sampled_from(KILLABLE),
        point=st.sampled_from(crashpoints.POINTS),
        skip=st.integers(0, 1),
        n=counts,
    )
    def kill(self, c: int, s: int, operation: str, point: str, skip: int, n: int) -> None:
        """The controller dies at ``point`` during ``operation`` (if it gets there), then restarts."""
        self.step()
        crashpoints.hook = self.world.killing_at(point, skip)
        try:
            self.attempt(c, operation, s, n)
        except Killed:
            STATS["kills"] += 1
            self.world.run(self.world.controllers[c].restart())
        except SmartlicError:
            STATS["refusals"] += 1
        finally:
            crashpoints.hook = None

    @rule(n=st.integers(1, 4))
    def partner_hands_over(self, n: int) -> None:
        self.step()
        world = self.world
        bought = world.run(
            world.post("/partner/licenses", {"kind": "capacity", "devices": 10, "count": n}, PARTNER)
        )
        assert bought.status_code == 200, bought.text
        body = {"license_ids": new_license_ids(bought)}
        handed = world.run(world.post(f"/partner/customers/{world.customer_id}/licenses", body, PARTNER))
        assert handed.status_code == 200, handed.text

    @rule(c=controllers, s=segments, clear=st.booleans(), data=st.data())
    def partner_earmarks(self, c: int, s: int, clear: bool, data: st.DataObject) -> None:
        self.step()
        available = self.world.available()
        if not available:
            return
        license_id = data.draw(st.sampled_from(available))
        body = {"install_code": None if clear else self.code(c, s)}
        answer = self.world.run(self.world.post(f"/partner/licenses/{license_id}/earmark", body, PARTNER))
        assert answer.status_code in (200, 409), answer.text

    @rule(fault=st.sampled_from(["fail", "malformed", "bad_signature", "drop"]))
    def cloud_refuses_the_next_answer(self, fault: str) -> None:
        self.step()
        self.world.set_faults(**{fault: 1})

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def ownership_holds(self) -> None:
        problems = self.world.problems()
        assert not problems, "\n".join(problems)


Ownership.TestCase.settings = settings(
    max_examples=24 * SCALE,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=SCALE == 1,
)
TestOwnership = Ownership.TestCase
