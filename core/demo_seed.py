"""The demo a first run starts from: two segment controllers and about sixty unlicensed devices.

Pure: given the same ``random.Random`` it makes the same controllers and devices, so tests and
screenshots are stable; the store writes what this returns.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.models import Device, DeviceState, Protocol, SegmentController
from core.rules import new_install_code

# (segment name, device-id prefix, devices per protocol)
_SEGMENTS: list[tuple[str, str, dict[Protocol, int]]] = [
    ("SmartServer-A", "A", {Protocol.LON: 14, Protocol.BACNET: 12, Protocol.MODBUS: 8}),
    ("SmartServer-B", "B", {Protocol.LON: 10, Protocol.BACNET: 9, Protocol.MODBUS: 7}),
]

_ID_PART = {Protocol.LON: "LON", Protocol.BACNET: "BAC", Protocol.MODBUS: "MOD"}

# Name patterns per protocol, used in turn; ``{n}`` counts per pattern so names stay unique per segment.
_NAMES: dict[Protocol, list[str]] = {
    Protocol.LON: ["VAV-{n:02d}", "AHU-{n:02d} supply fan", "Lighting zone {n}", "Fan coil {n:02d}"],
    Protocol.BACNET: ["Chiller {n}", "Air handler {n:02d}", "Room controller {n:02d}", "Boiler {n}"],
    Protocol.MODBUS: ["Energy meter {n}", "Water meter {n}", "PV inverter {n}", "Heat pump {n}"],
}


@dataclass(frozen=True)
class DemoSeed:
    segments: list[SegmentController]
    devices: list[Device]


def demo_seed(rng: random.Random) -> DemoSeed:
    codes = _distinct_install_codes(rng, len(_SEGMENTS))
    segments: list[SegmentController] = []
    devices: list[Device] = []
    for (name, prefix, mix), code in zip(_SEGMENTS, codes, strict=True):
        segments.append(SegmentController(name=name, install_code=code))
        devices.extend(_segment_devices(rng, code, prefix, mix))
    return DemoSeed(segments=segments, devices=devices)


def _distinct_install_codes(rng: random.Random, count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        code = new_install_code(rng)
        if code not in codes:
            codes.append(code)
    return codes


def _segment_devices(
    rng: random.Random, install_code: str, prefix: str, mix: dict[Protocol, int]
) -> list[Device]:
    # Mixed protocols in the order added, like a real site commissioned over time.
    order = [protocol for protocol, count in mix.items() for _ in range(count)]
    rng.shuffle(order)
    per_protocol = dict.fromkeys(mix, 0)
    per_pattern: dict[str, int] = {}
    devices: list[Device] = []
    for seq, protocol in enumerate(order, start=1):
        per_protocol[protocol] += 1
        index = per_protocol[protocol]
        pattern = _NAMES[protocol][(index - 1) % len(_NAMES[protocol])]
        per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
        devices.append(
            Device(
                device_id=f"{prefix}-{_ID_PART[protocol]}-{index:03d}",
                install_code=install_code,
                protocol=protocol,
                name=pattern.format(n=per_pattern[pattern]),
                seq=seq,
                state=DeviceState.UNLICENSED,
            )
        )
    return devices
