"""vrrpd on real raw sockets in network namespaces."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.lab.helpers import V4, V6, adverts_from, sole_holder, start, takeover_gap, vip_of
from vrrpd.core.timers import master_down_interval, skew_time
from vrrpd.lab import Lab, LabError, Process, wait_for
from vrrpd.lab.peers import Peer, vrrpd_binary

pytestmark = pytest.mark.netns


def variant(kind: str, node: str, priority: int, nodes: tuple[str, ...], **kw: object) -> Peer:
    v6 = "v6" in kind
    vips = ("2001:db8::100/64",) if v6 else ("192.0.2.100/24",)
    addresses = V6 if v6 else V4
    extra: dict[str, object] = {}
    if "unicast" in kind:
        extra = {
            "unicast_peers": tuple(addresses[n] for n in nodes if n != node),
            "unicast_source": addresses[node],
        }
    version = 2 if kind.startswith("v2") else 3
    interval = 1.0 if version == 2 else 0.1
    return Peer(node, priority, vips=vips, version=version, interval=interval, **extra, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["v3-v4", "v2-v4", "v3-v6", "v3-v4-unicast", "v3-v6-unicast"])
def test_two_nodes_highest_priority_wins(lab: Lab, kind: str) -> None:
    nodes = ("n1", "n2")
    peers = [variant(kind, "n1", 100, nodes), variant(kind, "n2", 200, nodes)]
    for peer in peers:
        start(lab, peer)
    vip = vip_of(peers[0])
    sole_holder(lab, vip, "n2", timeout=15)
    assert lab.ping("cl", vip, count=1, wait=2)


def test_three_nodes_highest_priority_wins_and_the_next_takes_over(
    lab: Lab, sniffer: Process
) -> None:
    nodes = ("n1", "n2", "n3")
    procs = {
        n: start(lab, variant("v3-v4", n, p, nodes))
        for n, p in (("n1", 100), ("n2", 200), ("n3", 150))
    }
    sole_holder(lab, "192.0.2.100", "n2")
    lab.crash(procs["n2"], unplug="n2")
    sole_holder(lab, "192.0.2.100", "n3", among=("n1", "n3"))


def test_crash_failover_within_master_down_interval_and_the_client_follows(
    lab: Lab, sniffer: Process
) -> None:
    master = start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    assert lab.ping("cl", "192.0.2.100")
    time.sleep(0.5)
    lab.crash(master, unplug="n1")
    wait_for(lambda: "192.0.2.100" in lab.addresses("n2"), timeout=5, what="takeover")
    time.sleep(0.3)
    gap = takeover_gap(lab.adverts(sniffer), "192.0.2.11", "192.0.2.12")
    budget = master_down_interval(100, 10, 3)
    assert budget <= gap <= budget + 0.050, (
        f"takeover {gap * 1000:.1f} ms after the last advert, MDI {budget * 1000:.1f} ms"
    )
    assert lab.ping("cl", "192.0.2.100", count=1, wait=2)
    assert lab.neighbour_mac("cl", "192.0.2.100") == lab.mac("n2")  # moved by gratuitous ARP


def test_sigterm_hands_over_after_skew_time_and_removes_the_vip(lab: Lab, sniffer: Process) -> None:
    master = start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    lab.signal(master, signal.SIGTERM)
    assert lab.wait(master, 10) == 0
    assert "192.0.2.100" not in lab.addresses("n1")
    wait_for(lambda: "192.0.2.100" in lab.addresses("n2"), timeout=5, what="takeover")
    time.sleep(0.3)
    records = lab.adverts(sniffer)
    release = [r for r in adverts_from(records, "192.0.2.11") if r["priority"] == 0]
    assert release, "no priority-0 advert on SIGTERM"
    first_new = min(r["t"] for r in adverts_from(records, "192.0.2.12") if r["t"] > release[0]["t"])
    skew = skew_time(100, 10, 3)
    assert skew <= first_new - release[0]["t"] <= skew + 0.050
    assert "stopping: releasing mastership and VIPs" in master.output()
    assert "Traceback" not in master.output()


def test_preempt_and_no_preempt(lab: Lab) -> None:
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n2")
    start(lab, Peer("n1", 150))
    sole_holder(lab, "192.0.2.100", "n1")  # preempts
    start(lab, Peer("n3", 200, preempt=False))
    time.sleep(1.5)
    sole_holder(lab, "192.0.2.100", "n1", timeout=0.1)  # does not preempt


def test_preempt_delay(lab: Lab) -> None:
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n2")
    started = time.monotonic()
    start(lab, Peer("n1", 150, preempt_delay=2.0))
    time.sleep(1.5)
    assert "192.0.2.100" not in lab.addresses("n1")
    sole_holder(lab, "192.0.2.100", "n1", timeout=5)
    assert time.monotonic() - started >= 2.0


def test_address_owner_takes_over_at_once(lab: Lab) -> None:
    start(lab, Peer("n2", 100, preempt=False))
    sole_holder(lab, "192.0.2.100", "n2")
    started = time.monotonic()
    start(lab, Peer("n1", 255))
    sole_holder(lab, "192.0.2.100", "n1")
    assert time.monotonic() - started < 2.0  # process start plus no Master_Down wait


def test_interface_down_is_fault_and_releases_the_vip(lab: Lab) -> None:
    master = start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    lab.link("n1", False)
    sole_holder(lab, "192.0.2.100", "n2")
    wait_for(lambda: "FAULT" in master.output(), timeout=2, what="FAULT logged")
    assert "interface eth0 down" in master.output()
    lab.link("n1", True)
    sole_holder(lab, "192.0.2.100", "n1")


def test_restart_after_sigkill_removes_the_stale_vip(lab: Lab) -> None:
    first = start(lab, Peer("n1", 150))
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    lab.crash(first)
    assert "192.0.2.100" in lab.addresses("n1")  # left behind by kill -9
    lab.ip(lab.nodes["n1"].namespace, "addr", "add", "192.0.2.77/24", "dev", "eth0")  # not ours
    second = start(lab, Peer("n1", 100))  # as a backup: must not keep the VIP meanwhile
    wait_for(
        lambda: "left behind by a previous run" in second.output(),
        timeout=5,
        what="stale VIP removal",
    )
    assert "192.0.2.100" not in lab.addresses("n1") or "MASTER" in second.output()
    assert "192.0.2.77" in lab.addresses("n1")  # never touches what it did not add


def test_status_json_and_reload(lab: Lab) -> None:
    agent = start(lab, Peer("n1", 150))
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    sock = str(lab.workdir / "n1.sock")
    out = lab.exec("n1", vrrpd_binary(), "status", "--json", "--socket", sock).stdout
    web = json.loads(out)["instances"]["web"]
    assert (web["state"], web["priority"], web["effective_priority"], web["master"]) == (
        "MASTER",
        150,
        150,
        "192.0.2.11",
    )
    config = lab.workdir / "n1.yaml"
    good = config.read_text()
    config.write_text(good.replace("vrid: 51", "vrid: 0"))
    bad = lab.exec("n1", vrrpd_binary(), "reload", "--socket", sock, check=False)
    assert bad.returncode == 1
    assert "reload refused" in bad.stdout
    assert "vrid: must be 1..255 (got 0)" in bad.stdout
    config.write_text(good.replace("garp: {delay: 1, repeat: 2}", "garp: {delay: 1, repeat: 3}"))
    lab.signal(agent, signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in agent.output(), timeout=5, what="SIGHUP reload")
    assert agent.alive()
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))


def test_invalid_config_exits_2_before_touching_the_network(lab: Lab) -> None:
    bad = lab.workdir / "bad.yaml"
    bad.write_text(
        "instances:\n  web:\n    interface: eth0\n    vrid: 51\n    virtual_addresses: [192.0.2.100/24]\n    priority: 300\n"
    )
    result = lab.exec("n1", vrrpd_binary(), "run", "-c", str(bad), check=False)
    assert result.returncode == 2
    assert f"{bad}:6:15: instances.web.priority: must be 1..255 (got 300)" in result.stderr


GOOD, BAD = "1", "0"  # Wireshark's checksum status: Bad=0, Good=1, Unverified=2


@pytest.mark.parametrize(
    ("kind", "checksum", "expected"),
    [
        ("v3-v4", "pseudo", GOOD),
        ("v2-v4", "pseudo", GOOD),
        ("v3-v6", "pseudo", GOOD),
        ("v3-v4", "message", BAD),
    ],
)
def test_tshark_judges_our_adverts_checksums(
    lab: Lab, kind: str, checksum: str, expected: str
) -> None:
    """Wireshark's dissector as an independent judge; its default is the pseudo-header form."""
    peer = variant(kind, "n1", 150, ("n1",), extra={"v3_ipv4_checksum": checksum})
    capture = lab.workdir / f"{kind}.pcap"
    tshark = lab.start(
        "n1",
        ["tshark", "-q", "-i", "eth0", "-w", str(capture), "-f", "ip proto 112 or ip6 proto 112"],
        label="tshark",
    )
    time.sleep(1.5)  # tshark needs a moment before it captures
    start(lab, peer)
    sole_holder(lab, vip_of(peer), "n1", among=("n1",), timeout=10)
    time.sleep(1.2 if peer.version == 2 else 0.3)
    lab.signal(tshark, signal.SIGINT)
    lab.wait(tshark, 10)
    fields = ["vrrp.version", "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.checksum.status"]
    argv = ["tshark", "-r", str(capture), "-T", "fields", *[x for f in fields for x in ("-e", f)]]
    rows = {
        tuple(line.split("\t"))
        for line in lab.exec("n1", *argv).stdout.splitlines()
        if line.strip()
    }
    assert rows == {(str(peer.version), "51", "150", expected)}


def test_sd_notify_ready_status_and_stopping(lab: Lab) -> None:
    import socket

    path = lab.workdir / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        peer = Peer("n1", 150)
        from vrrpd.lab.peers import vrrpd_yaml

        config = lab.workdir / "n1.yaml"
        config.write_text(vrrpd_yaml(lab, peer))
        agent = lab.start(
            "n1",
            [vrrpd_binary(), "run", "-c", str(config)],
            label="vrrpd",
            env={"NOTIFY_SOCKET": str(path)},
        )
        first = sock.recv(4096).decode()
        assert first.splitlines()[0] == "READY=1"
        assert "STATUS=web " in first
        sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
        messages = []
        lab.signal(agent, signal.SIGTERM)
        while not any("STOPPING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert lab.wait(agent) == 0


def test_starts_before_its_address_exists_and_waits_for_it(lab: Lab) -> None:
    namespace = lab.nodes["n1"].namespace
    lab.ip(namespace, "addr", "flush", "dev", "eth0", "scope", "global")
    agent = start(lab, Peer("n1", 150))
    wait_for(
        lambda: "no IPv4 address on eth0" in agent.output(),
        timeout=5,
        what="FAULT for the missing address",
    )
    assert "192.0.2.100" not in lab.addresses("n1")
    lab.ip(namespace, "addr", "add", "192.0.2.11/24", "dev", "eth0")
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    assert "no longer: no IPv4 address on eth0" in agent.output()


@pytest.mark.parametrize("kind", ["v3-v4", "v3-v6"])
def test_vmac_the_vip_keeps_its_mac_across_failover(lab: Lab, kind: str) -> None:
    v6 = kind.endswith("v6")
    vip, vmac, dev = (
        ("2001:db8::100", "00:00:5e:00:02:33", "vrrp6.51")
        if v6
        else ("192.0.2.100", "00:00:5e:00:01:33", "vrrp.51")
    )
    master = start(lab, variant(kind, "n1", 150, ("n1", "n2"), use_vmac=True))
    backup = start(lab, variant(kind, "n2", 100, ("n1", "n2"), use_vmac=True))

    def flags(node: str) -> list[str] | None:
        """The macvlan's flags; None until the node's agent has created it."""
        try:
            out = lab.ip(lab.nodes[node].namespace, "-j", "link", "show", dev)
        except LabError:
            return None
        return list(json.loads(out)[0]["flags"])

    wait_for(lambda: vip in lab.addresses("n1", dev), timeout=10, what="the VIP on the macvlan")
    assert "UP" in (flags("n1") or [])
    # a backup keeps its macvlan down: it sends nothing from the shared MAC (the backup's
    # agent may still be starting: wait for its macvlan to exist)
    wait_for(
        lambda: (seen := flags("n2")) is not None and "UP" not in seen,
        timeout=5,
        what="the backup's macvlan, down",
    )
    assert lab.ping("cl", vip, count=1, wait=2)
    assert lab.neighbour_mac("cl", vip) == vmac
    parent_sysctl = "net/ipv4/conf/eth0/arp_ignore"
    if not v6:
        assert lab.exec("n1", "cat", f"/proc/sys/{parent_sysctl}").stdout.strip() == "1"
    lab.crash(master, unplug="n1")
    wait_for(
        lambda: vip in lab.addresses("n2", dev), timeout=5, what="takeover on the backup's macvlan"
    )
    assert lab.ping("cl", vip, count=1, wait=2)
    assert lab.neighbour_mac("cl", vip) == vmac  # clients never had to relearn
    lab.signal(backup, signal.SIGTERM)
    assert lab.wait(backup) == 0
    assert dev not in lab.ip(lab.nodes["n2"].namespace, "link", "show")
    assert lab.exec("n2", "cat", f"/proc/sys/{parent_sysctl}").stdout.strip() == "0"  # restored


def test_starts_before_its_interface_exists_and_waits_for_it(lab: Lab) -> None:
    namespace = lab.nodes["n1"].namespace
    from vrrpd.lab.peers import vrrpd_yaml

    config = lab.workdir / "n1.yaml"
    config.write_text(
        vrrpd_yaml(lab, Peer("n1", 150)).replace("interface: eth0", "interface: lan0")
    )
    agent = lab.start("n1", [vrrpd_binary(), "run", "-c", str(config)], label="vrrpd")
    wait_for(
        lambda: "interface lan0 does not exist (yet)" in agent.output(),
        timeout=5,
        what="the wait message",
    )
    wait_for(lambda: "INIT -> FAULT" in agent.output(), timeout=5, what="FAULT meanwhile")
    lab.ip(namespace, "link", "set", "eth0", "down")
    lab.ip(namespace, "link", "set", "eth0", "name", "lan0")
    lab.ip(namespace, "link", "set", "lan0", "up")
    wait_for(
        lambda: "192.0.2.100" in lab.addresses("n1", "lan0"),
        timeout=10,
        what="mastership once lan0 appeared",
    )


def test_a_vip_deleted_behind_the_masters_back_is_put_back(lab: Lab) -> None:
    agent = start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    lab.ip(lab.nodes["n1"].namespace, "addr", "del", "192.0.2.100/24", "dev", "eth0")
    wait_for(lambda: "192.0.2.100" in lab.addresses("n1"), timeout=2, what="the VIP put back")
    assert "was removed from eth0 by something else; adding it back" in agent.output()
    assert lab.ping("cl", "192.0.2.100")
    sole_holder(lab, "192.0.2.100", "n1", timeout=0.1)


def test_prometheus_metrics_endpoint(lab: Lab) -> None:
    from vrrpd.lab.peers import vrrpd_yaml

    config = lab.workdir / "n1.yaml"
    config.write_text(
        vrrpd_yaml(lab, Peer("n1", 150)).replace(
            "global:\n", "global:\n  metrics_listen: 127.0.0.1:9650\n"
        )
    )
    lab.start("n1", [vrrpd_binary(), "run", "-c", str(config)], label="vrrpd")
    sole_holder(lab, "192.0.2.100", "n1", among=("n1",))
    out = wait_for(
        lambda: lab.exec("n1", "curl", "-sf", "http://127.0.0.1:9650/metrics", check=False).stdout,
        timeout=5,
        what="the metrics endpoint",
    )
    assert 'vrrpd_is_master{vrrp_instance="web",interface="eth0",vrid="51",family="ipv4"} 1' in out
    assert (
        lab.exec(
            "n1",
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://127.0.0.1:9650/",
            check=False,
        ).stdout
        == "404"
    )
