"""IPPROTO_VRRP (112) raw sockets: one per interface and address family.

The socket is bound to its interface (SO_BINDTODEVICE), joins 224.0.0.18 / ff02::12
there, sends with TTL / hop limit 255, and does not loop its own multicast back.
On receipt it reports what the core needs to validate: source, destination and
the received TTL / hop limit (from the IPv4 header, or IPv6 ancillary data), and
the VRRP payload. The family is the socket's, never guessed from the bytes.
"""

from __future__ import annotations

import contextlib
import errno
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


# ---------------------------------------------------------------- the kernel's filter


@dataclass(frozen=True, slots=True)
class Accept:
    """What one instance on a socket accepts: the rest is dropped by the kernel."""

    vrid: int
    version: int
    min_ttl: int
    peers: tuple[IPAddress, ...] = ()
    """Empty: any source (multicast); else only these (unicast_peers)."""


SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
SKF_NET_OFF = -0x100000
"""Classic BPF offsets from the network header (an IPv6 raw socket's data starts after it)."""
BPF_MAXINSNS = 4096
MAX_FILTERED_PEERS = 16
"""Peers checked in the kernel per instance; with more, the agent alone checks them."""
_LD_B_ABS, _LD_W_ABS, _LD_B_IND, _LDX_B_MSH = 0x30, 0x20, 0x50, 0xB1
_JEQ, _JGE, _RET = 0x15, 0x35, 0x06
_ACCEPT = 0xFFFF


def filter_program(
    family: Family,
    accepts: list[Accept],
    *,
    only: tuple[IPAddress, ...] | None = None,
    exclude: tuple[IPAddress, ...] = (),
) -> list[tuple[int, int, int, int]]:
    """A classic BPF program (code, jt, jf, k) that passes a packet only if one of
    ``accepts`` would consider it: its version and ADVERTISEMENT type, its VRID, its
    TTL / hop limit, and its source when the instance has unicast peers.

    Everything else (a flood of other VRIDs, TTL != 255, garbage, spoofed non-peers) is
    dropped in the kernel, before it costs the agent a wake-up or fills the socket's
    queue ahead of the followed master's adverts. IPv4 raw sockets see the IP header at
    offset 0 (the VRRP header after IHL words); IPv6 raw sockets see the VRRP header at 0,
    and the IPv6 header (hop limit, source) through SKF_NET_OFF.

    ``only`` (the followed masters' lane) passes nothing but packets from those sources;
    ``exclude`` (the main socket) drops them: each packet lands on exactly one socket.
    """
    v4 = family is Family.V4
    program: list[tuple[int, int, int, int]] = []
    if only is not None:
        program += _source_gate(v4, only[:MAX_FOLLOWED], keep=True)
    elif exclude:
        program += _source_gate(v4, exclude[:MAX_FOLLOWED], keep=False)
    if v4:
        program.append((_LDX_B_MSH, 0, 0, 0))  # X = IP header length
    for accept in sorted(set(accepts), key=lambda a: (a.vrid, a.version, a.min_ttl)):
        block = _block(v4, accept)
        if len(program) + len(block) + 1 > BPF_MAXINSNS:
            # too many instances to say: filter nothing (and leave the lane empty)
            return [(_RET, 0, 0, 0 if only is not None else _ACCEPT)]
        program += block
    program.append((_RET, 0, 0, 0))
    return program


MAX_FOLLOWED = 16
"""Followed masters a socket's lane holds (the first, in the caller's order; the main
socket carries the rest)."""


def _source_gate(
    v4: bool, addresses: tuple[IPAddress, ...], *, keep: bool
) -> list[tuple[int, int, int, int]]:
    """Instructions run before the instances' checks: with ``keep`` only packets from
    ``addresses`` go on to them, without it those packets are dropped. The layout is one
    block of source comparisons per address, a ``ret 0``, then the checks."""
    src_at = 12 if v4 else SKF_NET_OFF + 8
    words = 1 if v4 else 4
    per = 2 * words
    reject = len(addresses) * per
    checks = reject + 1
    code: list[tuple[int, int, int, int]] = []
    for i, address in enumerate(addresses):
        last = i == len(addresses) - 1
        mismatch = (i + 1) * per if not last else (reject if keep else checks)
        for word in range(words):
            value = int.from_bytes(address.packed[4 * word : 4 * word + 4], "big")
            code.append((_LD_W_ABS, 0, 0, (src_at + 4 * word) & 0xFFFFFFFF))
            at = len(code)  # the index of the jump appended next
            matched = (checks if keep else reject) if word == words - 1 else at + 1
            code.append((_JEQ, matched - at - 1, mismatch - at - 1, value))
    code.append((_RET, 0, 0, 0))
    return code


def socket_drops(sock: socket.socket) -> int:
    """Packets the kernel dropped at this socket because its queue was full, from
    SO_MEMINFO: what the agent never saw. Not those its filter refused: the kernel
    counts those nowhere (tests/lab/test_h16r_findings.py)."""
    try:
        info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * _SK_MEMINFO_VARS)
    except OSError:
        return 0
    if len(info) < 4 * _SK_MEMINFO_VARS:
        return 0
    return int(struct.unpack_from("=I", info, 4 * (_SK_MEMINFO_VARS - 1))[0])


SO_MEMINFO = 55
_SK_MEMINFO_VARS = 9
"""struct sk_meminfo: the last of its nine u32 is SK_MEMINFO_DROPS (sk_drops)."""


_Target = int | str
"""A jump target while a block is assembled: 0 (the next instruction), "accept", "fail"
(the first instruction after the block), or "peer<N>" (where peer N's checks begin)."""


def _block(v4: bool, accept: Accept) -> list[tuple[int, int, int, int]]:
    """One instance's checks; any failure jumps to the instruction after the block."""
    load_vrrp = _LD_B_IND if v4 else _LD_B_ABS
    ttl_at = 8 if v4 else SKF_NET_OFF + 7
    src_at = 12 if v4 else SKF_NET_OFF + 8
    words = 1 if v4 else 4
    code: list[tuple[int, _Target, _Target, int]] = [
        (load_vrrp, 0, 0, 0),
        (_JEQ, 0, "fail", accept.version << 4 | 1),  # version, and type ADVERTISEMENT
        (load_vrrp, 0, 0, 1),
        (_JEQ, 0, "fail", accept.vrid),
        (_LD_B_ABS, 0, 0, ttl_at),
        (_JGE, 0, "fail", accept.min_ttl),
    ]
    labels: dict[str, int] = {}
    peers = accept.peers if len(accept.peers) <= MAX_FILTERED_PEERS else ()
    for n, peer in enumerate(peers):
        labels[f"peer{n}"] = len(code)
        mismatch = f"peer{n + 1}" if n + 1 < len(peers) else "fail"
        for word in range(words):
            value = int.from_bytes(peer.packed[4 * word : 4 * word + 4], "big")
            code.append((_LD_W_ABS, 0, 0, src_at + 4 * word))
            code.append((_JEQ, "accept" if word == words - 1 else 0, mismatch, value))
    labels["accept"] = len(code)
    code.append((_RET, 0, 0, _ACCEPT))
    labels["fail"] = len(code)

    def offset(at: int, target: _Target) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return [
        (op, offset(i, jt), offset(i, jf), k & 0xFFFFFFFF) for i, (op, jt, jf, k) in enumerate(code)
    ]


SO_DETACH_FILTER = getattr(socket, "SO_DETACH_FILTER", 27)


def detach_filter(sock: socket.socket) -> None:
    """Remove the socket's filter: it passes everything again (never raises: there may
    be none)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """SO_ATTACH_FILTER (replacing any filter there), from struct sock_fprog built here.

    Only OSError leaves: a program that cannot be encoded (a jump past 255, a value out
    of range, more instructions than the kernel takes) is EINVAL, as the kernel would say
    of a bad one, so the callers' one handler (run without the filter) covers both."""
    import ctypes  # noqa: PLC0415 - only where a filter is attached

    if not 0 < len(program) <= BPF_MAXINSNS:
        raise OSError(errno.EINVAL, f"a socket filter of {len(program)} instructions")
    try:
        code = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    except struct.error as error:
        raise OSError(errno.EINVAL, f"socket filter cannot be encoded: {error}") from None
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
