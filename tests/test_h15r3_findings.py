"""Findings of the third adversarial review h15r3 (issue 15): keepalived.conf constructs
seen in public templates (Ansible roles, Helm charts, installers, Docker images) whose
converted file behaves otherwise than Keepalived 2.2.7 does with the same file, read in
Keepalived's sources (vrrp.c, vrrp_parser.c, vrrp_data.c, vrrp_ipaddress.c,
trackers/track_file.c at tag v2.2.7) and, where a corpus file (54-67) says so, in its
SIGUSR1 dump (tests/lab/test_oracle.py). The snippets are our own. Each test failed
before its fix; the ones still marked xfail(strict) need a change outside the converter:
6 and 10 in vrrpd/core/tracking.py, 12 in vrrpd/cluster.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vrrpd.config.loader import loads
from vrrpd.convert import convert


def _conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return path


def _instance(body: str, head: str = "", vips: str = "        192.0.2.37/24\n") -> str:
    return (
        head
        + "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        + body
        + "    virtual_ipaddress {\n"
        + vips
        + "    }\n}\n"
    )


def _converted(tmp_path: Path, text: str) -> tuple[dict[str, Any], list[str]]:
    conversion = convert(_conf(tmp_path, text))
    assert not conversion.errors, conversion.errors
    loads(conversion.yaml(), "converted.yaml")  # vrrpd loads what convert wrote
    return conversion.document["instances"]["VI_1"], conversion.warnings


def test_finding_1_unicast_adverts_are_accepted_whatever_their_ttl(tmp_path: Path) -> None:
    """vrrp.c (vrrp_check_packet): 'MUST verify that the IPv4 TTL/IPv6 HL is 255 (but not
    if unicast)': a Keepalived node takes a unicast peer's adverts at any TTL, which is why
    unicast_peer works between subnets (cloud availability zones, routed racks: the
    HAProxy/kubeadm templates that use unicast_peer). The converted node kept vrrpd's
    default unicast_max_hops 0 (TTL 255 only): it drops the routed master's adverts and
    becomes MASTER beside it. With per-peer `min_ttl` (vrrp_data.c, read with
    vrrp_check_unicast_src) the bound is the peer's."""
    body = (
        "    priority 100\n    unicast_src_ip 192.0.2.11\n"
        "    unicast_peer {\n        198.51.100.12\n    }\n"
    )
    instance, warnings = _converted(tmp_path, _instance(body))
    assert instance["unicast_max_hops"] == 254
    assert any("unicast_max_hops" in w and "TTL" in w for w in warnings)
    bounded = body.replace("198.51.100.12\n", "198.51.100.12 min_ttl 250\n")
    head = "global_defs {\n    vrrp_check_unicast_src\n}\n"
    instance, _ = _converted(tmp_path, _instance(bounded, head))
    assert instance["unicast_max_hops"] == 5
    multicast, _ = _converted(tmp_path, _instance("    priority 100\n"))
    assert "unicast_max_hops" not in multicast


def test_finding_2_a_vip_on_another_interface_tracks_that_interface(tmp_path: Path) -> None:
    """vrrp.c (vrrp_complete_instance) adds the interface of every VIP and excluded
    address (TRACK_ADDR, weight 0) to what the instance tracks, unless the address says
    `no_track`: the LVS-NAT router's inside gateway `dev eth1` going down puts the
    Keepalived master in FAULT and the backup takes both sides. The converted instance
    tracked only eth0: it kept the VIPs while the inside link was dead."""
    vips = (
        "        192.0.2.37/24\n        198.51.100.1/24 dev eth1\n"
        "        203.0.113.1/24 dev eth2 no_track\n"
    )
    body = (
        "    priority 100\n    virtual_ipaddress_excluded {\n"
        "        2001:db8::1/64 dev eth3\n        192.0.2.99/24 dev eth0\n    }\n"
    )
    instance, warnings = _converted(tmp_path, _instance(body, vips=vips))
    assert instance["track_interfaces"] == ["eth1", "eth3"]
    assert any("eth1" in w and "FAULT" in w for w in warnings)


@pytest.mark.parametrize("where", ["sync-group", "owner"])
def test_finding_3_a_track_file_without_weight_is_a_fault_switch_there(
    tmp_path: Path, where: str
) -> None:
    """vrrp.c: in a sync group (without sync_group_tracking_weight) or on the address
    owner, a track_file with the default weight 1 is made weight 0 ('ignoring weight from
    tracked file ... specify weight 0'): a non-zero value then means FAULT, the
    maintenance switch of many templates (`echo 1 > /run/keepalived/maint`). The
    converted sync group member lost the tracker ('Keepalived ignores weighted
    trackers'), the converted owner kept weight 1, which vrrpd ignores on an owner:
    the switch did nothing. An explicit weight is still dropped there."""
    files = (
        "vrrp_track_file maint {\n    file /run/maint\n}\n"
        "vrrp_track_file boost {\n    file /run/boost\n    weight 5\n}\n"
    )
    track = "    track_file {\n        maint\n        boost\n    }\n"
    if where == "sync-group":
        head = files + "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n}\n"
        body = "    priority 100\n" + track
    else:
        head, body = files, "    priority 255\n" + track
    instance, warnings = _converted(tmp_path, _instance(body, head))
    assert instance["track_files"] == [{"path": "/run/maint", "weight": 0}]
    assert any("/run/maint" in w and "weight 0" in w for w in warnings)


def test_finding_4_preempt_clears_nopreempt_as_keepalived_does(tmp_path: Path) -> None:
    """vrrp_parser.c: `preempt` is a keyword (vrrp_preempt_handler clears nopreempt),
    written out by role templates (`{% if preempt %}preempt{% else %}nopreempt{% endif
    %}` and by hand after a commented nopreempt). convert warned 'vrrp_instance preempt
    not carried over' (it is: preempt is vrrpd's default), and after a `nopreempt` line
    the converted node did not preempt while Keepalived does."""
    instance, warnings = _converted(tmp_path, _instance("    nopreempt\n    preempt\n"))
    assert instance.get("preempt", True) is True
    assert not any("preempt not carried over" in w for w in warnings)
    later, _ = _converted(tmp_path, _instance("    preempt\n    nopreempt\n"))
    assert later["preempt"] is False


def test_finding_5_a_track_file_weight_of_254_is_kept(tmp_path: Path) -> None:
    """track_file.c reads a track_file weight in -254..254 (254 'to allow for a negative
    value being read from the file'); convert clamped -254 to -253 with a warning that
    Keepalived 'still adds' it, which it does not say for files. -254 matters: a value of
    1 then gives -254, Keepalived's FAULT."""
    head = "vrrp_track_file down {\n    file /run/down\n    weight -254\n}\n"
    instance, warnings = _converted(
        tmp_path, _instance("    priority 100\n    track_file {\n        down\n    }\n", head)
    )
    assert instance["track_files"] == [{"path": "/run/down", "weight": -254}]
    assert not any("outside -253..253" in w for w in warnings)


def test_finding_6_a_track_file_at_minus_254_is_fault() -> None:
    """Keepalived's track_file is FAULT when value x weight is -254 or less
    (keepalived.conf(5): "less than -253"); vrrpd only lowered the priority to 1, so
    such a node could still become MASTER."""
    from vrrpd.core.tracking import file_contribution

    assert file_contribution("/run/down", 1, -254).fault
    assert file_contribution("/run/down", 3, -100).fault
    assert not file_contribution("/run/down", 2, -100).fault
    assert file_contribution("/run/down", 3, 100, reverse=True).fault
    assert not file_contribution("/run/down", 3, 100).fault


@pytest.mark.parametrize(
    ("version", "written", "expected"),
    [(3, "0.333", 0.33), (3, "0.005", 1), (3, "60", 40.95), (2, "300", 1)],
)
def test_finding_7_advert_int_as_keepalived_reads_it(
    tmp_path: Path, version: int, written: str, expected: float
) -> None:
    """vrrp.c rounds a VRRPv3 interval to 10 ms (at least 10 ms) and caps it at 40.95 s
    ('must be in units of 10ms - rounding', 'out of range ... Setting to 40.95s'); the
    converted file had 0.333 or 60, which vrrpd refuses, so convert -o wrote nothing for a
    file Keepalived runs. vrrp_parser.c reads advert_int in 0.01..255 s: `advert_int 300`
    or `0.005` is 'not valid ... ignoring', the default 1 s; convert wrote 255 (or
    refused), and its v2 peers running that very file drop adverts of another interval."""
    head = f"global_defs {{\n    vrrp_version {version}\n}}\n"
    instance, warnings = _converted(
        tmp_path, _instance(f"    priority 100\n    advert_int {written}\n", head)
    )
    assert instance["advert_interval"] == expected
    assert any(f"advert_int {written}" in w for w in warnings)


def test_finding_8_a_vip_with_a_netmask_is_a_host_address_as_in_keepalived(
    tmp_path: Path,
) -> None:
    """vrrp_ipaddress.c reads what follows '/' as a prefix length: `192.0.2.10/255.255.255.0`
    (old ifconfig habits in install scripts) is 'Invalid address prefix len ... - using
    32', the VIP added as /32. convert (Python's ip_interface takes netmasks) wrote /24:
    the converted master adds a subnet route Keepalived never added."""
    instance, warnings = _converted(
        tmp_path, _instance("    priority 100\n", vips="        192.0.2.10/255.255.255.0\n")
    )
    assert instance["virtual_addresses"] == ["192.0.2.10/32"]
    assert any("255.255.255.0" in w and "/32" in w for w in warnings)


def test_finding_9_virtual_routes_in_an_instance_say_what_is_lost(tmp_path: Path) -> None:
    """`virtual_routes` and `virtual_rules` inside an instance (routers' default route via
    the upstream, policy rules of multi-homed HAProxy nodes) follow the master in
    Keepalived. convert said only 'vrrp_instance virtual_routes not carried over', where
    the top-level block gets the reason and the way out (a notify hook)."""
    body = (
        "    priority 100\n    virtual_routes {\n        0.0.0.0/0 via 192.0.2.1\n    }\n"
        "    virtual_rules {\n        from 192.0.2.37 table 100\n    }\n"
    )
    _, warnings = _converted(tmp_path, _instance(body))
    for key in ("virtual_routes", "virtual_rules"):
        assert any(key in w and "notify hook" in w for w in warnings), key


@pytest.mark.parametrize("success", [False, True])
def test_finding_10_a_check_first_result_decides_as_in_keepalived(success: bool) -> None:
    """Keepalived decides a check on its first result ("one success is enough", one
    failure in INIT fails; vrrp_scheduler.c); vrrpd waited rise or fall results with
    INIT counted as up: seen with interval 1, fall 10, /bin/false, the converted node
    was MASTER 3.6 s after start while Keepalived never took the VIP. Fixed with
    tests/test_check_first_result.py (the start also waits for the first result)."""
    from vrrpd.core.config import CheckConfig
    from vrrpd.core.tracking import CheckTracker, TrackerStatus

    tracker = CheckTracker(CheckConfig("chk", "/bin/false", interval=3, rise=2, fall=10))
    tracker.start(0.0)
    assert tracker.due(0.0)
    tracker.finished(
        success=success, exit_code=0 if success else 1, duration=0.01, output="", now=0.01,
        active=True,
    )  # fmt: skip
    assert tracker.status is (TrackerStatus.UP if success else TrackerStatus.DOWN)


def test_finding_11_init_fail_says_what_the_node_loses(tmp_path: Path) -> None:
    """`init_fail` (nvkeep's and storage failover configs: 'initially assume fault state')
    keeps a Keepalived node out of MASTER until its check has passed `rise` times, the
    guard against a node that boots with a broken link taking the VIPs. vrrpd has no such
    start state; convert said only 'vrrp_script init_fail not carried over'."""
    head = "vrrp_script chk {\n    script /bin/true\n    interval 2\n    rise 5\n    init_fail\n}\n"
    _, warnings = _converted(
        tmp_path, _instance("    priority 100\n    track_script {\n        chk\n    }\n", head)
    )
    said = [w for w in warnings if "init_fail" in w]
    assert said
    assert "FAULT" in said[0]
    assert "5 successes" in said[0]


def test_finding_12_cluster_check_names_the_ipv6_unicast_hop_limit(tmp_path: Path) -> None:
    """check-config passed a hand-written vrrpd YAML (unicast_max_hops 0) beside a live
    keepalived.conf with IPv6 unicast, whose adverts carry hop limit 64 (seen in a
    namespace): the vrrpd node drops them all and both are MASTER."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    live = tmp_path / "lb1.conf"
    live.write_text(
        "vrrp_instance VI_6 {\n    interface eth0\n    virtual_router_id 61\n"
        "    priority 150\n    unicast_src_ip 2001:db8::11\n"
        "    unicast_peer {\n        2001:db8::12\n    }\n"
        "    virtual_ipaddress {\n        2001:db8::100/64\n    }\n}\n"
    )
    new = tmp_path / "lb2.yaml"
    new.write_text(
        "global:\n  router_id: lb2\ninstances:\n  VI_6:\n    interface: eth0\n    vrid: 61\n"
        "    priority: 100\n    unicast_source: 2001:db8::12\n"
        "    unicast_peers: [2001:db8::11]\n    virtual_addresses: [2001:db8::100/64]\n"
    )
    result = CliRunner().invoke(main, ["check-config", str(new), str(live)])
    assert result.exit_code == 1, result.output
    assert "hop limit 64" in result.output
    assert "set unicast_max_hops: 191 or more on lb2" in result.output
    new.write_text(new.read_text() + "    unicast_max_hops: 191\n")
    result = CliRunner().invoke(main, ["check-config", str(new), str(live)])
    assert "hop limit" not in result.output, result.output


def test_finding_13_a_tracker_weight_out_of_range_is_ignored_as_keepalived_does(
    tmp_path: Path,
) -> None:
    """vrrp_track.c reads a track_interface/track_script/track_file/track_process weight
    in -254..254 and *ignores* one outside ('must be between [-253..253] inclusive.
    Ignoring...'): a track_interface then has weight 0 (FAULT while down), a
    track_script entry its script's weight, a track_file its definition's (a definition's
    own out-of-range weight: the default 1). convert clamped every one to 253 with a
    warning that Keepalived 'still adds' it (true only of a vrrp_script's own weight):
    `eth1 weight -300`, which Keepalived makes a FAULT switch, became a -253 penalty, and a
    node whose eth1 is down could still become MASTER where Keepalived's could not."""
    head = (
        "vrrp_script chk {\n    script /bin/true\n    weight -20\n}\n"
        "vrrp_track_file f {\n    file /run/f\n    weight 500\n}\n"
    )
    body = (
        "    priority 100\n    track_interface {\n        eth1 weight -300\n"
        "        eth2 weight 254\n    }\n    track_script {\n        chk weight 999\n    }\n"
        "    track_file {\n        f\n    }\n"
    )
    instance, warnings = _converted(tmp_path, _instance(body, head))
    assert instance["track_interfaces"] == ["eth1", {"name": "eth2", "weight": 253}]
    assert instance["track_scripts"] == ["chk"]
    assert instance["track_files"] == [{"path": "/run/f", "weight": 1}]
    assert not any("still adds" in w for w in warnings)


@pytest.mark.parametrize("written", ["0", "256", "1000"])
def test_finding_14_a_priority_out_of_range_is_100_as_in_keepalived(
    tmp_path: Path, written: str
) -> None:
    """vrrp_parser.c (vrrp_prio_handler): 'Priority not valid! must be between 1 & 255.
    Using default 100', even with `state MASTER`: Keepalived runs the instance at 100.
    convert wrote the number, vrrpd refused it, convert -o wrote nothing for a file
    Keepalived runs (a template's `priority {{ 100 + index * 50 }}` overshooting)."""
    body = f"    state MASTER\n    priority {written}\n"
    instance, warnings = _converted(tmp_path, _instance(body))
    assert instance["priority"] == 100
    assert any(f"priority {written}" in w and "100" in w for w in warnings)


def test_finding_15_no_accept_and_down_timer_adverts_say_what_changes(tmp_path: Path) -> None:
    """`no_accept` makes Keepalived drop traffic to the VIPs on a master that is not their
    owner (nftables/iptables rules, vrrp.c); `down_timer_adverts 10` makes its backup
    wait 10 missed adverts, not 3, before taking over (VRRP_MS_DOWN_TIMER). The converted
    node answers on the VIPs and takes over after 3; convert said only 'vrrp_instance
    no_accept not carried over'."""
    body = "    priority 100\n    no_accept\n    down_timer_adverts 10\n"
    _, warnings = _converted(tmp_path, _instance(body))
    no_accept = next(w for w in warnings if "no_accept" in w)
    assert "nftables" in no_accept
    down = next(w for w in warnings if "down_timer_adverts" in w)
    assert "3" in down
    assert "10" in down


def test_finding_16_sync_group_members_keepalived_ignores_are_left_out(tmp_path: Path) -> None:
    """vrrp_sync.c (vrrp_sync_set_group): a member that names no instance is 'doesn't
    exist - ignoring' (a stale name, or an instance kept only on other nodes by an `@ID`
    line), an instance already in an earlier group is 'cannot exist in more than one sync
    group; ignoring', a group left with no member is removed; Keepalived runs the rest.
    convert refused the file (vrrpd would not load it), so convert -o wrote nothing."""
    text = (
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_GONE\n    }\n}\n"
        "vrrp_sync_group G2 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        "vrrp_sync_group G3 {\n    group {\n        VI_GONE\n    }\n}\n"
        + _instance("    priority 100\n")
        + _instance("    priority 100\n").replace("VI_1", "VI_2").replace(" 51\n", " 52\n")
    )
    conversion = convert(_conf(tmp_path, text))
    assert not conversion.errors, conversion.errors
    loads(conversion.yaml(), "converted.yaml")
    assert conversion.document["sync_groups"] == {
        "G1": {"instances": ["VI_1"]},
        "G2": {"instances": ["VI_2"]},
    }
    said = "\n".join(conversion.warnings)
    assert "VI_GONE" in said
    assert "more than one sync group" in said
    assert "G3" in said


def test_finding_17_a_weighted_interface_that_holds_a_vip_is_a_fault_switch(
    tmp_path: Path,
) -> None:
    """vrrp.c adds the instance's track_interface entries to each interface's tracking
    list first, then each address's interface with weight 0 (add_vrrp_to_interface: an
    entry already there takes the new weight when it had one): `eth1 weight -10` on the
    interface that holds a VIP (`dev eth1`) ends at weight 0, FAULT while eth1 is down.
    The converted file kept -10: the node with the dead link stayed a (lower) candidate."""
    body = "    priority 100\n    track_interface {\n        eth1 weight -10\n    }\n"
    vips = "        192.0.2.37/24\n        198.51.100.1/24 dev eth1\n"
    instance, warnings = _converted(tmp_path, _instance(body, vips=vips))
    assert instance["track_interfaces"] == ["eth1"]
    assert any("eth1" in w and "weight -10" in w for w in warnings)


def test_finding_18_tracking_the_instance_interface_is_ignored_as_keepalived_does(
    tmp_path: Path,
) -> None:
    """vrrp.c: 'Ignoring track_interface eth0 since own interface' (the instance tracks
    it anyway, weight 0). Templates that list the VRRP interface in track_interface with
    a weight (`eth0 weight 10`): the converted node advertised 110 while eth0 was up,
    Keepalived 100, so beside a Keepalived peer at 105 the converted node took over."""
    body = "    priority 100\n    track_interface {\n        eth0 weight 10\n        eth1\n    }\n"
    instance, warnings = _converted(tmp_path, _instance(body))
    assert instance["track_interfaces"] == ["eth1"]
    assert any("own interface" in w for w in warnings)


def test_finding_19_in_strict_mode_state_master_keeps_nopreempt(tmp_path: Path) -> None:
    """vrrp.c: in strict mode a `state MASTER` that is not the address owner is made
    BACKUP ('State MASTER must match being address owner') before the check that clears
    nopreempt for an initial MASTER: with the packaged sample's `vrrp_strict`, `state
    MASTER`, `priority 100` and an added `nopreempt`, Keepalived does not preempt. The
    converted file cleared nopreempt (preempts: one more failover when the node comes
    back)."""
    head = "global_defs {\n    vrrp_strict\n}\n"
    body = "    state MASTER\n    priority 100\n    nopreempt\n"
    instance, warnings = _converted(tmp_path, _instance(body, head))
    assert instance["preempt"] is False
    assert any("must match being address owner" in w for w in warnings)
    owner, _ = _converted(tmp_path, _instance(body.replace("100", "255"), head))
    assert "preempt" not in owner  # the owner still loses nopreempt


def test_finding_20_a_multicast_group_is_ignored_for_a_unicast_instance(tmp_path: Path) -> None:
    """vrrp.c: a unicast instance ignores its `mcast_dst_ip` ('multicast destination
    specified with unicast - ignoring'), and the global vrrp_mcast_group4/6 is given only
    to multicast instances: clusters that moved to unicast_peer because the group did not
    work keep those lines. convert refused the file (the other group is refused for a
    multicast instance, rightly)."""
    head = "global_defs {\n    vrrp_mcast_group4 224.0.0.19\n}\n"
    body = (
        "    priority 100\n    mcast_dst_ip 224.0.0.20\n    unicast_src_ip 192.0.2.11\n"
        "    unicast_peer {\n        192.0.2.12\n    }\n"
    )
    instance, warnings = _converted(tmp_path, _instance(body, head))
    assert instance["unicast_peers"] == ["192.0.2.12"]
    assert any("mcast_dst_ip 224.0.0.20" in w and "unicast" in w for w in warnings)
    multicast = convert(_conf(tmp_path, _instance("    priority 100\n", head)))
    assert any("vrrp_mcast_group4 224.0.0.19" in e for e in multicast.errors)


def test_finding_21_old_unicast_checksum_is_refused(tmp_path: Path) -> None:
    """Debian's Keepalived 2.2.7 is built with OLD_CHKSUM_COMPAT (`keepalived -v`):
    `old_unicast_checksum` makes a VRRPv3 IPv4 unicast instance checksum its adverts with
    224.0.0.18 in the pseudo-header, and expect that from its peers (vrrp.c, for clusters
    that kept pre-1.3.6 nodes). vrrpd checksums with the real destination: each side drops
    the other's adverts, both MASTER. convert said 'vrrp_instance old_unicast_checksum
    not carried over' and exited 0; like AH, that cluster cannot be migrated node by node.
    `old_unicast_checksum never`, or the keyword on a VRRPv2 or multicast instance,
    changes nothing on the wire."""
    head = "global_defs {\n    vrrp_version 3\n}\n"
    unicast = "    priority 100\n    unicast_src_ip 192.0.2.11\n    unicast_peer {\n        192.0.2.12\n    }\n"
    refused = convert(_conf(tmp_path, _instance(unicast + "    old_unicast_checksum\n", head)))
    assert any("old_unicast_checksum" in e for e in refused.errors)
    for body, top in (
        (unicast + "    old_unicast_checksum never\n", head),
        (unicast + "    old_unicast_checksum\n", ""),
        ("    priority 100\n    old_unicast_checksum\n", head),
    ):
        conversion = convert(_conf(tmp_path, _instance(body, top)))
        assert not conversion.errors, conversion.errors


def test_finding_22_a_variable_glued_to_what_follows_stays_as_written(tmp_path: Path) -> None:
    """lib/parser.c (find_definition): an unbraced `$NAME` is replaced only before a
    space, tab, ',', ')' or the line's end. Keepalived's dump (corpus 64): `$VIPB/24` is
    no address (the VIP is not held), `script "/bin/echo $WORD"` runs with `$WORD`.
    convert expanded both: the converted node advertised a VIP its Keepalived peers do
    not have (VRRPv2 peers drop adverts whose address list differs: both MASTER)."""
    text = (
        "$VIPB=192.0.2.65\n$WORD=hello\n"
        + ('vrrp_script chk {\n    script "/bin/echo $WORD"\n}\n')
        + _instance(
            "    priority 100\n    track_script {\n        chk\n    }\n",
            vips="        192.0.2.37/24\n        $VIPB/24\n",
        )
    )
    conversion = convert(_conf(tmp_path, text))
    instance = conversion.document["instances"]["VI_1"]
    assert instance["virtual_addresses"] == ["192.0.2.37/24"]
    assert conversion.document["scripts"]["chk"]["command"] == "/bin/echo '$WORD'"
    assert any("$VIPB" in w and "${VIPB}" in w for w in conversion.warnings)


@pytest.mark.parametrize(
    ("written", "sent"),
    [("'pw42'", "'pw42'"), ("'cd#ef'", "'cd"), ("ab\\#cd", "ab")],
)
def test_finding_23_auth_pass_is_read_as_keepalived_reads_it(
    tmp_path: Path, written: str, sent: str
) -> None:
    """Keepalived's config words group double quotes only (lib/parser.c alloc_strvec_r):
    `auth_pass 'pw42'` is the 6-byte password 'pw42' with its quotes (Keepalived 2.2.7's
    dump, corpus 65), and only double quotes protect a '#' or '!' from starting a
    comment; `ab\\#cd` came out as 'ab' (the config is read twice: the escape is gone on
    the second pass). convert read the line as a shell would ('pw42' -> pw42, 'cd#ef'
    whole, ab\\#cd -> ab\\): the converted node sent another password, and each side
    dropped the other's adverts."""
    body = (
        "    priority 100\n    authentication {\n        auth_type PASS\n"
        f"        auth_pass {written}\n    }}\n"
    )
    instance, _ = _converted(tmp_path, _instance(body))
    assert instance["authentication"]["password"] == sent


def test_finding_24_a_sync_group_with_an_owner_clears_its_trackers_weights(
    tmp_path: Path,
) -> None:
    """vrrp.c (sync_group_tracking_init): when a member is the address owner, the group's
    own weighted trackers get weight 0 ('Cannot have weighted track script with member
    having priority 255 - clearing weight'): a failing check puts the whole group in
    FAULT (Keepalived's dump, corpus 66). The converted members kept the weights: the
    owner ignores them, the other member only lost 20, and the group stayed MASTER."""
    text = (
        "vrrp_script chk {\n    script /bin/true\n    weight -20\n}\n"
        "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n"
        "    track_script {\n        chk\n    }\n    track_interface {\n"
        "        eth2 weight -10\n    }\n}\n"
        + _instance("    priority 255\n")
        + _instance("    priority 100\n").replace("VI_1", "VI_2").replace(" 51\n", " 52\n")
    )
    conversion = convert(_conf(tmp_path, text))
    loads(conversion.yaml(), "converted.yaml")
    for name in ("VI_1", "VI_2"):
        instance = conversion.document["instances"][name]
        assert instance["track_scripts"] == [{"name": "chk", "weight": 0}], name
        assert instance["track_interfaces"] == ["eth2"], name
    assert any("priority 255" in w and "weight 0" in w for w in conversion.warnings)


def _many_vips(count: int) -> str:
    return "".join(f"        198.51.{100 + i // 250}.{1 + i % 250}/24\n" for i in range(count))


def test_finding_25_vips_beyond_an_advert_are_held_not_advertised(tmp_path: Path) -> None:
    """vrrp.c: 'Number of VIPs (258) exceeds maximum/space available in packet (max 255
    addresses) - excess moved to eVIPs': Keepalived advertises the first 255 and holds the
    rest without advertising them (an IPv4 advert has room for 255 on any link of MTU
    1064 or more). convert refused the file (vrrpd: at most 255 in an advert)."""
    instance, warnings = _converted(tmp_path, _instance("    priority 100\n", vips=_many_vips(258)))
    assert len(instance["virtual_addresses"]) == 255
    assert instance["excluded_addresses"] == [
        "198.51.101.6/24",
        "198.51.101.7/24",
        "198.51.101.8/24",
    ]
    assert any("excess moved" in w or "255" in w for w in warnings)
