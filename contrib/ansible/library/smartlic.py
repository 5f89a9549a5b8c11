#!/usr/bin/python
"""Ansible module: run `smartlic` on a segment controller and report `changed` as smartlic does.

Every mutating smartlic command answers `"changed": true|false` in `--json`, and with `--check`
says what it would change without changing it; this module passes Ansible's check mode on as
`--check`, so `ansible-playbook --check` and a second run both report changed=0 when all is in effect.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: smartlic
short_description: License management of SmartServer IoT segment controllers (smartlic)
description:
  - Runs the smartlic command line on the target with --json and reports its changed flag.
  - Supports check mode (smartlic --check).
options:
  command:
    description: What to do.
    choices: [status, trust, customer_id, activate_earmarked, activate, sync]
    required: true
    type: str
  segment:
    description: Segment controller name or install code (customer_id, activate, activate_earmarked).
    type: str
  customer_id:
    description: The Customer ID to set (customer_id).
    type: str
  license_ids:
    description: License IDs to activate (activate).
    type: list
    elements: str
  key_file:
    description: PEM public key of the license cloud to trust (trust).
    type: path
  data_dir:
    description: SMARTLIC_DATA_DIR on the target (default, the user's data folder).
    type: path
  cloud_url:
    description: SMARTLIC_CLOUD_URL on the target (default, the settings file's).
    type: str
  config:
    description: SMARTLIC_CONFIG on the target (default, the user's settings file).
    type: path
  executable:
    description: The smartlic command.
    type: str
    default: smartlic
"""

RETURN = r"""
result:
  description: smartlic's JSON answer (a plan under check mode).
  returned: always
  type: dict
summary:
  description: For command=status, the fleet report's view of this controller.
  returned: command=status
  type: dict
"""

import json  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "command": {
                "type": "str",
                "required": True,
                "choices": ["status", "trust", "customer_id", "activate_earmarked", "activate", "sync"],
            },
            "segment": {"type": "str"},
            "customer_id": {"type": "str"},
            "license_ids": {"type": "list", "elements": "str", "default": []},
            "key_file": {"type": "path"},
            "data_dir": {"type": "path"},
            "cloud_url": {"type": "str"},
            "config": {"type": "path"},
            "executable": {"type": "str", "default": "smartlic"},
        },
        required_if=[
            ("command", "customer_id", ["segment", "customer_id"]),
            ("command", "activate", ["segment", "license_ids"]),
            ("command", "activate_earmarked", ["segment"]),
            ("command", "trust", ["key_file"]),
        ],
        supports_check_mode=True,
    )
    p = module.params
    env = {
        name: p[key]
        for name, key in (
            ("SMARTLIC_DATA_DIR", "data_dir"),
            ("SMARTLIC_CLOUD_URL", "cloud_url"),
            ("SMARTLIC_CONFIG", "config"),
        )
        if p[key]
    }

    def smartlic(*args: str, ok: tuple[int, ...] = (0,), mutating: bool = False) -> dict:
        argv = [p["executable"], *args, "--json"]
        if mutating and module.check_mode:
            argv.append("--check")
        rc, out, err = module.run_command(argv, environ_update=env)
        try:
            answer = json.loads(out) if out.strip() else {}
        except ValueError:
            answer = {}
        if rc not in ok:
            message = (err.strip().splitlines() or [f"smartlic exited with {rc}"])[-1]
            module.fail_json(msg=message, rc=rc, result=answer, cmd=argv)
        return answer

    command = p["command"]
    if command == "status":
        report = smartlic("status", ok=(0, 1))  # 1: something needs attention, which is the report
        module.exit_json(changed=False, result=report, summary=summary(report))
    if command == "trust":
        result = smartlic("trust", "add", p["key_file"], mutating=True)
    elif command == "customer_id":
        result = smartlic("accounts", "set", p["segment"], p["customer_id"], mutating=True)
    elif command == "sync":
        result = smartlic("sync", mutating=True)
    else:
        ids = p["license_ids"] if command == "activate" else earmarked(smartlic, p["segment"])
        if not ids:
            nothing = {"changed": False, "activated": []}
            module.exit_json(changed=False, result=nothing, msg="no license is earmarked for it")
        result = smartlic("activate", p["segment"], *ids, mutating=True)
    module.exit_json(changed=bool(result.get("changed")), result=result)


def earmarked(smartlic, segment: str) -> list[str]:
    """The licenses the cloud offers this segment that the partner earmarked for its install code."""
    offer = smartlic("cloud-licenses", segment)
    code = offer["segment"]["install_code"]
    return [lic["license_id"] for lic in offer["licenses"] if lic.get("earmarked_install_code") == code]


def summary(report: dict) -> dict:
    """What the fleet report shows of one controller."""
    notices = report.get("warnings", [])
    return {
        "segments": [
            {"name": s["segment"]["name"], "install_code": s["segment"]["install_code"]}
            for s in report.get("segments", [])
        ],
        "expiring": [n["text"] for n in notices if n["kind"] == "expiry" and n["level"] != "error"],
        "expired": [n["text"] for n in notices if n["kind"] == "expiry" and n["level"] == "error"],
        "short_of_maintenance": [n["text"] for n in notices if n["kind"] == "shortfall"],
        "unfinished_operations": report.get("unfinished_operations", 0),
    }


if __name__ == "__main__":
    main()
