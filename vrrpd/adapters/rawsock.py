"""IPPROTO_VRRP (112) raw sockets: one per interface and address family.

The socket is bound to its interface (SO_BINDTODEVICE), joins 224.0.0.18 / ff02::12
there, sends with TTL / hop limit 255, and does not loop its own multicast back.
On receipt it reports what the core needs to validate: source, destination and
the received TTL / hop limit (from the IPv4 header, or IPv6 ancillary data), and
the VRRP payload. The family is the socket's, never guessed from the bytes.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from vrrpd.core.constants import IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6, TTL, Family, IPAddress

# Linux values the socket module does not always export.
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IP_MULTICAST_ALL = 49
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPTOS_PREC_INTERNETCONTROL = 0xC0
"""DSCP CS6, as Keepalived and FRR mark adverts."""
_BUFSIZE = 65535


@dataclass(frozen=True, slots=True)
class Received:
    src: IPAddress
    dst: IPAddress
    ttl: int
    data: bytes


class VrrpSocket:
    """A non-blocking raw VRRP socket on one interface, for one family."""

    def __init__(self, interface: str, family: Family, *, multicast: bool = True) -> None:
        self.interface = interface
        self.family = family
        self.ifindex = socket.if_nametoindex(interface)
        af = socket.AF_INET if family is Family.V4 else socket.AF_INET6
        self.sock = socket.socket(af, socket.SOCK_RAW, IPPROTO_VRRP)
        try:
            self._configure(multicast)
        except OSError:
            self.sock.close()
            raise

    def _configure(self, multicast: bool) -> None:
        s = self.sock
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.interface.encode())
        if self.family is Family.V4:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, TTL)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, TTL)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_PREC_INTERNETCONTROL)
            # Only the groups joined on this socket, not every group of the host.
            s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            mreqn = struct.pack("4s4si", MULTICAST_V4.packed, b"\0" * 4, self.ifindex)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            if multicast:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, IPTOS_PREC_INTERNETCONTROL)
            if multicast:
                mreq = MULTICAST_V6.packed + struct.pack("@I", self.ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, *, src: IPAddress, dst: IPAddress) -> None:
        """Send one advert from ``src`` (set per packet, so it follows address changes)."""
        if self.family is Family.V4:
            assert isinstance(src, IPv4Address)
            info = struct.pack("@i4s4s", self.ifindex, src.packed, b"\0" * 4)
            self.sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, (str(dst), 0))
        else:
            assert isinstance(src, IPv6Address)
            info = src.packed + struct.pack("@I", self.ifindex)
            self.sock.sendmsg(
                [data],
                [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)],
                0,
                (str(dst), 0, 0, self.ifindex),
            )

    def receive(self) -> Received | None:
        """One datagram, or None when nothing is waiting or it is not even an IP packet."""
        try:
            data, ancillary, _flags, address = self.sock.recvmsg(_BUFSIZE, 256)
        except (BlockingIOError, InterruptedError):
            return None
        if self.family is Family.V4:
            return parse_ipv4(data)
        src = ip_address(address[0].split("%")[0])
        hop_limit, dst = -1, MULTICAST_V6
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT:
                hop_limit = struct.unpack("@i", value[:4])[0]
            elif level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
                dst = IPv6Address(value[:16])
        return Received(src, dst, hop_limit, data)


def parse_ipv4(packet: bytes) -> Received | None:
    """A raw IPv4 socket delivers the IP header too: the TTL and addresses come from it."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_len = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    if header_len < 20 or len(packet) < header_len:
        return None
    payload = (
        packet[header_len : min(total, len(packet))] if total >= header_len else packet[header_len:]
    )
    return Received(IPv4Address(packet[12:16]), IPv4Address(packet[16:20]), packet[8], payload)
