"""A VRRP sniffer for labs: one JSON line per advert seen on an interface.

Runs inside the switch namespace on the bridge, so it sees every node's adverts
with kernel receive timestamps (SO_TIMESTAMPNS), which is what failover timing
is measured against. Decoding uses the product codec; a packet it refuses is
printed with the reason (Keepalived's adverts are checked the same way).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from ipaddress import IPv4Address, IPv6Address

from vrrpd.core.constants import IPPROTO_VRRP, Family
from vrrpd.core.errors import DecodeError
from vrrpd.core.packet import decode

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35


def parse(
    frame: bytes,
) -> tuple[Family, IPv4Address | IPv6Address, IPv4Address | IPv6Address, int, bytes] | None:
    """(family, src, dst, ttl, VRRP payload) of an Ethernet frame carrying VRRP, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == IPPROTO_VRRP:
        header = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        return Family.V4, IPv4Address(ip[12:16]), IPv4Address(ip[16:20]), ip[8], ip[header:total]
    if ethertype == 0x86DD and len(ip) >= 40 and ip[6] == IPPROTO_VRRP:
        length = struct.unpack_from("!H", ip, 4)[0]
        return Family.V6, IPv6Address(ip[8:24]), IPv6Address(ip[24:40]), ip[7], ip[40 : 40 + length]
    return None


def main(interface: str) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    print(json.dumps({"ready": True}), flush=True)
    while True:
        frame, ancillary, _, _ = sock.recvmsg(65535, 64)
        stamp = 0.0
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = struct.unpack("@qq", data[:16])
                stamp = seconds + nanos / 1e9
        parsed = parse(frame)
        if parsed is None:
            continue
        family, src, dst, ttl, payload = parsed
        record: dict[str, object] = {
            "t": stamp,
            "src": str(src),
            "dst": str(dst),
            "ttl": ttl,
            "mac": frame[6:12].hex(":"),
            "payload": payload.hex(),
        }
        try:
            decoded = decode(payload, family=family, src=src, dst=dst)
        except DecodeError as error:
            record["error"] = str(error)
        else:
            advert = decoded.advert
            record.update(
                version=advert.version,
                vrid=advert.vrid,
                priority=advert.priority,
                interval_cs=advert.interval_cs,
                checksum=decoded.checksum_form.value,
                addresses=[str(a) for a in advert.addresses],
            )
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "br0")
