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

from vrrpd.core.errors import DecodeError
from vrrpd.core.packet import decode
from vrrpd.sniff import parse

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35


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
