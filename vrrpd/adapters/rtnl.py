"""Adding and removing addresses over a raw NETLINK_ROUTE socket: the takeover's hot path.

A new master's VIP must be in the kernel as soon as possible after its advert: every
millisecond here is a millisecond of outage. pyroute2 builds and parses each request
in Python objects (about 1.5 ms per address here); these are two fixed-layout messages
(``nlmsghdr`` + ``ifaddrmsg`` + a few attributes, rtnetlink(7)), packed with
``struct`` in microseconds. Requests are pipelined: each has its sequence number and
its future, so many can be in flight at once (a shutdown releasing 200 VIPs). The
kernel's answer to each is an ack or ``-errno``; an error raises ``RtnlError`` with
``code`` set, as pyroute2's NetlinkError does, so callers treat both alike.

ENOBUFS on the socket means answers were dropped, not requests: rtnetlink handles a
request inside our ``send``, so every request sent has been done by then. The
answers still queued are read; each request still unanswered after that is sent
again (both kinds are idempotent: a replace, and a delete whose "already gone" the
caller counts as done), unless a later request for the same address superseded it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface

RTM_NEWADDR = 20
RTM_DELADDR = 21
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_CACHEINFO = 6
IFA_FLAGS = 8
INFINITY_LIFE_TIME = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_ATTR = struct.Struct("=HH")  # rtattr: len, type


MAX_RESENDS = 3
"""Times one request is sent again after its answer was lost to ENOBUFS."""


class RtnlError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(code, f"netlink: {code} ({errno.errorcode.get(code, 'unknown')})")
        self.code = code


def _attr(kind: int, payload: bytes) -> bytes:
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def address_message(
    kind: int,
    seq: int,
    index: int,
    address: IPv4Interface | IPv6Interface,
    *,
    label: str | None = None,
    ifa_flags: int = 0,
    preferred_lft: int | None = None,
) -> bytes:
    """One RTM_NEWADDR (create or replace) or RTM_DELADDR request, acked.

    ``preferred_lft`` (seconds; the valid lifetime stays infinite): 0 makes an IPv6
    address deprecated, so the kernel never picks it as a source of its own.
    """
    family = socket.AF_INET if isinstance(address, IPv4Interface) else socket.AF_INET6
    raw = address.ip.packed
    body = _IFADDR.pack(family, address.network.prefixlen, 0, 0, index)
    body += _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw)
    if label:
        body += _attr(IFA_LABEL, label.encode() + b"\0")
    if ifa_flags:
        body += _attr(IFA_FLAGS, struct.pack("=I", ifa_flags))
    if preferred_lft is not None:
        cacheinfo = struct.pack("=IIII", preferred_lft, INFINITY_LIFE_TIME, 0, 0)
        body += _attr(IFA_CACHEINFO, cacheinfo)
    flags = NLM_F_REQUEST | NLM_F_ACK
    if kind == RTM_NEWADDR:
        flags |= NLM_F_CREATE | NLM_F_REPLACE
    return _HEADER.pack(_HEADER.size + len(body), kind, flags, seq, 0) + body


def acks(data: bytes) -> list[tuple[int, int]]:
    """(sequence number, errno) of every NLMSG_ERROR message in a datagram (0: ack)."""
    out = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, seq, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        if kind == NLMSG_ERROR and length >= _HEADER.size + 4:
            (error,) = struct.unpack_from("=i", data, offset + _HEADER.size)
            out.append((seq, -error))
        offset += (length + 3) & ~3
    return out


class Rtnl:
    """One non-blocking rtnetlink socket with pipelined, acked address requests."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._requests: dict[int, _Request] = {}
        """Sequence number -> what was asked, to send it again after ENOBUFS."""
        self._latest: dict[tuple[int, bytes], int] = {}
        """(index, address) -> the sequence number of the last request about it."""
        self._seq = itertools.count(1)
        self._lost = False
        """ENOBUFS seen: resend what is unanswered once the queued answers are read."""
        self.resent = 0

    def open(self) -> None:
        sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
            socket.NETLINK_ROUTE,
        )  # fmt: skip
        sock.bind((0, 0))
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RtnlError(errno.EBADF))  # closed under it
        self._waiting.clear()
        self._requests.clear()
        self._latest.clear()

    async def replace(
        self,
        index: int,
        address: IPv4Interface | IPv6Interface,
        *,
        label: str | None = None,
        ifa_flags: int = 0,
        preferred_lft: int | None = None,
    ) -> None:
        await self._request(
            RTM_NEWADDR,
            index,
            address,
            label=label,
            ifa_flags=ifa_flags,
            preferred_lft=preferred_lft,
        )

    async def delete(self, index: int, address: IPv4Interface | IPv6Interface) -> None:
        await self._request(RTM_DELADDR, index, address)

    def start_replace(
        self,
        index: int,
        address: IPv4Interface | IPv6Interface,
        *,
        label: str | None = None,
        ifa_flags: int = 0,
        preferred_lft: int | None = None,
    ) -> asyncio.Future[None]:
        """``replace``, sent now (synchronously); the returned future is its answer.
        A takeover's request leaves inside the dispatch, before its log line."""
        return self._start(
            RTM_NEWADDR,
            index,
            address,
            label=label,
            ifa_flags=ifa_flags,
            preferred_lft=preferred_lft,
        )

    async def _request(
        self,
        kind: int,
        index: int,
        address: IPv4Interface | IPv6Interface,
        *,
        label: str | None = None,
        ifa_flags: int = 0,
        preferred_lft: int | None = None,
    ) -> None:
        await self._start(
            kind, index, address, label=label, ifa_flags=ifa_flags, preferred_lft=preferred_lft
        )

    def _start(
        self,
        kind: int,
        index: int,
        address: IPv4Interface | IPv6Interface,
        *,
        label: str | None = None,
        ifa_flags: int = 0,
        preferred_lft: int | None = None,
    ) -> asyncio.Future[None]:
        assert self._sock is not None, "open() first"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        request = _Request(kind, index, address, label, ifa_flags, preferred_lft, future)
        future.add_done_callback(lambda _: self._forget(request))
        try:
            self._send(request)
        except OSError as error:
            future.set_exception(RtnlError(error.errno or errno.EIO))
        return future

    def _forget(self, request: _Request) -> None:
        key = (request.index, request.address.ip.packed)
        for number in request.seqs:
            self._waiting.pop(number, None)
            self._requests.pop(number, None)
            if self._latest.get(key) == number:
                del self._latest[key]

    def _send(self, request: _Request) -> None:
        assert self._sock is not None
        seq = next(self._seq) & 0xFFFFFFFF
        request.seqs.append(seq)
        self._waiting[seq] = request.future
        self._requests[seq] = request
        self._latest[(request.index, request.address.ip.packed)] = seq
        self._sock.send(
            address_message(
                request.kind,
                seq,
                request.index,
                request.address,
                label=request.label,
                ifa_flags=request.ifa_flags,
                preferred_lft=request.preferred_lft,
            )
        )

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                if self._lost:
                    self._resend()
                return
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    self._lost = True  # answers dropped: read the rest, then resend
                    continue
                for future in self._waiting.values():
                    if not future.done():
                        future.set_exception(RtnlError(error.errno or errno.EIO))
                return
            for seq, code in acks(data):
                answered = self._waiting.get(seq)
                if answered is None or answered.done():
                    continue
                if code:
                    answered.set_exception(RtnlError(code))
                else:
                    answered.set_result(None)

    def _resend(self) -> None:
        """Every request still unanswered lost its answer: send it again (in order),
        or call it done when a later request about the same address decides instead."""
        self._lost = False
        unanswered = [
            (seq, request)
            for seq, request in sorted(self._requests.items())
            if not request.future.done() and seq == request.seqs[-1]
        ]
        for seq, request in unanswered:
            if self._latest.get((request.index, request.address.ip.packed)) != seq:
                request.future.set_result(None)  # superseded by a later request
            elif len(request.seqs) > MAX_RESENDS:
                request.future.set_exception(RtnlError(errno.ENOBUFS))
            else:
                self.resent += 1
                try:
                    self._send(request)
                except OSError as error:
                    request.future.set_exception(RtnlError(error.errno or errno.EIO))


@dataclass(eq=False)
class _Request:
    kind: int
    index: int
    address: IPv4Interface | IPv6Interface
    label: str | None
    ifa_flags: int
    preferred_lft: int | None
    future: asyncio.Future[None]
    seqs: list[int] = field(default_factory=list)
    """Every sequence number it was sent with (the last is the live one)."""
