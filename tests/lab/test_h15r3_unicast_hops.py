"""Review h15r3, finding 1, on the wire: Keepalived 2.2.7 sends IPv6 unicast adverts with
the kernel's hop limit (64: vrrp.c sets it only for IPv4 unless unicast_ttl says so) and
accepts unicast adverts at any TTL. A vrrpd backup with the default unicast_max_hops 0
drops them all and becomes MASTER beside it (seen: both held the VIP); with what
`vrrpd convert` now writes (unicast_max_hops: 254) it follows the Keepalived master."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.helpers import adverts_from, sole_holder, start
from vrrpd.convert import convert
from vrrpd.lab import Lab, Process, wait_for
from vrrpd.lab.peers import Peer

pytestmark = pytest.mark.netns

VIPS = ("2001:db8::100/64",)


def _converted_hops(tmp_path: Path) -> str:
    """unicast_max_hops as `vrrpd convert` writes it for the backup's keepalived.conf."""
    conf = tmp_path / "n2.conf"
    conf.write_text(
        "vrrp_instance web {\n    interface eth0\n    virtual_router_id 51\n"
        "    priority 100\n    unicast_src_ip 2001:db8::12\n"
        "    unicast_peer {\n        2001:db8::11\n    }\n"
        "    virtual_ipaddress {\n        2001:db8::100/64\n    }\n}\n"
    )
    return str(convert(conf).document["instances"]["web"]["unicast_max_hops"])


def test_a_converted_backup_follows_keepalived_over_ipv6_unicast(
    lab: Lab, sniffer: Process, tmp_path: Path
) -> None:
    master = Peer(
        "n1", 150, vips=VIPS, unicast_peers=("2001:db8::12",), unicast_source="2001:db8::11"
    )
    backup = Peer(
        "n2",
        100,
        vips=VIPS,
        unicast_peers=("2001:db8::11",),
        unicast_source="2001:db8::12",
        extra={"unicast_max_hops": _converted_hops(tmp_path)},
    )
    start(lab, master, "keepalived")
    sole_holder(lab, "2001:db8::100", "n1", timeout=8, among=("n1",))
    before = len(adverts_from(lab.adverts(sniffer), "2001:db8::11"))
    start(lab, backup, "vrrpd")
    wait_for(
        lambda: len(adverts_from(lab.adverts(sniffer), "2001:db8::11")) >= before + 30,
        timeout=8,
        what="three seconds of the Keepalived master's adverts (Master_Down_Interval: 0.36 s)",
    )
    assert adverts_from(lab.adverts(sniffer), "2001:db8::12") == []  # n2 never took over
    sole_holder(lab, "2001:db8::100", "n1", timeout=0.1, among=("n1", "n2"))
    hop_limits = {r["ttl"] for r in adverts_from(lab.adverts(sniffer), "2001:db8::11")}
    assert hop_limits == {64}, hop_limits  # why the converted file needs unicast_max_hops
