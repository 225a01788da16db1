"""Issue 19: what FRR says of an ``announce: bgp`` instance's VIPs (per BGP neighbour:
advertised or not, the session, BFD), read from what FRR 8.4 answered in the BGP lab.

tests/data/frr/NAME.out and .err are vtysh's stdout and stderr for
``vrrpd.bgp.commands(("203.0.113.10/32",))`` on a node of ``vrrpd.lab.bgp.BgpLab``
(lb1 and lb2 eBGP to the router r at 198.51.100.1 / .5, BFD 300 ms x 3):

* master: lb1 MASTER (the VIP on lo); backup: lb2 BACKUP at the same time;
* handed-over-old / -new: lb1 and lb2 after ``vrrpd maintenance on`` on lb1;
* no-bfdd, no-bgpd: lb2 after its bfdd, then its bgpd, was killed;
* cut: lb1 11 s after its link was cut at the router (session and BFD down);
* no-frr: lb1 after its FRR daemons were killed;
* unit-without-frrvty / unit-with-frrvty: lb1 MASTER, vtysh run as root with the
  shipped unit's capabilities only (setpriv: no CAP_DAC_OVERRIDE), without and with
  the frrvty group;
* user-without-frrvty: lb1's FRR alone, vtysh run as nobody (no frrvty group);
* master-unknown-prefix: the master asked also for 203.0.113.99/32 (not in its table).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.builders import config, instance
from tests.harness import Harness
from tests.loop_gaps import LoopGaps
from vrrpd.bgp import FrrStatus, FrrView, ask, bgp_prefixes, commands, instance_status, read
from vrrpd.core.config import Announce
from vrrpd.metrics import render
from vrrpd.status import status_document, status_table

DATA = Path(__file__).parent / "data" / "frr"
VIP = ("203.0.113.10/32",)
R1, R2 = "198.51.100.1", "198.51.100.5"


def captured(name: str, prefixes: tuple[str, ...] = VIP) -> FrrView:
    text = (DATA / f"{name}.out").read_text()
    return read(text, prefixes, 100.0, failed=(DATA / f"{name}.err").read_text())


def status(name: str, prefixes: tuple[str, ...] = VIP) -> dict[str, object]:
    return instance_status(captured(name, prefixes), prefixes, 102.5)


def test_the_master_advertises_its_vip_to_the_router_with_bfd_up() -> None:
    assert status("master") == {
        "age": 2.5,
        "error": None,
        "neighbors": {R1: {"session": "Established", "advertised": True, "bfd": "up"}},
    }


def test_a_backup_is_not_advertising_though_bgpd_sends_the_router_its_own_path_back() -> None:
    """lb2's bgpd has the VIP from the router (best path, AS path 64496 64497) and sends
    it back to the router (``advertisedTo``); that is not lb2's route."""
    assert '"advertisedTo"' in (DATA / "backup.out").read_text()
    assert status("backup")["neighbors"] == {
        R2: {"session": "Established", "advertised": False, "bfd": "up"}
    }


def test_after_a_handover_the_old_master_no_longer_advertises_and_the_new_one_does() -> None:
    assert status("handed-over-old")["neighbors"] == {
        R1: {"session": "Established", "advertised": False, "bfd": "up"}
    }
    assert status("handed-over-new")["neighbors"] == {
        R2: {"session": "Established", "advertised": True, "bfd": "up"}
    }


def test_a_cut_link_shows_the_session_and_bfd_down_and_nothing_advertised() -> None:
    assert status("cut")["neighbors"] == {
        R1: {"session": "Connect", "advertised": False, "bfd": "down"}
    }


def test_bfdd_not_running_leaves_bfd_unknown_and_says_why() -> None:
    got = status("no-bfdd")
    assert got["error"] == "vtysh: bfdd is not running"
    assert got["neighbors"] == {R2: {"session": "Idle", "advertised": False, "bfd": None}}


@pytest.mark.parametrize(
    "name", ["no-bgpd", "no-frr", "unit-without-frrvty", "user-without-frrvty"]
)
def test_no_answer_from_frr_is_unknown_with_the_reason(name: str) -> None:
    got = status(name)
    assert got["neighbors"] == {}
    assert isinstance(got["error"], str)
    if name == "no-bgpd":
        assert got["error"] == "vtysh: bgpd is not running"
    else:
        # not vtysh's asides (a vtysh.conf it may not read; "Hint: ... privileged user")
        assert got["error"].startswith("vtysh: Exiting: failed to connect to any daemons. (")
        assert "group frrvty" in got["error"]
    table = status_table(_document(got))
    assert f"frr: unknown ({got['error']})" in table


def test_the_unit_with_the_frrvty_group_reads_frr_despite_vtyshs_warning() -> None:
    assert "Permission denied" in (DATA / "unit-with-frrvty.err").read_text()
    assert status("unit-with-frrvty") == status("master")


def test_an_instance_is_advertised_only_when_every_vip_is() -> None:
    both = ("203.0.113.10/32", "203.0.113.99/32")
    assert status("master-unknown-prefix", both)["neighbors"] == {
        R1: {"session": "Established", "advertised": False, "bfd": "up"}
    }
    view = captured("master-unknown-prefix", both)
    assert view.prefixes["203.0.113.99/32"].ours is False  # `{}`: not in the table


def test_the_questions_go_in_one_vtysh_run_bfd_last() -> None:
    assert commands(("203.0.113.10/32", "2001:db8::10/128")) == [
        "show bgp summary json",
        "show bgp ipv4 unicast 203.0.113.10/32 json",
        "show bgp ipv6 unicast 2001:db8::10/128 json",
        "show bfd peers json",
    ]
    pay = instance("pay", vrid=60, vips=VIP, announce=Announce.BGP)
    six = instance("six", vrid=61, vips=("2001:db8::10/128",), announce=Announce.BGP)
    assert bgp_prefixes((pay, six, instance("web"))) == {
        "pay": VIP,
        "six": ("2001:db8::10/128",),
    }


def _harness() -> Harness:
    pay = instance("pay", vrid=60, priority=150, vips=VIP, announce=Announce.BGP)
    h = Harness(config(pay, instance("web", vrid=51, priority=150)))
    h.advance(10.0)
    return h


def _document(pay: dict[str, object]) -> dict[str, object]:
    return status_document(_harness().node.statistics(), announced={"pay": True}, frr={"pay": pay})


def test_status_shows_each_neighbor_with_the_age_of_the_answer() -> None:
    document = _document(status("master"))
    assert document["instances"]["pay"]["frr"]["neighbors"][R1]["advertised"] is True  # type: ignore[index]
    assert document["instances"]["web"]["frr"] is None  # type: ignore[index]
    table = status_table(document)
    assert f"frr (2.5 s ago): neighbor {R1} Established, BFD up, VIPs advertised" in table
    cut = status_table(_document(status("cut")))
    assert f"frr (2.5 s ago): neighbor {R1} Connect, BFD down, VIPs not advertised" in cut


def test_metrics_per_neighbor_advertised_session_and_bfd() -> None:
    stats = _harness().node.statistics()
    pay = 'vrrp_instance="pay",interface="eth0",vrid="60",family="ipv4"'
    lines = render(stats, frr={"pay": status("master")}).splitlines()
    assert f"vrrpd_frr_up{{{pay}}} 1" in lines
    assert f"vrrpd_frr_answer_age_seconds{{{pay}}} 2.5" in lines
    assert f'vrrpd_bgp_vip_advertised{{{pay},neighbor="{R1}"}} 1' in lines
    assert f'vrrpd_bgp_session_established{{{pay},neighbor="{R1}"}} 1' in lines
    assert f'vrrpd_bfd_session_up{{{pay},neighbor="{R1}"}} 1' in lines
    gone = render(stats, frr={"pay": status("no-bfdd")}).splitlines()
    assert f"vrrpd_frr_up{{{pay}}} 0" in gone
    assert f'vrrpd_bgp_vip_advertised{{{pay},neighbor="{R2}"}} 0' in gone
    assert not [line for line in gone if line.startswith("vrrpd_bfd_session_up{")]
    never = render(stats, frr={"pay": instance_status(None, VIP, 0.0)}).splitlines()
    assert not [line for line in never if line.startswith("vrrpd_frr_up{")]


def _fake_vtysh(tmp_path: Path, name: str, delay: float = 0.0) -> list[str]:
    """A vtysh that answers what FRR answered, counting its runs."""
    script = tmp_path / "vtysh"
    script.write_text(
        f"#!/bin/sh\necho run >> {tmp_path}/runs\nsleep {delay}\n"
        f"cat {DATA / name}.out\ncat {DATA / name}.err >&2\n"
    )
    script.chmod(0o755)
    return [str(script)]


def test_asked_at_most_every_refresh_seconds_and_off_the_event_loop(tmp_path: Path) -> None:
    """Two status requests in a row run vtysh once; a slow vtysh (0.4 s) does not hold
    the event loop (a 5 ms ticker keeps ticking); a scrape never waits."""
    frr = FrrStatus(lambda: {"pay": VIP}, _fake_vtysh(tmp_path, "master", delay=0.4))

    async def scenario() -> tuple[float, FrrView | None, FrrView | None, FrrView | None]:
        async with LoopGaps() as loop:
            scraped = frr.current()  # starts the question, does not wait
            first = await frr.fresh()  # waits for that same run
            second = await frr.fresh()  # within REFRESH: the same answer, no run
        return loop.longest, scraped, first, second

    longest, scraped, first, second = asyncio.run(scenario())
    assert scraped is None
    assert first is not None
    assert first is second
    assert instance_status(first, VIP, first.at)["neighbors"][R1]["advertised"] is True
    assert (tmp_path / "runs").read_text().count("run") == 1
    assert longest < 0.05  # 6-7 ms measured; vtysh run on the loop would be 400 ms


def test_frr_missing_off_or_hung_is_an_error_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = ask(["/nonexistent/vtysh"], VIP)
    assert missing.error == "/nonexistent/vtysh not found (FRR not installed?)"
    hung = tmp_path / "hung"
    hung.write_text("#!/bin/sh\nsleep 5\n")
    hung.chmod(0o755)
    started = time.monotonic()
    assert ask([str(hung)], VIP, timeout=0.3).error == "vtysh did not answer within 0.3 s"
    assert time.monotonic() - started < 2
    monkeypatch.setenv("VRRPD_VTYSH", "off")
    off = FrrStatus(lambda: {"pay": VIP})
    view = asyncio.run(off.fresh())
    assert view is not None
    assert view.error == "not asked (VRRPD_VTYSH=off)"
    none = FrrStatus(lambda: {}, _fake_vtysh(tmp_path, "master"))
    assert asyncio.run(none.fresh()) is None  # no announce: bgp instance: never asked
    assert not (tmp_path / "runs").exists()


def test_asked_again_once_the_answer_is_older_than_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frr = FrrStatus(lambda: {"pay": VIP}, _fake_vtysh(tmp_path, "master"))

    async def twice() -> tuple[FrrView | None, FrrView | None]:
        return await frr.fresh(), await frr.fresh()

    monkeypatch.setattr("vrrpd.bgp.REFRESH", 0.0)
    first, second = asyncio.run(twice())
    assert first is not None
    assert second is not None
    assert second.at > first.at
    assert (tmp_path / "runs").read_text().count("run") == 2
