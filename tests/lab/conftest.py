"""Lab fixtures: a fresh namespace lab per test, always torn down (also on failure)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from vrrpd.lab import Lab, Process

pytestmark = pytest.mark.netns


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """Three hosts (n1, n2, n3) and a client (cl) on one switch; removed even on failure."""
    instance = Lab()
    try:
        for name, i in (("n1", 11), ("n2", 12), ("n3", 13), ("cl", 50)):
            instance.add_node(name, f"192.0.2.{i}", f"2001:db8::{i}")
        yield instance
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for process in instance.processes:
                sys.stderr.write(
                    f"--- {process.namespace} {process.name} (pid {process.pid})\n{process.output()[-4000:]}\n"
                )
    finally:
        instance.close()


@pytest.fixture
def sniffer(lab: Lab) -> Process:
    return lab.start_sniffer(sys.executable)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if call.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
