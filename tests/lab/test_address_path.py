"""The address path on a real kernel: the ledger after a kill and a rename, and what
the hand-written rtnetlink path buys over pyroute2 (issue 17)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time

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


VMAC = "00:00:5e:00:01:33"
ARP_PROBE = textwrap.dedent(
    """
    import socket, struct, sys, time
    from ipaddress import IPv4Address
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    mac = sock.getsockname()[4]
    vip = IPv4Address(sys.argv[1]).packed
    me = IPv4Address(sys.argv[2]).packed
    frame = (b"\\xff" * 6 + mac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
             + mac + me + b"\\0" * 6 + vip)
    end = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < end:
        sock.send(frame)
        time.sleep(0.0005)
    """
)


def _tshark(lab: Lab, port: str, capture_filter: str, seconds: float) -> subprocess.Popen[str]:
    """A bounded capture on a switch port (frames from that node), started by us."""
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: apt-get install tshark (in the Makefile's APT_PACKAGES)")
    argv = ["ip", "netns", "exec", lab.switch, "tshark", "-l", "-n", "-i", port, "-f",
            capture_filter, "-a", f"duration:{seconds:g}", "-T", "fields", "-e",
            "frame.time_epoch", "-e", "eth.src", "-e", "ip.src", "-e", "vrrp.prio",
            "-e", "arp.opcode"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _frames(capture: subprocess.Popen[str]) -> list[list[str]]:
    out, _ = capture.communicate(timeout=30)
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def test_use_vmac_adverts_come_from_the_virtual_mac_and_the_old_master_is_quiet(
    lab: Lab,
) -> None:
    """Defect 14.10: with use_vmac the adverts went out from the parent's MAC (RFC 5798
    7.2/7.3 want the virtual MAC, so switches learn it from them), and during the yield
    window the old master's macvlan still answered ARP for the VIP beside the new one."""
    n1 = start(lab, Peer("n1", 150, use_vmac=True))

    def holders() -> list[str]:
        return [n for n in ("n1", "n2") if "192.0.2.100" in lab.addresses(n, "vrrp.51")]

    wait_for(lambda: holders() == ["n1"], timeout=10, what="n1 master")
    time.sleep(0.3)
    port1, port2 = lab.nodes["n1"].port, lab.nodes["n2"].port
    adverts = _tshark(lab, port1, "ip proto 112", 1.5)
    time.sleep(1.8)
    sent = [f for f in _frames(adverts) if f[2] == "192.0.2.11"]
    assert len(sent) >= 8, sent
    assert {f[1] for f in sent} == {VMAC}, f"adverts from { ({f[1] for f in sent}) }"
    # the handover: n2 (200) preempts; a client asks for the VIP every 0.5 ms meanwhile
    arp_from_n1 = _tshark(lab, port1, "arp", 4)
    adverts_n2 = _tshark(lab, port2, "ip proto 112", 4)
    time.sleep(1.5)  # both captures running (tshark takes a moment to start)
    probe = lab.start("cl", [sys.executable, "-c", ARP_PROBE, "192.0.2.100", "192.0.2.50", "2"])
    time.sleep(0.3)
    start(lab, Peer("n2", 200, use_vmac=True))
    wait_for(lambda: holders() == ["n2"], timeout=10, what="n2 alone master")
    lab.wait(probe)
    first_n2 = min(float(f[0]) for f in _frames(adverts_n2) if f[2] == "192.0.2.12")
    arp = _frames(arp_from_n1)
    print(
        "ARP replies from n1 around n2's first advert (ms):",
        [
            round((float(f[0]) - first_n2) * 1000, 2)
            for f in arp
            if f[4] == "2" and abs(float(f[0]) - first_n2) < 0.05
        ],
    )
    replies = [f for f in arp if f[4] == "2"]
    assert [f for f in replies if float(f[0]) < first_n2], "n1 answered no ARP while master"
    # quiet well inside the 20 ms yield window: it keeps its VIPs that long, not its ARP
    # answers. 5 ms, not 2: n2's agent starts at that moment on the same two cores as n1,
    # the prober and three captures: answers came up to 2.0-3.1 ms after n2's first
    # advert in 2 of 8 runs here (a `make test` and a rerun), 1.4 ms at most otherwise
    late = [
        round((float(f[0]) - first_n2) * 1000, 2) for f in replies if float(f[0]) > first_n2 + 0.005
    ]
    assert late == [], f"the old master answered ARP {late} ms after the new master's first advert"
    assert n1.alive()


FAILING_REMOVALS = textwrap.dedent(
    """
    import errno, sys
    from vrrpd.adapters import rtnl
    from vrrpd.cli import main

    real = rtnl.Rtnl.delete
    left = [int(sys.argv.pop(1))]

    async def delete(self, index, address):
        # the kernel refuses the first removals (as a busy or failing rtnetlink would)
        if left[0] > 0:
            left[0] -= 1
            raise rtnl.RtnlError(errno.EBUSY)
        await real(self, index, address)

    rtnl.Rtnl.delete = delete
    sys.argv[0] = "vrrpd"
    main()
    """
)


def test_a_failed_vip_removal_is_retried_counted_and_the_vip_goes(lab: Lab) -> None:
    """Defect 14.12: a failed VIP removal was only logged, so a backup kept the VIP until
    its next transition (two holders). The first two removals are refused here (the
    agent's ``Rtnl.delete`` fails with EBUSY, as a refusing kernel would): the removal is
    retried, ``vrrpd_vip_removal_retries_total`` counts it, a warning says so, and the VIP
    leaves the old master."""
    from vrrpd.lab.peers import vrrpd_yaml

    config = lab.workdir / "n1.yaml"
    config.write_text(
        vrrpd_yaml(lab, Peer("n1", 150)).replace(
            "global:\n", "global:\n  metrics_listen: 127.0.0.1:9650\n"
        )
    )
    n1 = lab.start(
        "n1",
        [sys.executable, "-c", FAILING_REMOVALS, "2", "run", "-c", str(config)],
        label="vrrpd",
    )
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    start(lab, Peer("n2", 200))
    wait_for(lambda: "192.0.2.100" in lab.addresses("n2"), timeout=10, what="n2 master")
    sole_holder(lab, "192.0.2.100", "n2", timeout=5, among=("n1", "n2"))
    out = n1.output()
    assert "cannot remove VIP 192.0.2.100/24 on eth0" in out, out
    assert "; retrying" in out, out
    assert "removal attempt 2 failed" in out, out
    assert "VIP 192.0.2.100/24 removed from eth0 at attempt 3" in out, out
    metrics = lab.exec("n1", "curl", "-sf", "http://127.0.0.1:9650/metrics").stdout
    assert "vrrpd_vip_removal_retries_total 2" in metrics, metrics
    assert n1.alive()
