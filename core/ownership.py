"""License ownership: where a license is, as one state machine for the cloud and the controller.

This is the one place that says which moves a license may make; the use cases (core.usecases) and
the mock cloud's rules (core.mock_cloud.licensing, portal) ask it, and the README's "How it stays
safe" describes the same states. A leaf module (standard library only), so the mock cloud may use it.

Cloud: a license is *available* to its customer, *bound* to exactly one install code, or
*returning* (an online transfer in flight, or an offline receipt not yet credited; the cloud still
binds it to the install code it leaves, so nobody else can take it meanwhile).

Controller: a license is *absent*, *active*, *returning online* (given up before the transfer
request; a journal entry finishes it) or *returned offline* (given up; its receipt is out and not
yet credited). The invariant: at any moment a license is active on at most one controller, and no
license is stranded (available, or bound to an install code that holds it or will once a journaled
step ends).
"""

from __future__ import annotations

from enum import StrEnum


class CloudState(StrEnum):
    AVAILABLE = "available"
    BOUND = "bound"
    RETURNING = "returning"


class ControllerState(StrEnum):
    ABSENT = "absent"
    ACTIVE = "active"
    RETURNING_ONLINE = "returning online"
    RETURNED_OFFLINE = "returned offline"


class Event(StrEnum):
    ACTIVATE = "activate"  # an online activation stored, or a license file imported (Add License)
    RETURN_ONLINE = "return online"  # Transfer to Cloud takes it off before the request
    RETURN_CONFIRMED = "return confirmed"  # the cloud answered the transfer, or no longer binds it here
    RETURN_OFFLINE = "return offline"  # the return receipt is written
    CREDITED = "credited"  # the cloud no longer binds it here: the receipt was credited
    CANCEL_RETURN = "cancel return"  # the user takes an offline return back (the cloud still binds it)
    ADOPT = "adopt"  # sync: the cloud binds it here and the controller lacks it
    DROP = "drop"  # sync: the controller holds it but the cloud does not bind it here


class IllegalMove(ValueError):
    """A move the state machine does not allow (a bug or a refusal the caller words)."""


CONTROLLER_MOVES: dict[tuple[ControllerState, Event], ControllerState] = {
    (ControllerState.ABSENT, Event.ACTIVATE): ControllerState.ACTIVE,
    (ControllerState.ABSENT, Event.ADOPT): ControllerState.ACTIVE,
    (ControllerState.ACTIVE, Event.ACTIVATE): ControllerState.ACTIVE,  # a lost answer, activated again
    (ControllerState.ACTIVE, Event.RETURN_ONLINE): ControllerState.RETURNING_ONLINE,
    (ControllerState.ACTIVE, Event.RETURN_OFFLINE): ControllerState.RETURNED_OFFLINE,
    (ControllerState.ACTIVE, Event.DROP): ControllerState.ABSENT,
    (ControllerState.RETURNING_ONLINE, Event.RETURN_CONFIRMED): ControllerState.ABSENT,
    (ControllerState.RETURNED_OFFLINE, Event.CREDITED): ControllerState.ABSENT,
    (ControllerState.RETURNED_OFFLINE, Event.CANCEL_RETURN): ControllerState.ACTIVE,
}

CLOUD_MOVES: dict[tuple[CloudState, Event], CloudState] = {
    (CloudState.AVAILABLE, Event.ACTIVATE): CloudState.BOUND,
    (CloudState.BOUND, Event.ACTIVATE): CloudState.BOUND,  # only by the install code it is bound to
    (CloudState.BOUND, Event.RETURN_ONLINE): CloudState.RETURNING,
    (CloudState.BOUND, Event.RETURN_OFFLINE): CloudState.RETURNING,
    (CloudState.RETURNING, Event.RETURN_CONFIRMED): CloudState.AVAILABLE,
    (CloudState.RETURNING, Event.CREDITED): CloudState.AVAILABLE,
    (CloudState.RETURNING, Event.CANCEL_RETURN): CloudState.BOUND,
}


def controller_move(state: ControllerState, event: Event) -> ControllerState:
    """The controller state after ``event``; IllegalMove when the machine has no such move."""
    try:
        return CONTROLLER_MOVES[(state, event)]
    except KeyError:
        raise IllegalMove(f"a license that is {state.value} on a controller cannot {event.value}") from None


def cloud_move(state: CloudState, event: Event) -> CloudState:
    try:
        return CLOUD_MOVES[(state, event)]
    except KeyError:
        raise IllegalMove(f"a license that is {state.value} in the cloud cannot {event.value}") from None


def controller_state(*, held: bool, return_pending: bool, returned_offline: bool) -> ControllerState:
    """The state a controller's records put a license in (a returned-offline record wins)."""
    if returned_offline:
        return ControllerState.RETURNED_OFFLINE
    if not held:
        return ControllerState.ABSENT
    return ControllerState.RETURNING_ONLINE if return_pending else ControllerState.ACTIVE


def sync_event(state: ControllerState, *, cloud_binds_here: bool) -> Event | None:
    """What sync does with one license, given the controller's state and the cloud's view.

    A license returned offline is never adopted back while the cloud still binds it here: its
    receipt is out, and the portal may credit it at any time. Only the cloud's word (it no longer
    binds it: credited) or the user (``offline cancel-return``) ends that state.
    """
    if cloud_binds_here:
        return Event.ADOPT if state is ControllerState.ABSENT else None
    return {
        ControllerState.ACTIVE: Event.DROP,
        ControllerState.RETURNING_ONLINE: Event.RETURN_CONFIRMED,
        ControllerState.RETURNED_OFFLINE: Event.CREDITED,
    }.get(state)


def cloud_state(bound_to: str | None, *, returning: bool = False) -> CloudState:
    if bound_to is None:
        return CloudState.AVAILABLE
    return CloudState.RETURNING if returning else CloudState.BOUND


def cloud_may_bind(bound_to: str | None, install_code: str) -> bool:
    """Whether the cloud may bind (or bind again) a license to ``install_code``: available, or
    bound there already (a lost answer); never taken from another install code."""
    if bound_to is not None and bound_to != install_code:
        return False
    cloud_move(cloud_state(bound_to), Event.ACTIVATE)
    return True


def cloud_may_return(bound_to: str | None, install_code: str) -> bool:
    """Whether ``install_code`` may give the license back (online transfer or a credited receipt):
    only the install code it is bound to."""
    return bound_to is not None and bound_to == install_code
