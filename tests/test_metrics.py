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
    labels = 'vrrp_instance="web",interface="eth0",vrid="51",family="ipv4"'
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


def test_the_reference_parser_reads_every_family_and_sample() -> None:
    """prometheus-client's own text parser: what a scraper does with our hand-written text."""
    from prometheus_client.parser import text_string_to_metric_families

    h = Harness(checked(150))
    h.feed(CheckFinished("chk", False, 1), at=0.5)
    h.advance(10.0)
    text = render(h.node.statistics(), send_errors=2)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    # the parser names counters without their _total suffix
    assert {n if n in declared else f"{n}_total" for n in families} == declared
    assert families["vrrpd_send_errors"].type == "counter"
    assert families["vrrpd_send_errors"].samples[0].value == 2
    state = families["vrrpd_state"].samples[0]
    assert state.labels == {
        "vrrp_instance": "web",
        "interface": "eth0",
        "vrid": "51",
        "family": "ipv4",
    }
    assert families["vrrpd_packets_dropped"].samples[0].value == 0


def test_the_alerting_rules_name_only_metrics_we_export() -> None:
    import shutil
    import subprocess
    from pathlib import Path

    import yaml

    path = Path(__file__).parent.parent / "etc" / "prometheus" / "vrrpd-alerts.yml"
    rules = [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} == {
        "VrrpNoMaster", "VrrpTwoMasters", "VrrpInstanceFault", "VrrpCheckDown",
        "VrrpSendErrors", "VrrpdDown",
    }  # fmt: skip
    h = Harness(checked(150))
    h.advance(10.0)
    exported = {
        line.split()[2]
        for line in render(h.node.statistics()).splitlines()
        if line.startswith("# TYPE")
    }
    for rule in rules:
        named = set(re.findall(r"\bvrrpd_[a-z_]+", rule["expr"]))
        assert named <= exported, (rule["alert"], named - exported)
        assert rule["labels"]["severity"] in ("warning", "critical")
    promtool = shutil.which("promtool")
    if promtool is not None:  # the real checker, where the prometheus package is installed
        done = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
