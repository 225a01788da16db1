"""`vrrpd lab drill` rewrites the operator's files for the lab (pure: no namespaces)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vrrpd.lab import drill, peers


def test_notify_hooks_point_at_the_installed_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged `vrrpd lab drill` pointed hooks at `<checkout>/scripts/notify_log.sh`,
    a file a package does not have: every hook failed to start. One lookup of the
    scripts (the checkout's, else the package's) serves the demo and the drill."""
    installed = tmp_path / "share" / "vrrpd" / "scripts"
    installed.mkdir(parents=True)
    (installed / "notify_log.sh").write_text("#!/bin/sh\n")
    monkeypatch.setattr(peers, "scripts_dir", lambda: installed)
    document = {
        "global": {"router_id": "lb1"},
        "instances": {"web": {"interface": "eth0", "vrid": 51, "priority": 150,
                              "notify": {"master": "/etc/vrrpd/notify.sh"}}},
        "sync_groups": {"g": {"instances": ["web"], "notify": {"backup": "/x.sh"}}},
    }  # fmt: skip
    text, notes = drill.lab_config(document, "lb1", tmp_path)
    out = yaml.safe_load(text)
    recorder = str(installed / "notify_log.sh")
    assert out["instances"]["web"]["notify"] == {"master": recorder}
    assert out["sync_groups"]["g"]["notify"] == {"backup": recorder}
    assert "lb1: web's notify hooks are recorded, not run" in notes


def test_each_drill_lasts_as_long_as_the_slowest_timer_of_the_files() -> None:
    """Four seconds for every file made the drills of a 0.1 s cluster wait ~30 s for nothing;
    a 1 s cluster with a slow check still gets the time its check needs to fall."""
    fast = (
        "instances:\n  web: {interface: eth0, vrid: 51, priority: 150, advert_interval: 0.1,\n"
        "        virtual_addresses: [192.0.2.100/24]}\n"
    )
    slow = (
        "global: {script_security: false}\n"
        "scripts:\n  chk: {command: /bin/true, interval: 2, fall: 3}\n"
        "instances:\n  web: {interface: eth0, vrid: 51, priority: 150, preempt_delay: 5,\n"
        "        virtual_addresses: [192.0.2.100/24], track_scripts: [chk]}\n"
    )
    assert drill._hold([fast, fast]) == 1.5
    assert drill._hold([fast, slow]) == 3 * 1.0 + 5 + 1.0  # Master_Down + preempt_delay
