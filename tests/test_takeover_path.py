"""The takeover's address request leaves inside its dispatch (issue 17, "Takeover"):
after its adverts, before the log line, the state callbacks and the hooks."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address, ip_interface
from pathlib import Path

from vrrpd.adapters.netlink import Address, Link
from vrrpd.core import actions as act
from vrrpd.core.config import VirtualAddress
from vrrpd.core.constants import Family
from vrrpd.core.state import State
from vrrpd.driver.executor import Executor
from vrrpd.driver.kernel import Kernel

VIP = (VirtualAddress(ip_interface("192.0.2.100/24")),)


class Recorder:
    def __init__(self, done: list[str]) -> None:
        self.done = done

    def start_add_vip(
        self, index: int, interface: str, vip: VirtualAddress
    ) -> asyncio.Future[None]:
        self.done.append(f"request {vip.address} on {interface}")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def _scenario(tmp_path: Path, present: bool) -> list[str]:
    async def run() -> list[str]:
        done: list[str] = []
        kernel = Kernel(str(tmp_path / "ledger"))
        kernel.links = {"eth0": Link("eth0", 2, True, "02:00:00:00:00:01")}
        if present:  # someone else's: the careful path decides
            kernel.addresses = [Address(2, ip_address("192.0.2.100"), 24, True)]
        kernel.netlink.start_add_vip = Recorder(done).start_add_vip  # type: ignore[method-assign]
        kernel.send = lambda a: done.append("advert")  # type: ignore[method-assign]
        kernel.announce = lambda a: done.append("announce")  # type: ignore[method-assign]

        async def careful(action: act.AddAddresses | act.RemoveAddresses) -> list[str]:
            done.append("careful add")
            return []

        kernel.change_addresses = careful  # type: ignore[method-assign]
        executor = Executor(
            kernel,
            prefix=str,
            run_check=lambda a: None,
            run_hook=lambda a: done.append("hook"),
            state_changed=lambda a: done.append("state"),
        )
        lane = asyncio.get_running_loop().create_task(executor.forever())
        src, group = ip_address("192.0.2.12"), ip_address("224.0.0.18")
        executor.submit(
            [
                act.StateChanged("web", State.BACKUP, State.MASTER, "master down", 100, 0.0),
                act.SendAdvert("web", "eth0", Family.V4, src, group, b"x", 100),
                act.AddAddresses("web", "eth0", VIP, "eth0"),
                act.SendGratuitousArp("web", "eth0", (ip_address("192.0.2.100"),), 1, 51, False),
                act.RunNotify("web", "/bin/true", "MASTER", "master down", 100),
            ]
        )
        done.append("-- dispatch returned")
        await executor.join()
        lane.cancel()
        return done

    return asyncio.run(run())


def test_the_takeover_request_leaves_before_the_log_line_and_the_hooks(tmp_path: Path) -> None:
    assert _scenario(tmp_path, present=False) == [
        "advert",
        "request 192.0.2.100/24 on eth0",
        "state",
        "-- dispatch returned",
        "announce",
        "hook",
    ]


def test_an_address_present_and_not_ours_takes_the_careful_path(tmp_path: Path) -> None:
    assert _scenario(tmp_path, present=True) == [
        "advert",
        "state",
        "-- dispatch returned",
        "careful add",
        "announce",
        "hook",
    ]


def test_the_backup_hook_of_a_yield_runs_after_the_vips_are_gone(tmp_path: Path) -> None:
    """Defect 14.11: a master that yields keeps its VIPs YIELD_GRACE (make-before-break);
    its BACKUP hook ran at once, before they went."""

    async def run() -> list[str]:
        done: list[str] = []
        kernel = Kernel(str(tmp_path / "ledger"))
        kernel.send = lambda a: done.append("advert")  # type: ignore[method-assign]

        async def change(action: act.AddAddresses | act.RemoveAddresses) -> list[str]:
            done.append(type(action).__name__)
            return []

        kernel.change_addresses = change  # type: ignore[method-assign]
        kernel.left_master = lambda name: None  # type: ignore[method-assign]
        executor = Executor(
            kernel,
            prefix=str,
            run_check=lambda a: None,
            run_hook=lambda a: done.append(f"hook {a.state}"),
            state_changed=lambda a: done.append("state"),
        )
        lane = asyncio.get_running_loop().create_task(executor.forever())
        src, group = ip_address("192.0.2.11"), ip_address("224.0.0.18")
        executor.submit(
            [
                act.SendAdvert("web", "eth0", Family.V4, src, group, b"x", 100),
                act.StateChanged("web", State.MASTER, State.BACKUP, "higher priority", 100, 0.0),
                act.RunNotify("web", "/bin/true", "BACKUP", "higher priority", 100),
            ]
        )
        await asyncio.sleep(0.01)
        done.append("-- YIELD_GRACE later")
        executor.submit([act.RemoveAddresses("web", "eth0", VIP, "eth0")])
        await executor.join()
        lane.cancel()
        return done

    assert asyncio.run(run()) == [
        "advert",
        "state",
        "-- YIELD_GRACE later",
        "RemoveAddresses",
        "hook BACKUP",
    ]


def _takeover_then(tmp_path: Path, yield_after: float | None) -> list[str]:
    async def run() -> list[str]:
        from vrrpd.driver.executor import REANNOUNCE_AFTER

        done: list[str] = []
        kernel = Kernel(str(tmp_path / "ledger"))
        kernel.links = {"eth0": Link("eth0", 2, True, "02:00:00:00:00:01")}
        kernel.netlink.start_add_vip = Recorder(done).start_add_vip  # type: ignore[method-assign]
        kernel.send = lambda a: None  # type: ignore[method-assign]
        kernel.announce = lambda a: done.append(f"announce x{a.count}")  # type: ignore[method-assign]
        kernel.left_master = lambda name: None  # type: ignore[method-assign]
        executor = Executor(
            kernel,
            prefix=str,
            run_check=lambda a: None,
            run_hook=lambda a: None,
            state_changed=lambda a: None,
        )
        lane = asyncio.get_running_loop().create_task(executor.forever())
        src, group = ip_address("192.0.2.12"), ip_address("224.0.0.18")
        executor.submit(
            [
                act.StateChanged("web", State.BACKUP, State.MASTER, "master down", 100, 0.0),
                act.SendAdvert("web", "eth0", Family.V4, src, group, b"x", 100),
                act.AddAddresses("web", "eth0", VIP, "eth0"),
                act.SendGratuitousArp("web", "eth0", (ip_address("192.0.2.100"),), 3, 51, False),
            ]
        )
        await executor.join()
        if yield_after is not None:
            await asyncio.sleep(yield_after)
            executor.submit([act.StateChanged("web", State.MASTER, State.BACKUP, "h", 100, 0.0)])
        await asyncio.sleep(REANNOUNCE_AFTER + 0.02)
        lane.cancel()
        return done

    return asyncio.run(run())


def test_a_new_master_announces_once_more_after_the_yield_window(tmp_path: Path) -> None:
    """Defect 14.11: during the yield window both masters answer ARP and NS; a client that
    kept the old master's answer stayed on it until the next burst (garp delay, seconds)."""
    assert _takeover_then(tmp_path, None) == [
        "request 192.0.2.100/24 on eth0",
        "announce x3",
        "announce x1",
    ]


def test_no_reannouncement_after_leaving_master(tmp_path: Path) -> None:
    assert _takeover_then(tmp_path, 0.005) == ["request 192.0.2.100/24 on eth0", "announce x3"]
