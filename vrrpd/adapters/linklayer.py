"""AF_PACKET sends of the announcement frames built by ``core.arp`` and ``core.ndisc``."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

from vrrpd.core.arp import gratuitous_arp
from vrrpd.core.constants import IPAddress
from vrrpd.core.ndisc import unsolicited_na


class LinkLayer:
    """One packet socket per interface; knows the interface's own MAC address."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            self.sock.bind((interface, 0))
            self.mac: bytes = self.sock.getsockname()[4]
        except OSError:
            self.sock.close()
            raise

    def announce(
        self,
        addresses: tuple[IPAddress, ...],
        count: int,
        *,
        mac: bytes | None = None,
        router: bool = False,
    ) -> int:
        """Send ``count`` GARPs / NAs per address from ``mac`` (default: the interface's); frames sent."""
        source = mac or self.mac
        sent = 0
        for _ in range(count):
            for address in addresses:
                if isinstance(address, IPv4Address):
                    frame = gratuitous_arp(source, address)
                else:
                    assert isinstance(address, IPv6Address)
                    frame = unsolicited_na(source, address, router=router)
                self.sock.send(frame)
                sent += 1
        return sent

    def close(self) -> None:
        self.sock.close()
