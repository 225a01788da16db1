"""Prometheus exposition: well formed, and the figures are the statistics'."""

from __future__ import annotations

import re

from tests.builders import checked, config, instance
from tests.harness import Harness
from vrrpd.adapters.http import parse_listen
from vrrpd.core.config import GlobalConfig, validate
from vrrpd.core.events import CheckFinished
from vrrpd.metrics import render

SAMPLE = re.compile(r'^vrrpd_[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? -?\d+(\.\d+)?$')


def test_every_line_is_a_comment_or_a_sample_and_types_are_declared() -> None:
    h = Harness(checked(150))
    h.feed(CheckFinished("chk", True, 0), at=0.5)
    h.advance(10.0)
    text = render(h.node.statistics(), send_errors=3)
    lines = text.splitlines()
    assert text.endswith("\n")
    for line in lines:
        assert (
            line.startswith("# HELP vrrpd_")
            or line.startswith("# TYPE vrrpd_")
            or SAMPLE.match(line)
        ), line
    typed = {line.split()[2] for line in lines if line.startswith("# TYPE")}
    sampled = {re.split(r"[{ ]", line)[0] for line in lines if not line.startswith("#")}
    assert sampled <= typed
    labels = 'instance="web",interface="eth0",vrid="51",family="ipv4"'
    assert f"vrrpd_state{{{labels}}} 2" in lines
    assert f"vrrpd_effective_priority{{{labels}}} 150" in lines
    assert f"vrrpd_master_transitions_total{{{labels}}} 1" in lines
    assert 'vrrpd_check_up{check="chk"} 1' in lines
    assert "vrrpd_send_errors_total 3" in lines


def test_listen_address_parsing_and_validation() -> None:
    assert parse_listen("127.0.0.1:9650") == ("127.0.0.1", 9650)
    assert parse_listen("[::1]:9650") == ("::1", 9650)
    bad = config(instance())
    bad = type(bad)(global_=GlobalConfig(metrics_listen="nope"), instances=bad.instances)
    assert [str(p) for p in validate(bad)] == [
        "global.metrics_listen: must be HOST:PORT, like 127.0.0.1:9650 (got 'nope')"
    ]
