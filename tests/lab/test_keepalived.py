"""Mixed clusters with Debian's Keepalived, in both directions."""

from __future__ import annotations

import re
import signal

import pytest

from tests.lab.helpers import adverts_from, sole_holder, start, vip_of
from vrrpd.lab import Lab, Process, wait_for
from vrrpd.lab.peers import Peer

pytestmark = pytest.mark.netns

MODES = {
    "v2": {"version": 2, "interval": 1.0},
    "v2-pass": {"version": 2, "interval": 1.0, "password": "secret"},
    "v3-v4": {},
    "v3-v6": {"vips": ("2001:db8::100/64",)},
    "v3-unicast": {"unicast": True},
}
# What Keepalived says when it refuses or doubts an advert.
COMPLAINTS = re.compile(
    r"checksum|[Ii]nvalid|mismatch|not present|bogus|[Ww]rong|unknown|error", re.MULTILINE
)
SRC = {"n1": "192.0.2.11", "n2": "192.0.2.12"}


def peer(mode: str, node: str, priority: int) -> Peer:
    settings = dict(MODES[mode])
    if settings.pop("unicast", False):
        other = "n2" if node == "n1" else "n1"
        settings.update(unicast_peers=(SRC[other],), unicast_source=SRC[node])
    return Peer(node, priority, **settings)  # type: ignore[arg-type]


def source(lab: Lab, node: str, vip: str) -> str:
    """The node's advert source: its IPv4 address, or its IPv6 link-local."""
    if ":" not in vip:
        return SRC[node]
    return next(a for a in lab.addresses(node) if a.startswith("fe80:"))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("master_impl", ["vrrpd", "keepalived"])
def test_mixed_cluster(lab: Lab, sniffer: Process, mode: str, master_impl: str) -> None:
    backup_impl = "keepalived" if master_impl == "vrrpd" else "vrrpd"
    high, low = peer(mode, "n1", 150), peer(mode, "n2", 100)
    vip = vip_of(high)
    among = ("n1", "n2")
    wait = 15 if high.version == 2 else 8
    backup = start(lab, low, backup_impl)
    master = start(lab, high, master_impl)
    keepalived = backup if backup_impl == "keepalived" else master

    # 1. the same master, elected by priority; the client reaches the VIP
    sole_holder(lab, vip, "n1", timeout=wait, among=among)
    assert lab.ping("cl", vip, count=1, wait=2)

    # 2. graceful handover: priority 0 from the master, the backup takes over at once
    lab.signal(master, signal.SIGTERM)
    assert lab.wait(master, 10) is not None
    sole_holder(lab, vip, "n2", timeout=5, among=among)
    zero = [
        r for r in adverts_from(lab.adverts(sniffer), source(lab, "n1", vip)) if r["priority"] == 0
    ]
    assert zero, "the stopping master sent no priority-0 advert"

    # 3. it comes back and preempts
    master = start(lab, high, master_impl)
    if master_impl == "keepalived":
        keepalived = master
    sole_holder(lab, vip, "n1", timeout=wait, among=among)

    # 4. the master crashes (frozen, killed, unplugged): the backup takes over
    lab.crash(master, unplug="n1")
    wait_for(lambda: vip in lab.addresses("n2"), timeout=wait, what="takeover after the crash")
    assert lab.ping("cl", vip, count=1, wait=2)

    # 5. every advert on the wire decodes with a good checksum and TTL 255
    records = lab.adverts(sniffer)
    assert records
    assert [r for r in records if "error" in r] == []
    assert {r["ttl"] for r in records} == {255}
    log = "\n".join(p.output() for p in lab.processes if p.name == "keepalived")
    assert not COMPLAINTS.findall(log), f"Keepalived complained:\n{log[-3000:]}"
    # and Keepalived really took part: it was master at some point in either direction
    assert "Entering MASTER STATE" in keepalived.output()


def test_keepalived_2_2_7_refuses_the_rfc9568_checksum_which_is_why_pseudo_is_the_default(
    lab: Lab,
) -> None:
    """The interop quirk in one test: message-only v3/IPv4 checksums split the cluster."""
    start(lab, Peer("n1", 150, extra={"v3_ipv4_checksum": "message"}))
    keepalived = start(lab, Peer("n2", 100), "keepalived")
    wait_for(
        lambda: "Invalid VRRPv3 checksum" in keepalived.output(),
        timeout=5,
        what="Keepalived's refusal",
    )
    sole_holder(lab, "192.0.2.100", "n2", timeout=0.1, among=("n2",))  # it took the VIP too


def test_vrrpd_in_auto_mode_reports_a_message_only_peer_and_follows_it(lab: Lab) -> None:
    auto = start(lab, Peer("n1", 100, extra={"v3_ipv4_checksum": "auto"}))
    start(lab, Peer("n2", 150, extra={"v3_ipv4_checksum": "message"}))
    sole_holder(lab, "192.0.2.100", "n2", timeout=8, among=("n1", "n2"))
    assert "192.0.2.12 uses the message-only VRRPv3 checksum" in auto.output()
