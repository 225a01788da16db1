"""Adapters and driver helpers that need no namespace."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface
from pathlib import Path

import pytest

from tests.builders import config, instance
from tests.harness import Harness
from vrrpd.adapters import scripts, systemd
from vrrpd.adapters.netlink import Address, Ledger, Link, LinkEvent, Netlink
from vrrpd.adapters.rawsock import parse_ipv4
from vrrpd.control import protocol
from vrrpd.core import actions as act
from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import IPAddress
from vrrpd.driver import kernel as kernel_module
from vrrpd.driver.kernel import Kernel
from vrrpd.driver.logs import RateLimit
from vrrpd.status import status_document, status_table


def test_argv_uses_the_shell_only_for_shell_syntax() -> None:
    assert scripts.argv("/usr/bin/curl -fs 'http://x/a b'") == [
        "/usr/bin/curl",
        "-fs",
        "http://x/a b",
    ]
    assert scripts.argv("pidof nginx | grep 1") == ["/bin/sh", "-c", "pidof nginx | grep 1"]
    assert scripts.argv("test -f /x && exit 1") == ["/bin/sh", "-c", "test -f /x && exit 1"]


def test_run_reports_exit_code_output_and_environment() -> None:
    outcome = asyncio.run(scripts.run("echo $GREETING; exit 3", timeout=5, env={"GREETING": "hi"}))
    assert (outcome.exit_code, outcome.output, outcome.timed_out) == (3, "hi", False)
    args = asyncio.run(
        scripts.run("/bin/echo", timeout=5, args=("INSTANCE", "web", "MASTER", "150"))
    )
    assert args.output == "INSTANCE web MASTER 150"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    command = f"sleep 30 & echo $! > {marker}; wait"
    started = time.monotonic()
    outcome = asyncio.run(scripts.run(command, timeout=0.3))
    assert outcome.timed_out
    assert outcome.exit_code is None
    assert time.monotonic() - started < 5
    grandchild = int(marker.read_text())
    time.sleep(0.1)
    # The forked sleep died with its group (it may linger as a zombie until init reaps it).
    stat = Path(f"/proc/{grandchild}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_command_that_cannot_start() -> None:
    outcome = asyncio.run(scripts.run("/nonexistent/check", timeout=1))
    assert outcome.exit_code is None
    assert outcome.error.startswith("cannot start")


def test_protocol_framing() -> None:
    assert protocol.decode(protocol.encode({"command": "status"})) == {"command": "status"}
    for bad, message in (
        (b"nope\n", "not JSON"),
        (b"[1]\n", "JSON object"),
        (b" " * (protocol.MAX_LINE + 1), "exceeds"),
    ):
        with pytest.raises(protocol.ProtocolError, match=message):
            protocol.decode(bad)
    with pytest.raises(protocol.ProtocolError, match="exceeds"):
        protocol.encode({"x": "y" * protocol.MAX_LINE})


def test_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    ledger = Ledger(path)
    assert ledger.load() == set()
    ledger.add("eth0", "192.0.2.100/24")
    ledger.add("eth0", "192.0.2.101/24")
    ledger.discard("eth0", "192.0.2.101/24")
    assert Ledger(path).load() == {("eth0", "192.0.2.100/24")}
    ledger.close()  # a clean stop leaves only what is held
    assert path.read_text() == "+ eth0 192.0.2.100/24\n"
    path.write_text("{broken")
    assert Ledger(path).load() == set()


def test_ledger_reads_a_line_cut_short_and_an_older_vrrpds_json(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(
        "+ eth0 192.0.2.100/24\n+ eth0 192.0.2.101/24\n- eth0 192.0.2.100/24\n+ eth0 192.0.2.1"
    )
    assert Ledger(path).load() == {("eth0", "192.0.2.101/24")}  # killed mid-line: ignored
    path.write_text("+ eth0 not-an-address\ngarbage\n+ eth1 2001:db8::1/64\n")
    assert Ledger(path).load() == {("eth1", "2001:db8::1/64")}
    path.write_text('{"vips": [{"interface": "eth0", "address": "192.0.2.100/24"}]}\n')
    assert Ledger(path).load() == {("eth0", "192.0.2.100/24")}  # vrrpd 0.1.0's format


def test_ledger_appends_a_line_per_change_and_compacts_when_long(tmp_path: Path) -> None:
    """Added: on disk before the address exists (crash cleanup depends on it), one
    appended line; removed: one line. Long files are rewritten with what is held."""
    path = tmp_path / "state.json"
    ledger = Ledger(path)
    for n in range(3):
        ledger.add("eth0", f"192.0.2.{100 + n}/24")
    assert len(Ledger(path).load()) == 3
    version = ledger.version
    ledger.discard("eth0", "192.0.2.100/24")
    ledger.discard("eth0", "192.0.2.101/24")
    assert ledger.version == version + 2
    assert Ledger(path).load() == {("eth0", "192.0.2.102/24")}
    assert len(path.read_text().splitlines()) == 5
    ledger.COMPACT_AFTER = 10
    for _ in range(10):
        ledger.add("eth0", "192.0.2.200/24")
        ledger.discard("eth0", "192.0.2.200/24")
    assert len(path.read_text().splitlines()) < 10
    assert Ledger(path).load() == {("eth0", "192.0.2.102/24")}


def test_status_document_and_table() -> None:
    h = Harness(config(instance(priority=150)))
    h.advance(10.0)
    document = status_document(h.node.statistics(), send_errors=2)
    web = document["instances"]["web"]
    assert (web["state"], web["priority"], web["effective_priority"], web["master"]) == (
        "MASTER",
        150,
        150,
        "192.0.2.11",
    )
    assert document["router"]["send_errors"] == 2
    json.dumps(document)  # serializable as is
    table = status_table(document)
    assert table.splitlines()[1].split()[:5] == ["web", "MASTER", "150", "150", "192.0.2.11"]


def test_parse_ipv4_header() -> None:
    header = bytes.fromhex("45c0001c0000000001700000c000020be0000012")
    payload = bytes(8)
    received = parse_ipv4(header + payload)
    assert received is not None
    assert (str(received.src), str(received.dst), received.ttl, received.data) == (
        "192.0.2.11",
        "224.0.0.18",
        1,
        payload,
    )
    assert parse_ipv4(b"\x60" + bytes(30)) is None
    assert parse_ipv4(b"\x45") is None


def test_rate_limit_counts_what_it_holds_back() -> None:
    limit = RateLimit(interval=10)
    assert limit.allow("k", 0.0) == 0
    assert limit.allow("k", 1.0) is None
    assert limit.allow("k", 2.0) is None
    assert limit.allow("k", 11.0) == 2


def test_sd_notify_without_systemd_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False


class _FakeKernel:
    """Links and addresses as a dump shows them; the deletes asked for."""

    def __init__(self, links: dict[str, Link], addresses: list[Address]) -> None:
        self.links_now = links
        self.addresses_now = addresses
        self.deleted: list[tuple[int, str]] = []

    def attach(self, netlink: Netlink) -> None:
        async def links() -> dict[str, Link]:
            return self.links_now

        async def addresses() -> list[Address]:
            return self.addresses_now

        async def delete(index: int, address: IPv4Interface | IPv6Interface) -> None:
            self.deleted.append((index, str(address)))

        netlink.links = links  # type: ignore[method-assign]
        netlink.addresses = addresses  # type: ignore[method-assign]
        netlink.rtnl.delete = delete  # type: ignore[method-assign]


def test_a_stale_vip_is_removed_by_index_after_a_rename(tmp_path: Path) -> None:
    """kill -9, then eth0 (index 3) renamed eth1 and another device (index 7) called eth0
    holding the same address: the VIP goes from index 3, index 7 is not touched."""
    path = tmp_path / "state"
    Ledger(path).add("eth0", "192.0.2.100/24", 3)
    kernel = _FakeKernel(
        {"eth1": Link("eth1", 3, True, ""), "eth0": Link("eth0", 7, True, "")},
        [
            Address(3, ip_address("192.0.2.100"), 24, True),
            Address(7, ip_address("192.0.2.100"), 24, True),
        ],
    )
    netlink = Netlink(Ledger(path))
    kernel.attach(netlink)
    removed = asyncio.run(netlink.remove_stale())
    assert kernel.deleted == [(3, "192.0.2.100/24")]
    assert removed == ["192.0.2.100/24 on eth0 (now eth1)"]
    assert Ledger(path).load() == set()


def test_a_stale_vip_already_gone_is_forgotten_not_reported_and_nothing_touched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state"
    Ledger(path).add("eth0", "192.0.2.100/24", 3)
    kernel = _FakeKernel(
        {"eth0": Link("eth0", 7, True, "")}, [Address(7, ip_address("192.0.2.100"), 24, True)]
    )
    netlink = Netlink(Ledger(path))
    kernel.attach(netlink)
    assert asyncio.run(netlink.remove_stale()) == []
    assert kernel.deleted == []
    assert Ledger(path).load() == set()


def test_an_older_ledger_without_indexes_goes_by_name_only_where_the_device_holds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state"
    path.write_text("+ eth0 192.0.2.100/24\n+ eth0 192.0.2.101/24\n")
    assert Ledger(path).load_indexed() == {
        ("eth0", "192.0.2.100/24"): None,
        ("eth0", "192.0.2.101/24"): None,
    }
    kernel = _FakeKernel(
        {"eth0": Link("eth0", 5, True, "")}, [Address(5, ip_address("192.0.2.100"), 24, True)]
    )
    netlink = Netlink(Ledger(path))
    kernel.attach(netlink)
    assert asyncio.run(netlink.remove_stale()) == ["192.0.2.100/24 on eth0"]
    assert kernel.deleted == [(5, "192.0.2.100/24")]


def test_ledger_lines_carry_the_interface_index(tmp_path: Path) -> None:
    path = tmp_path / "state"
    ledger = Ledger(path)
    ledger.add("eth0", "192.0.2.100/24", 3)
    assert path.read_text() == "+ eth0 192.0.2.100/24 3\n"
    assert Ledger(path).load_indexed() == {("eth0", "192.0.2.100/24"): 3}
    ledger.close()
    assert path.read_text() == "+ eth0 192.0.2.100/24 3\n"


class _SimNetlink:
    """The kernel's addresses as a set, behind Netlink's address calls; a real ledger."""

    def __init__(self, path: Path) -> None:
        self.ledger = Ledger(path)
        self.held: set[tuple[int, IPAddress]] = set()
        self.dumps = 0
        self.fail_removals = 0
        """The next this many removals fail (EBUSY-like), then they succeed again."""
        self.calls: list[str] = []
        self.announced: list[LinkEvent] = []
        """What the kernel broadcast about the addresses (``events`` replays it)."""

    async def links(self) -> dict[str, Link]:
        return {"eth0": Link("eth0", 2, True, "")}

    async def events(self) -> AsyncIterator[LinkEvent]:
        for event in self.announced:
            yield event

    async def close(self) -> None:
        pass

    async def addresses(self) -> list[Address]:
        self.dumps += 1
        return [Address(i, ip, 24, True) for i, ip in sorted(self.held, key=str)]

    async def add_vip(self, index: int, interface: str, vip: VirtualAddress) -> None:
        self.ledger.add(interface, str(vip.address), index)
        self.held.add((index, vip.address.ip))
        self.announced.append(LinkEvent("RTM_NEWADDR", index, vip.address.ip))
        self.calls.append(f"add {vip.address.ip}")

    async def remove_vip(
        self, index: int | None, interface: str, address: IPv4Interface | IPv6Interface
    ) -> None:
        self.calls.append(f"remove {address.ip}")
        if self.fail_removals:
            self.fail_removals -= 1
            raise OSError(16, "Device or resource busy")
        if index is not None:
            self.held.discard((index, address.ip))
            self.announced.append(LinkEvent("RTM_DELADDR", index, address.ip))
        self.ledger.discard(interface, str(address))


def _sim_kernel(tmp_path: Path) -> tuple[Kernel, _SimNetlink]:
    kernel = Kernel(str(tmp_path / "state"))
    sim = _SimNetlink(tmp_path / "state")
    kernel.netlink = sim  # type: ignore[assignment]
    kernel.links = {"eth0": Link("eth0", 2, True, "")}
    return kernel, sim


_VIP = (VirtualAddress(ip_interface("192.0.2.100/24")),)


def test_a_re_add_is_decided_from_a_dump_taken_after_our_own_removal(tmp_path: Path) -> None:
    """Defect 14.8: the view's dump predates our own removal and still shows the VIP; the
    re-add was skipped as "someone else's address" and the master had no VIP."""

    async def scenario() -> None:
        kernel, sim = _sim_kernel(tmp_path)
        add = act.AddAddresses("web", "eth0", _VIP, "eth0")
        remove = act.RemoveAddresses("web", "eth0", _VIP, "eth0")
        assert await kernel.change_addresses(add) == []
        await kernel.refresh()
        assert await kernel.change_addresses(remove) == []
        assert sim.held == set()
        # the view still shows the VIP (no refresh yet): the re-add must still happen
        assert await kernel.change_addresses(add) == []
        assert sim.held == {(2, ip_address("192.0.2.100"))}
        assert ("eth0", "192.0.2.100/24") in sim.ledger.entries

    asyncio.run(scenario())


def test_someone_elses_address_seen_in_a_fresh_dump_is_left_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        kernel, sim = _sim_kernel(tmp_path)
        sim.held.add((2, ip_address("192.0.2.100")))  # configured by the operator
        await kernel.refresh()
        dumps = sim.dumps
        assert await kernel.change_addresses(act.AddAddresses("web", "eth0", _VIP, "eth0")) == []
        assert sim.calls == []
        assert sim.dumps == dumps  # the dump is fresh: no second one
        assert sim.ledger.entries == set()

    asyncio.run(scenario())


def test_missing_vips_cover_every_vip_a_master_should_hold_not_only_the_ledger() -> None:
    """Defect 14.8: a master whose add was skipped or failed has no ledger entry, and
    ``missing_vips`` checked only ledger entries: never repaired."""
    from vrrpd.core.events import AddressesRemoved
    from vrrpd.driver import plan

    insts = [instance("web"), instance("db", vrid=52, vips=("192.0.2.200/24",))]
    links = {"eth0": Link("eth0", 2, True, "")}
    own = [Address(2, ip_address("192.0.2.11"), 24, True)]
    held = plan.master_vips(insts, {"web": "MASTER", "db": "BACKUP"})
    assert held == {("eth0", ip_address("192.0.2.100"))}
    view = plan.View()
    view.events(insts, links, own, set(), {}, initial=True, idle=True)
    assert view.events(insts, links, own, set(), {}, initial=False, idle=True, held=held) == [
        AddressesRemoved("eth0", (ip_address("192.0.2.100"),))
    ]
    there = [*own, Address(2, ip_address("192.0.2.100"), 24, True)]
    after = view.events(insts, links, there, set(), {}, initial=False, idle=True, held=held)
    assert not [e for e in after if isinstance(e, AddressesRemoved)]
    # on a device that does not exist there is nothing to repair from here
    assert plan.missing_vips(set(), {}, [], {}, held) == {}


def test_a_failed_vip_removal_is_retried_with_a_counter_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect 14.12: a failed removal was only logged; the backup kept the VIP until its
    next transition."""
    monkeypatch.setattr(kernel_module, "RETRY_DELAYS", (0.001, 0.002))

    async def scenario() -> None:
        kernel, sim = _sim_kernel(tmp_path)
        await kernel.change_addresses(act.AddAddresses("web", "eth0", _VIP, "eth0"))
        sim.fail_removals = 2
        errors = await kernel.change_addresses(act.RemoveAddresses("web", "eth0", _VIP, "eth0"))
        assert errors == [
            "cannot remove VIP 192.0.2.100/24 on eth0: [Errno 16] Device or resource busy; retrying"
        ]
        assert sim.held  # still there after the failure
        for _ in range(100):
            await asyncio.sleep(0.005)
            if not sim.held:
                break
        assert sim.held == set()
        assert sim.ledger.entries == set()
        assert kernel.removal_retries == 2
        await kernel.close()

    with caplog.at_level("WARNING", logger="vrrpd"):
        asyncio.run(scenario())
    assert "removal attempt 2 failed" in caplog.text
    assert "VIP 192.0.2.100/24 removed from eth0 at attempt 3" in caplog.text


def test_a_retry_stops_when_the_vip_is_wanted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernel_module, "RETRY_DELAYS", (0.01,))

    async def scenario() -> None:
        kernel, sim = _sim_kernel(tmp_path)
        add = act.AddAddresses("web", "eth0", _VIP, "eth0")
        await kernel.change_addresses(add)
        sim.fail_removals = 1
        await kernel.change_addresses(act.RemoveAddresses("web", "eth0", _VIP, "eth0"))
        await kernel.change_addresses(add)  # MASTER again before the retry
        await asyncio.sleep(0.05)
        assert sim.held == {(2, ip_address("192.0.2.100"))}
        assert kernel.removal_retries == 0
        await kernel.close()

    asyncio.run(scenario())


def test_the_echo_of_our_own_vip_change_does_not_re_read_the_kernel(tmp_path: Path) -> None:
    """CI, 200 instances under the unit: each of our VIP adds came back as an address
    event and cost a dump of every address; the new master was busy for seconds, its
    adverts went out late and the backup took over. Someone else's change still counts."""

    async def scenario() -> None:
        kernel, sim = _sim_kernel(tmp_path)
        two = (*_VIP, VirtualAddress(ip_interface("192.0.2.101/24")))
        assert await kernel.change_addresses(act.AddAddresses("web", "eth0", two, "eth0")) == []
        assert await kernel.change_addresses(act.RemoveAddresses("web", "eth0", _VIP, "eth0")) == []
        ours = len(sim.announced)
        vip = ip_address("192.0.2.101")
        sim.announced += [
            LinkEvent("RTM_DELADDR", 2, vip),  # an operator removed our VIP
            LinkEvent("RTM_NEWADDR", 2, ip_address("192.0.2.7")),  # and added another
            LinkEvent("RTM_NEWADDR", 2, vip),  # then put ours back: not our echo either
            LinkEvent("RTM_NEWLINK"),
        ]
        marks: list[int] = []
        await kernel.events(lambda: marks.append(1))
        assert ours == 3
        assert len(marks) == 4

    asyncio.run(scenario())
