"""Issue 19: ``vrrpd status`` and the metrics say how an instance announces its VIPs and,
for ``announce: bgp``, whether they are on the device (the route FRR announces exists);
the benchmark page names ExaBGP as the reference of the routed-VIP drills."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

from tests.builders import config, instance
from tests.harness import Harness
from vrrpd.adapters.netlink import Address, Link
from vrrpd.core.config import Announce, Election
from vrrpd.driver.kernel import Kernel
from vrrpd.lab.report import render as render_page
from vrrpd.metrics import render
from vrrpd.status import status_document, status_table

VIP = ("203.0.113.10/32",)


def _harness() -> Harness:
    pay = instance("pay", vrid=60, priority=150, vips=VIP, announce=Announce.BGP)
    web = instance("web", vrid=51, priority=150)
    h = Harness(config(pay, web))
    h.advance(10.0)
    return h


def test_status_says_how_each_instance_announces_and_whether_the_route_is_there() -> None:
    h = _harness()
    document = status_document(h.node.statistics(), announced={"pay": True})
    pay, web = document["instances"]["pay"], document["instances"]["web"]
    assert (pay["announce"], pay["announce_device"], pay["election"], pay["announced"]) == (
        "bgp", "lo", "vrrp", True,
    )  # fmt: skip
    assert (web["announce"], web["announce_device"], web["announced"]) == ("arp", None, None)
    table = status_table(document)
    assert "announce: bgp on lo: VIPs on the device (route announced)" in table
    gone = status_table(status_document(h.node.statistics(), announced={"pay": False}))
    assert "announce: bgp on lo: VIPs not on the device (no route)" in gone


def test_metrics_export_the_announce_mode_and_the_route() -> None:
    h = _harness()
    lines = render(h.node.statistics(), announced={"pay": False}).splitlines()
    pay = 'vrrp_instance="pay",interface="eth0",vrid="60",family="ipv4"'
    web = 'vrrp_instance="web",interface="eth0",vrid="51",family="ipv4"'
    assert f'vrrpd_announce_info{{{pay},announce="bgp",device="lo",election="vrrp"}} 1' in lines
    assert f'vrrpd_announce_info{{{web},announce="arp",device="",election="vrrp"}} 1' in lines
    assert f"vrrpd_vip_announced{{{pay}}} 0" in lines
    assert not [line for line in lines if line.startswith(f"vrrpd_vip_announced{{{web}")]


def test_the_kernel_view_says_whether_every_vip_is_on_the_announce_device(tmp_path: Path) -> None:
    kernel = Kernel(str(tmp_path / "state.json"))
    pay = instance("pay", vrid=60, vips=VIP, announce=Announce.BGP)
    two = instance("two", vrid=61, vips=("203.0.113.11/32", "203.0.113.12/32"),
                   announce=Announce.BGP, election=Election.NONE)  # fmt: skip
    away = instance("away", vrid=62, vips=VIP, announce=Announce.BGP, announce_device="vip0")
    web = instance("web", vrid=51)
    kernel.links = {"lo": Link("lo", 1, True, "00:00:00:00:00:00"),
                    "eth0": Link("eth0", 2, True, "02:00:00:00:00:01")}  # fmt: skip
    kernel.addresses = [
        Address(1, ip_address("203.0.113.10"), 32, True),
        Address(1, ip_address("203.0.113.11"), 32, True),
        Address(2, ip_address("203.0.113.12"), 32, True),  # on eth0, not on lo
    ]
    assert kernel.announced((pay, two, away, web)) == {"pay": True, "two": False, "away": False}


def test_the_benchmark_page_names_exabgp_beside_the_routed_vip_drills() -> None:
    figure = {"id": "bgp_stop_outage", "group": "Routed VIPs", "title": "stop", "unit": "ms",
              "vrrpd": {"median": 5.0, "min": 4.0, "max": 6.0},
              "exabgp": {"median": 9.0, "min": 8.0, "max": 10.0},
              "reference": "exabgp", "ratio": 5 / 9}  # fmt: skip
    meta = {"file": "x.json", "commit": "c", "date": "d", "machine": "m", "keepalived": "k",
            "runs": "3"}  # fmt: skip
    page = render_page({"meta": meta, "figures": [figure]}, [])
    assert "| figure | unit | vrrpd | ExaBGP | ratio |" in page
    assert "| stop | ms | 5.00 (4.00-6.00) | 9.00 (8.00-10.00) | 0.56 |" in page
