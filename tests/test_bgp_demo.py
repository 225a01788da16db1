"""`vrrpd lab demo --bgp` without FRR: exit 1 naming what to install, before any lab
object is made (no root needed to be told)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import vrrpd.lab.bgp
from vrrpd.cli import main


def test_the_bgp_demo_without_frr_exits_1_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vrrpd.lab.bgp, "FRR", tmp_path / "no-frr")
    result = CliRunner().invoke(main, ["lab", "demo", "--bgp"])
    assert result.exit_code == 1, result.output
    said = result.stderr if hasattr(result, "stderr") else result.output
    assert "demo failed: FRR is missing" in said
    assert f"{tmp_path / 'no-frr' / 'bgpd'}" in said
    assert "apt-get install frr" in said
