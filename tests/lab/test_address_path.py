"""The address path on a real kernel: the ledger after a kill and a rename, and what
the hand-written rtnetlink path buys over pyroute2 (issue 17)."""

from __future__ import annotations

import signal
import sys
import textwrap

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab, wait_for
from vrrpd.lab.peers import Peer

pytestmark = pytest.mark.netns

MEASURE = textwrap.dedent(
    """
    import asyncio, json, statistics, time
    from ipaddress import ip_interface
    from pyroute2 import AsyncIPRoute
    from vrrpd.adapters.rtnl import Rtnl

    async def main():
        out = {}
        async with AsyncIPRoute() as ipr:
            index = (await ipr.link_lookup(ifname="eth0"))[0]
            rtnl = Rtnl()
            rtnl.open()
            for n, runs in ((1, 200), (200, 20)):
                vips = [ip_interface(f"198.51.100.{i + 1}/32") for i in range(n)]
                for path in ("rtnl", "pyroute2"):
                    times = []
                    for _ in range(runs):
                        start = time.perf_counter()
                        if path == "rtnl":
                            await asyncio.gather(*(rtnl.replace(index, v) for v in vips))
                        else:
                            await asyncio.gather(*(
                                ipr.addr("replace", index=index, address=str(v.ip), prefixlen=32)
                                for v in vips
                            ))
                        times.append((time.perf_counter() - start) * 1000)
                        dump = [a.get("address") async for a in await ipr.addr("dump", index=index)]
                        assert sum(a.startswith("198.51.100.") for a in dump) == n, dump
                        await asyncio.gather(*(rtnl.delete(index, v) for v in vips))
                    out[f"{path} {n}"] = [statistics.median(times), min(times)]
            rtnl.close()
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_the_hand_written_rtnetlink_path_against_pyroute2(lab: Lab) -> None:
    """Issue 17: keep the hand-written path only if it buys >= 0.3 ms. Request -> ack
    (rtnetlink answers once the address is in the kernel), 1 VIP and 200 VIPs pipelined;
    the figures go to docs/benchmarks.md (run with -s to see them)."""
    import json

    done = lab.exec("n1", sys.executable, "-c", MEASURE, timeout=120)
    figures = json.loads(done.stdout)
    for key, (median, least) in figures.items():
        print(f"{key:14s} VIPs: median {median:.3f} ms, min {least:.3f} ms")
    assert figures["rtnl 1"][1] < figures["pyroute2 1"][1]
    assert figures["rtnl 200"][1] < figures["pyroute2 200"][1]


def test_after_kill_and_rename_the_stale_vip_goes_by_index_and_the_new_eth0_keeps_its(
    lab: Lab,
) -> None:
    """Defect 14.7: the ledger knew interfaces by name. After kill -9, eth0 renamed and a
    new device called eth0 holding the same address: the stale VIP was reported removed
    but stayed (it was looked up on the new eth0), and the new eth0 lost its address."""
    n1 = start(lab, Peer("n1", 150))
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    lab.signal(n1, signal.SIGKILL)
    wait_for(lambda: not n1.alive(), timeout=5, what="the agent killed")
    ns = lab.nodes["n1"].namespace
    lab.ip(ns, "link", "set", "eth0", "down")
    lab.ip(ns, "link", "set", "eth0", "name", "old0")
    lab.ip(ns, "link", "set", "old0", "up")
    lab.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    lab.ip(ns, "addr", "add", "192.0.2.100/24", "dev", "eth0")
    lab.ip(ns, "link", "set", "eth0", "up")
    lab.ip(ns, "link", "set", "eth0p", "up")
    config = lab.workdir / "n1.yaml"
    config.write_text(config.read_text().replace("interface: eth0", "interface: old0"))
    argv = [str(a) for a in n1.popen.args[4:]]  # type: ignore[index]
    again = lab.start("n1", argv, label="vrrpd2")
    wait_for(
        lambda: "left behind by a previous run" in again.output(),
        timeout=5,
        what="the stale VIP removed at start",
    )
    assert "192.0.2.100" in lab.addresses("n1", "eth0"), "the new eth0 lost its address"
    assert "192.0.2.100/24 on eth0 (now old0)" in again.output()
    lab.signal(again, signal.SIGTERM)
    lab.wait(again)
