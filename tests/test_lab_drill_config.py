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
