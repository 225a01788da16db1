"""h16r3: attacks on a real kernel, each in a network namespace of its own (unshare)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.netns

VMAC_QUEUE = r"""
import json, socket, struct, subprocess, time
from vrrpd.driver.kernel import Kernel

def ip(*args):
    subprocess.run(["ip", *args], check=True)

ip("link", "set", "lo", "up")
ip("link", "add", "va", "type", "veth", "peer", "name", "vb")
ip("link", "set", "va", "up")
ip("link", "set", "vb", "up")
ip("addr", "add", "192.0.2.100/24", "dev", "va")
kernel = Kernel.__new__(Kernel)  # only the macvlan sockets' part of it
kernel._vmac_sockets = {}
vmac = kernel._vmac_socket(("va", socket.if_nametoindex("va")))
vmac.sock.setblocking(False)

def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

# From "the link": frames into vb come out of va, addressed to the VIP (unicast, proto 112).
payload = b"\x31\x33\x64\x01\x00\x64\x00\x00" + bytes(4)
header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 255, 112, 0,
                     socket.inet_aton("192.0.2.66"), socket.inet_aton("192.0.2.100"))
header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
shown = subprocess.run(["ip", "-j", "link", "show", "va"], capture_output=True, check=True)
mac = bytes.fromhex(json.loads(shown.stdout)[0]["address"].replace(":", ""))
frame = mac + bytes.fromhex("020000000042") + b"\x08\x00" + header + payload
link = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
link.bind(("vb", 0))
for _ in range(200):
    link.send(frame)
time.sleep(0.3)
queued = 0
try:
    while vmac.sock.recv(100):
        queued += 1
except BlockingIOError:
    pass
control = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)  # proves they arrived
control.setsockopt(socket.SOL_SOCKET, 25, b"va")
control.setblocking(False)
link.send(frame)
time.sleep(0.1)
try:
    arrived = len(control.recv(100)) > 0
except BlockingIOError:
    arrived = False
print(json.dumps({"queued": queued, "arrived": arrived}))
"""


def test_the_macvlan_send_socket_queues_nothing_a_neighbour_sends() -> None:
    """h16r3 finding 5: with use_vmac the agent sends adverts through a raw VRRP socket
    bound to the macvlan, and never reads it. Every unicast VRRP packet a neighbour sends
    to a VIP was queued there until the socket's buffer was full (about 200 KB of kernel
    memory per macvlan, for the agent's life; 200 instances, some 40 MB a neighbour could
    pin). A filter that refuses everything keeps the queue empty: the kernel drops them
    before they are queued."""
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", VMAC_QUEUE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["arrived"], "the probe's frames never reached the host: the test proves nothing"
    assert seen["queued"] == 0, f"{seen['queued']} packets queued on the send-only socket"
