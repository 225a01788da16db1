"""Findings of the second adversarial review h15r2 (issue 15): keepalived.conf files
whose converted file does something else than Keepalived 2.2.7 does with them, read in
its sources (vrrp_parser.c, vrrp.c) and, for the corpus files 46-48, in its SIGUSR1 dump
(tests/lab/test_oracle.py). Each of these tests failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vrrpd.config.loader import loads
from vrrpd.convert import convert

CORPUS = Path(__file__).parent / "data" / "keepalived-corpus"


def _conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return path


def _instance(body: str, head: str = "") -> str:
    return (
        head
        + "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        + "    priority 100\n"
        + body
        + "    virtual_ipaddress {\n        192.0.2.37/24\n    }\n}\n"
    )


_AUTH_BLOCK = "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n"


def test_finding_1_vrrp_strict_drops_the_password_as_keepalived_does(tmp_path: Path) -> None:
    """The packaged sample keepalived.conf has `vrrp_strict` and `auth_type PASS`:
    Keepalived (vrrp.c: "Strict mode does not support authentication. Ignoring") sends
    VRRPv2 adverts without authentication; a converted node sending PASS has its adverts
    dropped by the live node ("received a 1 auth, expecting 0") and drops the live node's:
    both MASTER during the documented migration."""
    head = "global_defs {\n    vrrp_strict\n}\n"
    conversion = convert(_conf(tmp_path, _instance(_AUTH_BLOCK + "    preempt_delay 10\n", head)))
    instance = conversion.document["instances"]["VI_1"]
    assert "authentication" not in instance
    # strict mode also resets preempt_delay ("incompatible with strict mode")
    assert "preempt_delay" not in instance
    assert any("strict" in w and "authentication" in w for w in conversion.warnings)


def test_finding_1_strict_mode_off_on_the_instance_keeps_the_password(tmp_path: Path) -> None:
    head = "global_defs {\n    vrrp_strict\n}\n"
    conversion = convert(_conf(tmp_path, _instance(_AUTH_BLOCK + "    strict_mode off\n", head)))
    instance = conversion.document["instances"]["VI_1"]
    assert instance["authentication"] == {"type": "pass", "password": "1111"}
    strict_on = _instance(_AUTH_BLOCK + "    strict_mode\n")
    assert "authentication" not in convert(_conf(tmp_path, strict_on)).document["instances"]["VI_1"]


@pytest.mark.parametrize("kind", ["pass", "Pass", "ah"])
def test_finding_2_auth_type_is_case_sensitive_in_keepalived(tmp_path: Path, kind: str) -> None:
    """vrrp_parser.c compares auth_type with strcmp: `auth_type pass` is "unknown
    authentication type 'pass'" and the instance sends no authentication. The converted
    file sent PASS (split brain with the live node); `auth_type ah` was refused as AH."""
    text = _instance(
        f"    authentication {{\n        auth_type {kind}\n        auth_pass 1111\n    }}\n"
    )
    conversion = convert(_conf(tmp_path, text))
    assert not conversion.errors
    assert "authentication" not in conversion.document["instances"]["VI_1"]
    assert any(f"auth_type {kind}" in w for w in conversion.warnings)


def test_finding_3_mcast_src_ip_is_the_advert_source(tmp_path: Path) -> None:
    """kubeadm HA guides write `mcast_src_ip`: Keepalived's handler is unicast_src_ip's
    (the advert source, "Using src_ip ... (from configuration)" in its dump), which
    decides equal-priority elections and what unicast peers see; it was dropped."""
    body = "    mcast_src_ip 192.0.2.11\n    unicast_peer {\n        192.0.2.12\n    }\n"
    conversion = convert(_conf(tmp_path, _instance(body)))
    instance = conversion.document["instances"]["VI_1"]
    assert instance["unicast_source"] == "192.0.2.11"
    config = loads(conversion.yaml(), "converted")
    assert str(config.instances[0].unicast_source) == "192.0.2.11"
    multicast = convert(_conf(tmp_path, _instance("    mcast_src_ip 192.0.2.11\n")))
    assert multicast.document["instances"]["VI_1"]["unicast_source"] == "192.0.2.11"
    assert not any("mcast_src_ip not carried over" in w for w in multicast.warnings)


@pytest.mark.parametrize(
    ("head", "body"),
    [
        ("global_defs {\n    vrrp_mcast_group4 224.0.0.19\n}\n", ""),
        ("", "    mcast_dst_ip 224.0.0.20\n"),
    ],
    ids=["global-group", "instance-dst"],
)
def test_finding_4_another_multicast_group_is_refused(tmp_path: Path, head: str, body: str) -> None:
    """Keepalived sends to the group named there; vrrpd always to 224.0.0.18: neither
    hears the other and both are MASTER. Like AH, no node-by-node migration: refused
    (it was a warning with exit 0)."""
    conversion = convert(_conf(tmp_path, _instance(body, head)))
    assert conversion.errors
    assert any("224.0.0.18" in e for e in conversion.errors)


def test_finding_4_the_default_group_written_out_is_no_difference(tmp_path: Path) -> None:
    head = "global_defs {\n    vrrp_mcast_group4 224.0.0.18\n    vrrp_mcast_group6 ff02::12\n}\n"
    conversion = convert(_conf(tmp_path, _instance("", head)))
    assert not conversion.errors
    assert not any("mcast_group" in w for w in conversion.warnings)


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("46-strict-with-auth.conf", {"STRICT": None, "LOOSE": "4747"}),
        ("47-auth-type-lowercase.conf", {"LOWER": None, "LOWER_AH": None}),
    ],
)
def test_corpus_files_authentication_as_keepalived_dumps_it(
    file: str, expected: dict[str, str | None]
) -> None:
    """What Keepalived's dump says for these corpus files (the oracle checks it in the
    lab; this is the same expectation without one)."""
    conversion = convert(CORPUS / file, "lb1")
    assert not conversion.errors
    document = yaml.safe_load(conversion.yaml())
    for name, password in expected.items():
        auth = document["instances"][name].get("authentication")
        assert (auth or {}).get("password") == password, name


def test_finding_5_convert_writes_no_file_vrrpd_would_not_load(tmp_path: Path) -> None:
    """An instance without `interface` (templates that rely on default_interface):
    convert -o wrote a file and exited 0, check-config then refused it ("missing
    required key: interface"): the documented convert -o / check / reload sequence
    stops one step late. Keepalived itself refuses such a multicast instance
    ("Unknown interface!"): default_interface is for static addresses only, which the
    warning now says (it said instances without one use it)."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    text = (
        "global_defs {\n    default_interface eth1\n}\n"
        "vrrp_instance VI_1 {\n    virtual_router_id 51\n    priority 100\n"
        "    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n"
    )
    conf = _conf(tmp_path, text)
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(main, ["convert", str(conf), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert not out.exists()
    assert f"{conf}:4:1: instances.VI_1: missing required key: interface" in result.output
    warnings = "\n".join(convert(conf).warnings)
    assert "uses for instances without one" not in warnings
    assert "only for static_ipaddress" in warnings


@pytest.mark.parametrize(
    ("line", "expected"),
    [("interval 0.5", ("interval", 1.0)), ("interval 2.5", ("interval", 2.0)),
     ("timeout 1.5", ("timeout", 1.0)), ("interval 3", ("interval", 3.0))],
)  # fmt: skip
def test_finding_6_script_interval_and_timeout_are_whole_seconds(
    tmp_path: Path, line: str, expected: tuple[str, float]
) -> None:
    """vrrp_parser.c reads them with read_unsigned_strvec: `interval 2.5` runs the check
    every 2 s ("WARNING - invalid number", the fraction cut off), `interval 0.5` every
    1 s (0 made 1); the converted check ran every 2.5 s and 0.5 s."""
    text = f"vrrp_script chk {{\n    script /bin/true\n    {line}\n}}\n" + _instance(
        "    track_script {\n        chk\n    }\n"
    )
    conversion = convert(_conf(tmp_path, text))
    key, value = expected
    assert conversion.document["scripts"]["chk"][key] == value
    fractional = value != float(line.split()[1])
    assert any(line in w and "whole seconds" in w for w in conversion.warnings) == fractional


def _unicast_node(path: Path, priority: int, source: str, peer: str) -> Path:
    path.write_text(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        f"    priority {priority}\n    unicast_src_ip {source}\n"
        f"    unicast_peer {{\n        {peer}\n    }}\n"
        "    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n"
    )
    return path


def test_finding_7_unicast_peers_that_leave_out_a_node_are_an_error(tmp_path: Path) -> None:
    """lb2 lists a stale peer (.13, the old lb1) instead of lb1's unicast_src_ip (.11):
    lb2 sends its adverts past lb1 and (vrrpd: only listed peers) drops lb1's, both
    MASTER. The cluster check compared only "unicast or not" and said nothing."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    lb1 = _unicast_node(tmp_path / "lb1.conf", 101, "192.0.2.11", "192.0.2.12")
    lb2 = _unicast_node(tmp_path / "lb2.conf", 100, "192.0.2.12", "192.0.2.13")
    result = CliRunner().invoke(main, ["check-config", str(lb1), str(lb2)])
    assert result.exit_code == 1, result.output
    assert "leave out lb1's address 192.0.2.11" in result.output
    good = _unicast_node(tmp_path / "lb3.conf", 100, "192.0.2.12", "192.0.2.11")
    result = CliRunner().invoke(main, ["check-config", str(lb1), str(good)])
    assert result.exit_code == 0, result.output
    assert "leave out" not in result.output


def test_finding_8_v3_intervals_that_differ_are_legal(tmp_path: Path) -> None:
    """RFC 5798: a VRRPv3 backup times the master by the interval in its adverts;
    Keepalived (vrrp.c checks the interval for v2 only) and vrrpd accept them. The
    cluster check called it an ERROR (exit 1), which would stop a legal migration."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    text = (
        "instances:\n  a:\n    interface: eth0\n    vrid: 9\n    priority: {p}\n"
        "    version: {v}\n    advert_interval: {i}\n    virtual_addresses: [192.0.2.9/24]\n"
    )
    for version, code in ((3, 0), (2, 1)):
        a, b = tmp_path / f"a{version}.yaml", tmp_path / f"b{version}.yaml"
        a.write_text(text.format(p=100, v=version, i=1))
        b.write_text(text.format(p=90, v=version, i=2))
        result = CliRunner().invoke(main, ["check-config", str(a), str(b)])
        assert result.exit_code == code, result.output
        assert "advert_interval differs" in result.output


@pytest.mark.parametrize("keyword", ["sync_group_tracking_weight", "global_tracking"])
def test_finding_9_sync_group_tracking_weight_keeps_the_members_weights(
    tmp_path: Path, keyword: str
) -> None:
    """vrrp.c ignores weighted trackers of sync group members *unless* the group says
    sync_group_tracking_weight (or the deprecated global_tracking): then Keepalived
    applies them. The converter dropped them anyway, with a warning saying Keepalived
    ignores them, and "sync_group_tracking_weight not carried over"."""
    text = (
        "vrrp_script chk {\n    script /bin/true\n    weight -30\n}\n"
        f"vrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    {keyword}\n}}\n"
        + _instance("    track_script {\n        chk\n    }\n    track_interface {\n"
                    "        eth1 weight -10\n    }\n")
    )  # fmt: skip
    conversion = convert(_conf(tmp_path, text))
    instance = conversion.document["instances"]["VI_1"]
    assert instance["track_scripts"] == ["chk"]
    assert instance["track_interfaces"] == [{"name": "eth1", "weight": -10}]
    assert not any("ignores weighted" in w or keyword in w for w in conversion.warnings)


@pytest.mark.parametrize("where", ["after", "nowhere"])
def test_finding_10_a_tracked_name_defined_below_or_nowhere_is_ignored(
    tmp_path: Path, where: str
) -> None:
    """Keepalived resolves track_script/track_file/track_process names while it reads
    (vrrp_track.c: "track script chk not found, ignoring..."): a vrrp_script written
    below the instance is never run for it. The converted file tracked it (a check
    that never ran under Keepalived now moves the VIP), and a name defined nowhere gave
    a file vrrpd refuses ("no script named")."""
    script = "vrrp_script chk {\n    script /bin/false\n    weight -50\n}\n"
    trackers = (
        "    track_script {\n        chk\n    }\n"
        "    track_file {\n        flag\n    }\n    track_process {\n        proc\n    }\n"
    )
    text = _instance(trackers)
    if where == "after":
        text += script + "vrrp_track_file flag {\n    file /run/flag\n}\n"
        text += "vrrp_track_process proc {\n    process haproxy\n}\n"
    conversion = convert(_conf(tmp_path, text))
    instance = conversion.document["instances"]["VI_1"]
    for key in ("track_scripts", "track_files", "track_processes"):
        assert key not in instance, key
    assert sum("not found, ignoring" in w for w in conversion.warnings) == 3
    loads(conversion.yaml(), "converted")


def _sync_pair(tmp_path: Path) -> list[str]:
    """Two nodes whose sync group's members rank them differently once node2's check
    fails: `a` (weighted) prefers node1, `b` (unweighted) still node2; the group drags
    each member after the other, and the VIPs go back and forth every Skew_Time."""
    files = []
    for n in (1, 2):
        path = tmp_path / f"node{n}.yaml"
        path.write_text(
            f"global:\n  router_id: node{n}\n  script_security: false\n"
            "scripts:\n  chk:\n    command: /bin/true\n    interval: 5\n    fall: 3\n"
            "    weight: 20\n"
            "instances:\n"
            f"  a:\n    interface: eth0\n    vrid: 7\n    priority: 100\n    version: 2\n"
            f"    unicast_source: 192.0.2.1{n}\n    unicast_peers: [192.0.2.1{3 - n}]\n"
            "    track_scripts: [chk]\n    virtual_addresses: [192.0.2.7/24]\n"
            f"  b:\n    interface: eth0\n    vrid: 8\n    priority: {100 + 10 * n}\n"
            "    version: 2\n    virtual_addresses: [192.0.2.8/24]\n"
            "sync_groups:\n  g:\n    instances: [a, b]\n"
        )
        files.append(str(path))
    return files


def test_finding_11_simulate_names_a_flapping_sync_group(tmp_path: Path) -> None:
    """simulate's table said node2 held the VIPs during the check drill with a 0.000 s
    outage: a snapshot of its last instant, while its own timeline showed the sync
    group going back and forth every 0.53 s from the check's fall to the drill's end."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    result = CliRunner().invoke(main, ["simulate", *_sync_pair(tmp_path)])
    lines = result.output.splitlines()
    row = next(line for line in lines if line.startswith("  check chk fails"))
    assert row.split()[5:8] == ["flaps", "node1/node2", "node2"], row
    takeovers = int(row.split(", ")[1].split()[0])
    # the timeline's own count: each takeover is one `a` becoming MASTER somewhere
    # between the fault (125 s) and its undoing (150 s)
    times = [float(line.split()[0][:-1]) for line in lines if "a: BACKUP → MASTER" in line]
    assert takeovers == len([t for t in times if 125.0 < t <= 150.0]) >= 10
    assert f"{takeovers} takeovers from " in result.output
    assert "one every 0.53 s, holders alternate node1/node2" in result.output
    # the drills that settle keep their plain rows
    crash = next(line for line in lines if line.startswith("  node1 crashes"))
    assert crash.split()[5:] == ["node2", "node2", "0.000", "s"], crash


def test_finding_12_cluster_check_names_a_sync_group_that_flaps(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from vrrpd.cli import main

    """The cluster check predicted each VRID alone ("hands over to node1") and exited 0:
    the group's members elect different masters once chk fails on node2, and the group
    flaps (what simulate shows). Now an error naming the group, its members and nodes,
    and the tracker only one member has."""
    result = CliRunner().invoke(main, ["check-config", *_sync_pair(tmp_path)])
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.output.splitlines() if "sync group g" in line]
    assert line.startswith("cluster: ERROR: sync group g: its members elect different "
                           "masters when check chk fails on node2: "), line  # fmt: skip
    assert "a (VRID 7: node1 120, node2 100) -> node1" in line
    assert "b (VRID 8: node1 110, node2 120) -> node2" in line
    assert "on node2, a tracks check chk (weight +20) and b not" in line


def test_finding_13_the_node_itself_in_its_unicast_peers_is_left_out(tmp_path: Path) -> None:
    """OpenShift's and kolla's templates give every node one peer list, itself
    included. vrrpd then receives its own adverts and drops each as "source is one of
    our own addresses (another router uses it?)": a false alarm every second."""
    body = (
        "    unicast_src_ip 192.0.2.11\n    unicast_peer {\n        192.0.2.11\n"
        "        192.0.2.12\n        192.0.2.13\n    }\n"
    )
    conversion = convert(_conf(tmp_path, _instance(body)))
    assert conversion.document["instances"]["VI_1"]["unicast_peers"] == [
        "192.0.2.12",
        "192.0.2.13",
    ]
    assert any("own unicast_src_ip" in w for w in conversion.warnings)


def test_finding_14_check_config_reads_the_live_nodes_at_id_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One keepalived.conf for both nodes (`@lb1 priority 150`, `@lb2 priority 100`,
    the kubeadm guides' @main/@backup), lb1's copy checked on lb2 against lb2's new
    YAML: check-config read it for this host's name, so the live master showed as
    priority 100 (neither line kept), "lb2 or keepalived is master", exit 0, and the
    conditional-lines note was only counted. Now it says which lines it read, and
    --config-id reads them as the live node does."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    monkeypatch.setattr("socket.gethostname", lambda: "lb2.example.org")
    live = _conf(
        tmp_path,
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "@lb1 priority 150\n@lb2 priority 100\n"
        "    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n",
    )
    new = tmp_path / "lb2.yaml"
    new.write_text(convert(live, "lb2").yaml())
    plain = CliRunner().invoke(main, ["check-config", str(new), str(live)])
    assert "reads them for this host's name ('lb2')" in plain.output
    assert "kept @lb2; dropped @lb1" in plain.output
    checked = CliRunner().invoke(main, ["check-config", "--config-id", "lb1", str(new), str(live)])
    assert checked.exit_code == 0, checked.output
    assert "priority 150" in checked.output
    assert "keepalived is master (priority 150)" in checked.output


def test_finding_15_simulate_takes_the_live_nodes_keepalived_conf(tmp_path: Path) -> None:
    """check-config takes a live node's keepalived.conf beside the new node's YAML;
    simulate, given the same pair, said "lb1.conf:1:1: must be a mapping" and
    "no instance configured" (and exit 0)."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    live = tmp_path / "lb1.conf"
    live.write_text(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "    priority 150\n    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n"
    )
    new = tmp_path / "lb2.yaml"
    new.write_text(convert(live).yaml().replace("priority: 150", "priority: 100"))
    result = CliRunner().invoke(main, ["simulate", str(live), str(new)])
    assert result.exit_code == 0, result.output
    assert "must be a mapping" not in result.output
    assert "master after the election: lb1" in result.output


def test_finding_16_version_2_on_an_ipv6_instance_is_refused(tmp_path: Path) -> None:
    """vrrp.c (vrrp_complete_instance): an IPv6 instance is made VRRPv3 only when it has
    no version of its own, or in strict mode; with `version 2` Keepalived sends VRRPv2
    over IPv6. The converted file said `version: 3` without a word: the two nodes would
    not understand each other. vrrpd has no VRRPv2 over IPv6: refused, as AH is."""
    six = (
        "vrrp_instance V6 {\n    interface eth0\n    virtual_router_id 61\n"
        "    priority 100\n    version 2\n"
        "    virtual_ipaddress {\n        fe80::61/64\n        2001:db8::61/64\n    }\n}\n"
    )
    conversion = convert(_conf(tmp_path, six))
    assert any("version 2 in IPv6 instance V6" in e for e in conversion.errors)
    strict = convert(_conf(tmp_path, "global_defs {\n    vrrp_strict\n}\n" + six))
    assert not strict.errors
    assert strict.document["instances"]["V6"]["version"] == 3
    plain = convert(_conf(tmp_path, six.replace("    version 2\n", "")))
    assert not plain.errors
    assert plain.document["instances"]["V6"]["version"] == 3


def test_finding_16_version_2_after_the_ipv6_addresses_is_ignored(tmp_path: Path) -> None:
    """vrrp_version_handler ignores `version 2` once the instance is known to be IPv6
    ("conflicts with configured or deduced version"): that one is VRRPv3, not refused."""
    text = (
        "vrrp_instance V6 {\n    interface eth0\n    virtual_router_id 61\n"
        "    priority 100\n    virtual_ipaddress {\n        fe80::61/64\n    }\n"
        "    version 2\n}\n"
    )
    conversion = convert(_conf(tmp_path, text))
    assert not conversion.errors
    assert conversion.document["instances"]["V6"]["version"] == 3
    assert any("version 2 in IPv6 instance V6" in w for w in conversion.warnings)
