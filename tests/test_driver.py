"""The driver's logic without a kernel: the plan (pure), the coalescer, the executor's lanes.

Each review defect that lived in the old driver has a test here that failed against it:
1. netlink events during a refresh were dropped; 2. a reload kept a socket that never
joined the multicast group; 3. the address owner's own address was hidden from the
core and could be deleted as a VIP; 4. NAs without the Router flag; 8. adverts
waiting behind netlink calls.
"""

from __future__ import annotations

import asyncio
from ipaddress import ip_address, ip_interface

import pytest

from tests.builders import instance
from vrrpd.adapters.netlink import Address, Link
from vrrpd.core import actions as act
from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import Family, IPAddress
from vrrpd.core.events import AddressesRemoved, LinkChanged
from vrrpd.driver import plan
from vrrpd.driver.executor import Executor
from vrrpd.driver.kernel import Coalescer, Kernel

ETH0 = Link("eth0", 2, True, "02:00:00:00:00:01")
ETH1 = Link("eth1", 3, True, "02:00:00:00:00:02")
LINKS = {"eth0": ETH0, "eth1": ETH1}
A = ip_address


def addr(index: int, text: str, *, usable: bool = True) -> Address:
    return Address(index, A(text), 24, usable)


# ---------------------------------------------------------------- sockets (defect 2)


def test_a_socket_joins_when_any_instance_on_it_is_multicast() -> None:
    uni = instance("u", vrid=1, unicast_peers=(A("192.0.2.12"),))
    multi = instance("m", vrid=2)
    assert plan.wanted_sockets([uni], LINKS) == {("eth0", Family.V4): False}
    assert plan.wanted_sockets([uni, multi], LINKS) == {("eth0", Family.V4): True}


def test_a_reload_from_unicast_to_multicast_reopens_the_socket_joined() -> None:
    """Defect 2: sockets were made once per (interface, family); a reload that made an
    instance multicast kept the unjoined socket, deaf to every advert: two masters."""
    have = {("eth0", Family.V4): False}
    want = plan.wanted_sockets([instance("m", vrid=2)], LINKS)
    changes = plan.socket_changes(have, want)
    assert changes.close == (("eth0", Family.V4),)
    assert changes.open == ((("eth0", Family.V4), True),)


def test_sockets_that_are_right_are_kept_and_missing_links_get_none() -> None:
    have = {("eth0", Family.V4): True}
    inst = [instance("a"), instance("b", vrid=2, interface="eth9")]
    want = plan.wanted_sockets(inst, LINKS)
    assert want == {("eth0", Family.V4): True}
    assert plan.socket_changes(have, want) == plan.SocketChanges((), ())
    assert plan.socket_changes(have, {}).close == (("eth0", Family.V4),)


def test_both_families_on_one_interface_get_a_socket_each() -> None:
    """Found by the soak: sorting (interface, Family) keys raised TypeError at start."""
    both = [instance("v4"), instance("v6", vrid=61, vips=("2001:db8::100/64",))]
    want = plan.wanted_sockets(both, LINKS)
    changes = plan.socket_changes({}, want)
    assert changes.open == ((("eth0", Family.V4), True), (("eth0", Family.V6), True))
    assert plan.socket_changes(want, {}).close == (("eth0", Family.V4), ("eth0", Family.V6))


# ---------------------------------------------------------------- addresses (defect 3)


def test_the_core_sees_own_addresses_but_not_the_vips_we_added() -> None:
    addresses = [addr(2, "192.0.2.11"), addr(2, "192.0.2.100"), addr(3, "198.51.100.1")]
    added = {("eth0", A("192.0.2.100"))}
    view = plan.core_links({"eth0", "eth9"}, LINKS, addresses, added)
    assert view["eth0"] == LinkChanged("eth0", True, (A("192.0.2.11"),))
    assert view["eth9"] == LinkChanged("eth9", False, ())


def test_the_address_owner_keeps_seeing_its_own_address() -> None:
    """Defect 3: every configured VIP was hidden from the core; an owner whose VIP is the
    interface's only address then had no source and went to FAULT."""
    addresses = [addr(2, "192.0.2.100")]  # the owner's real address, also its VIP
    view = plan.core_links({"eth0"}, LINKS, addresses, added=set())
    assert view["eth0"].addresses == (A("192.0.2.100"),)


def test_tentative_addresses_are_not_sources_yet() -> None:
    view = plan.core_links({"eth0"}, LINKS, [addr(2, "fe80::1", usable=False)], set())
    assert view["eth0"].addresses == ()


def test_missing_vips_are_reported_on_the_interface_the_core_knows() -> None:
    added = {("eth0", A("192.0.2.100")), ("vrrp.51", A("192.0.2.101"))}
    links = {**LINKS, "vrrp.51": Link("vrrp.51", 9, True, "")}
    present = [addr(2, "192.0.2.100")]
    assert plan.missing_vips(added, links, present, {"vrrp.51": "eth0"}) == {
        "eth0": (A("192.0.2.101"),)
    }
    assert plan.missing_vips(added, links, [*present, addr(9, "192.0.2.101")], {}) == {}


def test_ledger_entries_become_device_address_pairs() -> None:
    assert plan.ours({("eth0", "192.0.2.100/24")}) == {("eth0", A("192.0.2.100"))}


# ---------------------------------------------------------------- virtual MACs


def test_vmacs_follow_the_config() -> None:
    web = instance("web", use_vmac=True)
    db = instance("db", vrid=52)
    create, remove = plan.vmac_changes([web, db], {}, LINKS)
    assert [i.name for i in create] == ["web"]
    assert remove == ()
    # a reload that drops use_vmac removes it; one that changes the VRID recreates it
    assert plan.vmac_changes([db], {"web": "vrrp.51"}, LINKS) == ((), ("web",))
    moved = instance("web", vrid=60, use_vmac=True)
    create, remove = plan.vmac_changes([moved], {"web": "vrrp.51"}, LINKS)
    assert [i.vmac_device for i in create] == ["vrrp.60"]
    assert remove == ("web",)
    # no parent, no macvlan
    assert plan.vmac_changes([instance("x", use_vmac=True, interface="eth9")], {}, LINKS) == (
        (),
        (),
    )


# ---------------------------------------------------------------- lanes (defect 8)

VIP = (VirtualAddress(ip_interface("192.0.2.100/24")),)


def advert(name: str = "web") -> act.SendAdvert:
    return act.SendAdvert(name, "eth0", Family.V4, A("192.0.2.11"), A("224.0.0.18"), b"x", 100)


def garp(name: str = "web") -> act.SendGratuitousArp:
    return act.SendGratuitousArp(name, "eth0", (A("192.0.2.100"),), 1, 51, False)


def test_lanes() -> None:
    add = act.AddAddresses("web", "eth0", VIP, "eth0")
    assert plan.lane(add, {}) is plan.Lane.KERNEL
    assert plan.lane(garp(), {}) is plan.Lane.NOW
    assert plan.lane(garp(), {"web": 1}) is plan.Lane.KERNEL
    assert plan.lane(garp("db"), {"web": 1}) is plan.Lane.NOW


class FakeKernel(Kernel):
    """Records what it is asked; address changes block until released."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.release = asyncio.Event()

    def send(self, action: act.SendAdvert) -> None:
        self.done.append(f"advert {action.instance}")

    def announce(self, action: act.SendGratuitousArp | act.SendNeighborAdvert) -> None:
        self.done.append(f"announce {action.instance}")

    def start_adding(self, action: act.AddAddresses) -> None:
        return None  # the careful path, which this fake stalls

    async def change_addresses(self, action: act.AddAddresses | act.RemoveAddresses) -> list[str]:
        await self.release.wait()
        self.done.append(f"{type(action).__name__} {action.instance}")
        return []


def test_adverts_never_wait_for_netlink_and_announcements_follow_the_addresses() -> None:
    """Defect 8: one executor ran everything in order, so while a VIP add was awaited
    (up to 5 s) timer adverts queued behind it and a backup could take over."""

    async def scenario() -> list[str]:
        kernel = FakeKernel()
        hooks: list[str] = []
        executor = Executor(
            kernel,
            prefix=str,
            run_check=lambda a: None,
            run_hook=lambda a: hooks.append(a.instance),
            state_changed=lambda a: None,
        )
        lane = asyncio.get_running_loop().create_task(executor.forever())
        notify = act.RunNotify("web", "/bin/true", "MASTER", "why", 100)
        executor.submit([advert(), act.AddAddresses("web", "eth0", VIP, "eth0"), garp(), notify])
        await asyncio.sleep(0.01)  # netlink is stalled
        executor.submit([advert(), advert("db"), garp("db")])
        await asyncio.sleep(0.01)
        stalled = list(kernel.done)
        assert not executor.idle
        assert hooks == []
        kernel.release.set()
        await executor.join()
        lane.cancel()
        assert executor.idle
        assert hooks == ["web"]
        return [*stalled, "--", *kernel.done[len(stalled) :]]

    assert asyncio.run(scenario()) == [
        "advert web",
        "advert web",
        "advert db",
        "announce db",
        "--",
        "AddAddresses web",
        "announce web",
    ]


# ---------------------------------------------------------------- netlink events (defect 1)


def test_an_event_during_a_refresh_gets_a_refresh_of_its_own() -> None:
    """Defect 1: events that arrived while a refresh held its lock were skipped, so a
    carrier that dropped and came back during it left the instance in FAULT."""

    async def scenario() -> tuple[int, list[str]]:
        seen: list[str] = []
        state = {"carrier": "down"}
        gate = asyncio.Event()

        async def refresh() -> None:
            snapshot = state["carrier"]
            await gate.wait()  # the refresh is slow; the carrier comes back meanwhile
            seen.append(snapshot)

        coalescer = Coalescer(refresh)
        task = asyncio.get_running_loop().create_task(coalescer.run())
        coalescer.mark()
        await asyncio.sleep(0)
        state["carrier"] = "up"
        coalescer.mark()
        coalescer.mark()  # several events during one refresh: one more refresh
        gate.set()
        await asyncio.sleep(0.01)
        task.cancel()
        return coalescer.refreshes, seen

    refreshes, seen = asyncio.run(scenario())
    assert refreshes == 2
    assert seen == ["down", "up"]


# ---------------------------------------------------------------- the Router flag (defect 4)


class RecordingLayer:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[IPAddress, ...], int, bool]] = []

    def announce(self, addresses: tuple[IPAddress, ...], count: int, *, router: bool) -> int:
        self.calls.append((addresses, count, router))
        return count


@pytest.mark.parametrize(
    ("action", "router"),
    [
        (act.SendNeighborAdvert("web", "eth0", (A("2001:db8::1"),), 2, 51, False), True),
        (act.SendGratuitousArp("web", "eth0", (A("192.0.2.100"),), 2, 51, False), False),
    ],
)
def test_neighbour_advertisements_set_the_router_flag(
    action: act.SendNeighborAdvert | act.SendGratuitousArp, router: bool
) -> None:
    """Defect 4: NAs left with R=0; RFC 5798 6.4.2 wants a router's NA to say so."""
    layer = RecordingLayer()
    kernel = Kernel("/nonexistent/state.json", link_layer=lambda name: layer)  # type: ignore[arg-type,return-value]
    kernel.announce(action)
    assert layer.calls == [(action.addresses, 2, router)]


def test_the_view_tells_the_core_only_what_changed_and_missing_vips_only_when_idle() -> None:
    view = plan.View()
    insts = [instance("web")]
    own = [addr(2, "192.0.2.11")]
    first = view.events(insts, LINKS, own, set(), {}, initial=True, idle=True)
    assert first == [LinkChanged("eth0", True, (A("192.0.2.11"),))]
    assert view.events(insts, LINKS, own, set(), {}, initial=False, idle=True) == []
    # a carrier loss is news; a VIP of ours gone while we change nothing is news too
    down = {**LINKS, "eth0": Link("eth0", 2, False, "")}
    added = {("eth0", A("192.0.2.100"))}
    assert view.events(insts, down, own, added, {}, initial=False, idle=True) == [
        LinkChanged("eth0", False, (A("192.0.2.11"),)),
        AddressesRemoved("eth0", (A("192.0.2.100"),)),
    ]
    # while our own address change is in flight, a missing VIP is not someone else's doing
    assert view.events(insts, down, own, added, {}, initial=False, idle=False) == []


def test_removals_of_different_instances_go_to_netlink_together_and_order_holds() -> None:
    """Shutdown of many masters: their VIP removals are in flight at once (one round trip,
    not one per instance); what follows an instance's removal still waits for it."""

    async def scenario() -> tuple[int, list[str]]:
        kernel = FakeKernel()
        in_flight = 0
        most = 0

        async def change(action: act.AddAddresses | act.RemoveAddresses) -> list[str]:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await kernel.release.wait()
            in_flight -= 1
            kernel.done.append(f"{type(action).__name__} {action.instance}")
            return []

        kernel.change_addresses = change  # type: ignore[method-assign]
        hooks: list[str] = []
        executor = Executor(kernel, prefix=str, run_check=lambda a: None,
                            run_hook=lambda a: hooks.append(a.instance), state_changed=lambda a: None)  # fmt: skip
        lane = asyncio.get_running_loop().create_task(executor.forever())
        names = ["a", "b", "c"]
        executor.submit([act.RemoveAddresses(n, "eth0", VIP, "eth0") for n in names])
        executor.submit([act.RunNotify("a", "/bin/true", "INIT", "why", 0)])
        await asyncio.sleep(0.01)
        assert hooks == []  # a's hook waits for a's removal
        kernel.release.set()
        await executor.join()
        lane.cancel()
        assert executor.idle
        return most, [*kernel.done, *hooks]

    most, order = asyncio.run(scenario())
    assert most == 3
    assert order == ["RemoveAddresses a", "RemoveAddresses b", "RemoveAddresses c", "a"]
