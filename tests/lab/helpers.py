"""Small lab-test helpers: start a cluster, find the master, time takeovers on the wire."""

from __future__ import annotations

from typing import Any

from vrrpd.lab import Lab, LabError, Process, wait_for
from vrrpd.lab.peers import Peer, start_keepalived, start_vrrpd

V4 = {"n1": "192.0.2.11", "n2": "192.0.2.12", "n3": "192.0.2.13"}
V6 = {"n1": "2001:db8::11", "n2": "2001:db8::12", "n3": "2001:db8::13"}


def start(lab: Lab, peer: Peer, impl: str = "vrrpd") -> Process:
    return start_vrrpd(lab, peer) if impl == "vrrpd" else start_keepalived(lab, peer)


def vip_of(peer: Peer) -> str:
    return peer.vips[0].split("/")[0]


def sole_holder(
    lab: Lab,
    vip: str,
    expected: str,
    *,
    timeout: float = 10.0,
    among: tuple[str, ...] = ("n1", "n2", "n3"),
) -> None:
    """Wait until ``expected`` alone (among live, plugged nodes) holds ``vip``."""

    def holders() -> list[str]:
        return [n for n in among if vip in lab.addresses(n)]

    try:
        wait_for(
            lambda: holders() == [expected], timeout=timeout, what=f"{expected} alone holding {vip}"
        )
    except LabError as error:
        raise LabError(f"{error} (holders at the end: {holders()})") from None


def adverts_from(records: list[dict[str, Any]], src: str) -> list[dict[str, Any]]:
    return [r for r in records if r["src"] == src and "error" not in r]


def takeover_gap(records: list[dict[str, Any]], old: str, new: str) -> float:
    """Time from the old master's last advert to the new master's first one after it."""
    last_old = max(r["t"] for r in adverts_from(records, old) if r["priority"] > 0)
    first_new = min(r["t"] for r in adverts_from(records, new) if r["t"] > last_old)
    return float(first_new - last_old)
