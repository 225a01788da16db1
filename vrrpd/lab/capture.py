"""Capture real Keepalived adverts as golden codec data (tests/data/keepalived-adverts.json).

Run as root from the repository root: ``.venv/bin/python -m vrrpd.lab.capture``.
Each record keeps the carrying IP addresses (the v3 checksum covers them) and the
VRRP payload exactly as Keepalived sent it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from vrrpd.lab import Lab, Process, wait_for
from vrrpd.lab.peers import Peer, start_keepalived

CASES = {
    "v2": Peer("n1", 100, version=2, interval=1.0),
    "v2-pass": Peer("n1", 100, version=2, interval=1.0, password="secret"),  # noqa: S106 - a lab password
    "v3-ipv4": Peer("n1", 100),
    "v3-ipv6": Peer("n1", 100, vips=("2001:db8::100/64",)),
    "v3-ipv4-unicast": Peer("n1", 100, unicast_peers=("192.0.2.12",), unicast_source="192.0.2.11"),
}


def main() -> int:
    version = subprocess.run(
        ["keepalived", "--version"], capture_output=True, text=True, check=False
    ).stderr.split()[1]
    adverts: dict[str, dict[str, object]] = {}
    for name, peer in CASES.items():
        with Lab() as lab:
            lab.add_node("n1", "192.0.2.11", "2001:db8::11")
            lab.add_node("n2", "192.0.2.12", "2001:db8::12")
            sniffer = lab.start_sniffer(sys.executable)
            start_keepalived(lab, peer)

            def seen(s: Process = sniffer, lab: Lab = lab) -> list[dict[str, Any]]:
                return [r for r in lab.adverts(s) if r.get("priority")]

            first = wait_for(seen, timeout=10, what=name)[0]
            adverts[name] = {
                k: first[k] for k in ("src", "dst", "ttl", "payload", "priority", "checksum")
            }
    target = Path("tests/data/keepalived-adverts.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"keepalived": version, "adverts": adverts}, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
