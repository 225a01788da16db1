"""The YAML loader: exact positions, every error at once, no YAML 1.1 surprises."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrrpd.config.loader import ConfigInvalid, load, loads, loads_checked
from vrrpd.core.config import Announce, ChecksumMode, Election

GOOD = """\
instances:
  web:
    interface: eth0
    vrid: 51
    priority: 150
    virtual_addresses: [192.0.2.100/24]
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        loads(text, "c.yaml")
    return [str(e) for e in info.value.errors]


def test_minimal_config() -> None:
    [web] = loads(GOOD).instances
    assert (web.name, web.vrid, web.priority, web.version, web.advert_interval) == (
        "web",
        51,
        150,
        3,
        1.0,
    )


def test_the_shipped_example_loads_with_the_installed_scripts(tmp_path: Path) -> None:
    """The example names /usr/share/vrrpd/scripts, where scripts/ is installed (test_packaging)."""
    example = (Path(__file__).parent.parent / "etc" / "vrrpd.yaml").read_text()
    installed = Path(__file__).parent.parent / "scripts"
    copy = tmp_path / "vrrpd.yaml"
    copy.write_text(example.replace("/usr/share/vrrpd/scripts", str(installed)))
    config = load(copy)
    assert [i.name for i in config.instances] == ["web"]
    assert config.scripts[0].weight == -50


def test_out_of_range_value_points_at_the_value() -> None:
    assert errors(GOOD.replace("priority: 150", "priority: 300")) == [
        "c.yaml:5:15: instances.web.priority: must be 1..255 (got 300)"
    ]


def test_leading_zero_is_decimal_never_octal() -> None:
    assert loads(GOOD.replace("vrid: 51", "vrid: 010")).instances[0].vrid == 10


@pytest.mark.parametrize("word", ["on", "yes", "True1", "1"])
def test_booleans_are_only_true_or_false(word: str) -> None:
    assert errors(GOOD + f"    preempt: {word}\n") == [
        f"c.yaml:7:14: instances.web.preempt: must be true or false (got {word!r})"
    ]


def test_quoted_number_is_not_a_number() -> None:
    assert errors(GOOD.replace("vrid: 51", 'vrid: "51"')) == [
        "c.yaml:4:11: instances.web.vrid: must be a whole number, and '51' is quoted: write 51 without quotes"
    ]


def test_keepalived_words_are_translated() -> None:
    text = GOOD.replace("vrid: 51", "virtual_router_id: 51\n    vrid: 51") + "    nopreempt: true\n"
    assert errors(text) == [
        "c.yaml:4:5: instances.web.virtual_router_id: unknown key; that is Keepalived's word: "
        "in vrrpd this is `vrid`",
        "c.yaml:8:5: instances.web.nopreempt: unknown key; that is Keepalived's word: "
        "in vrrpd this is `preempt: false`",
    ]


def test_an_unknown_script_user_is_an_error() -> None:
    text = "global: {script_user: no-such-user-here}\n" + GOOD
    assert errors(text) == [
        "c.yaml:1:23: global.script_user: no user named 'no-such-user-here' on this host"
    ]


@pytest.mark.parametrize(
    ("text", "seconds"), [("1", 1.0), ("0.1", 0.1), ('"100ms"', 0.1), ("2s", 2.0), ("1m", 60.0)]
)
def test_durations(text: str, seconds: float) -> None:
    cfg = loads(GOOD + f"    preempt_delay: {text}\n")
    assert cfg.instances[0].preempt_delay == pytest.approx(seconds)


def test_bad_duration() -> None:
    assert errors(GOOD + "    preempt_delay: soon\n") == [
        "c.yaml:7:20: instances.web.preempt_delay: must be a duration in seconds, like 1, 0.1, '100ms' or '2s' (got 'soon')"
    ]


def test_unknown_key_with_a_suggestion() -> None:
    assert errors(GOOD + "    priorty: 100\n") == [
        "c.yaml:7:5: instances.web.priorty: unknown key; did you mean 'priority'?"
    ]


def test_unknown_section() -> None:
    assert errors(GOOD + "instance: {}\n") == [
        "c.yaml:7:1: instance: unknown section; did you mean 'instances'?"
    ]


def test_duplicate_keys_are_refused() -> None:
    assert errors(GOOD + "    vrid: 52\n") == [
        "c.yaml:7:5: instances.web.vrid: duplicate key (first at line 4)"
    ]


def test_missing_required_keys() -> None:
    assert errors("instances:\n  web:\n    priority: 100\n") == [
        "c.yaml:3:5: instances.web: missing required keys: interface, vrid"
    ]


def test_every_error_at_once_in_document_order() -> None:
    text = (
        GOOD.replace("vrid: 51", "vrid: 0").replace("priority: 150", "priority: x")
        + "    version: 2\n    bogus: 1\n"
    )
    assert errors(text) == [
        "c.yaml:5:15: instances.web.priority: must be a whole number (got 'x')",
        "c.yaml:8:5: instances.web.bogus: unknown key; known keys: "
        "accept, advert_interval, announce, announce_device, announce_grace, announce_hold, "
        "authentication, election, excluded_addresses, fast_preempt, garp, interface, notify, preempt, preempt_delay, priority, "
        "track_files, track_interfaces, track_processes, track_scripts, unicast_max_hops, unicast_peers, unicast_source, "
        "use_vmac, v3_ipv4_checksum, version, virtual_addresses, vrid",
    ]


def test_a_broken_script_does_not_also_report_the_tracks_that_use_it() -> None:
    text = "scripts:\n  chk: {interval: 1}\n" + GOOD + "    track_scripts: [chk]\n"
    assert errors(text) == ["c.yaml:2:8: scripts.chk: missing required key: command"]


def test_semantic_and_structural_errors_together() -> None:
    text = GOOD.replace("vrid: 51", "vrid: 0") + "    bogus: 1\n"
    assert [e.split(": ")[1] for e in errors(text)] == ["instances.web.vrid", "instances.web.bogus"]


def test_semantic_errors_after_structure_is_clean() -> None:
    text = GOOD.replace("vrid: 51", "vrid: 0") + "    version: 2\n    advert_interval: 0.5\n"
    assert errors(text) == [
        "c.yaml:4:11: instances.web.vrid: must be 1..255 (got 0)",
        "c.yaml:8:22: instances.web.advert_interval: VRRPv2 needs whole seconds 1..255 (got 0.5)",
    ]


def test_shorthands_and_full_forms() -> None:
    text = """\
scripts:
  chk: {command: /bin/true, weight: -20}
  chk2: {command: /bin/true}
instances:
  web:
    interface: eth0
    vrid: 51
    virtual_addresses:
      - 192.0.2.100/24
      - {address: 192.0.2.101/24, dev: eth1, label: "eth1:web"}
    track_scripts: [chk, {name: chk2, weight: -30}]
    unicast_peers: [192.0.2.12, 192.0.2.13]
    authentication: ~
    v3_ipv4_checksum: auto
sync_groups:
  front: {instances: [web]}
"""
    cfg = loads(text)
    web = cfg.instances[0]
    assert [str(v.address) for v in web.virtual_addresses] == ["192.0.2.100/24", "192.0.2.101/24"]
    assert web.virtual_addresses[1].label == "eth1:web"
    assert [(t.name, t.weight) for t in web.track_scripts] == [("chk", None), ("chk2", -30)]
    assert [str(p) for p in web.unicast_peers] == ["192.0.2.12", "192.0.2.13"]
    assert web.v3_ipv4_checksum is ChecksumMode.AUTO
    assert cfg.sync_groups[0].instances == ("web",)


def test_bad_values_of_each_kind() -> None:
    text = (
        GOOD + "    unicast_peers: [nope]\n    v3_ipv4_checksum: maybe\n    virtual_addresses: 5\n"
    )
    got = errors(text.replace("    virtual_addresses: [192.0.2.100/24]\n", ""))
    assert got == [
        "c.yaml:6:21: instances.web.unicast_peers[0]: must be an IP address (got 'nope')",
        "c.yaml:7:23: instances.web.v3_ipv4_checksum: must be one of pseudo, message, auto (got 'maybe')",
        "c.yaml:8:24: instances.web.virtual_addresses: must be a list",
    ]
    assert errors(GOOD.replace("[192.0.2.100/24]", "[bad/99]")) == [
        "c.yaml:6:25: instances.web.virtual_addresses[0]: must be an address with an optional prefix, like 192.0.2.10/24 (got 'bad/99')"
    ]


def test_yaml_syntax_error_has_a_position() -> None:
    assert errors("instances:\n  web: [\n") == [
        "c.yaml:3:1: YAML syntax: expected the node content, but found '<stream end>'"
    ]


def test_empty_and_instance_less_configs() -> None:
    assert errors("") == ["c.yaml:1:1: empty configuration: nothing to run"]
    assert errors("global: {router_id: x}\n") == [
        "c.yaml:1:1: instances: no instance configured: nothing to run"
    ]


def test_instances_written_empty_run_idle_with_a_warning() -> None:
    """The package's first /etc/vrrpd/vrrpd.yaml: the agent starts, holds nothing, and a
    reload adds the instances."""
    for text in ("global: {router_id: x}\ninstances: {}\n", "global: {router_id: x}\ninstances:\n"):
        config, warned = loads_checked(text, "c.yaml")
        assert config.instances == ()
        assert [str(w) for w in warned] == [
            "c.yaml:2:1: instances: warning: no instance: an idle agent, holding no VIP and answering no election until a reload adds one; a node meant to be master or backup needs its instances here"
        ]


def test_structure_errors() -> None:
    assert errors("instances: [a]\n") == [
        "c.yaml:1:1: instances: no instance configured: nothing to run",
        "c.yaml:1:12: instances: must be a mapping",
    ]
    assert errors(GOOD.replace("interface: eth0", "interface: [eth0]")) == [
        "c.yaml:3:16: instances.web.interface: must be a single value"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as info:
        load(tmp_path / "missing.yaml")
    assert str(info.value).endswith("missing.yaml:1:1: cannot read: No such file or directory")


# ---------------------------------------------------------------- script_security and warnings


def _with_check(path: Path, security: bool = True) -> str:
    return (
        f"global: {{script_security: {'true' if security else 'false'}}}\nscripts:\n  chk: {{command: {path} --flag}}\n"
        + GOOD
    )


def test_script_security_refuses_a_script_others_can_write(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    assert loads(_with_check(script)).scripts[0].command == f"{script} --flag"
    script.chmod(0o777)
    assert errors(_with_check(script)) == [
        f"c.yaml:3:18: scripts.chk.command: refusing {script}: {script} is writable by everyone "
        "(fix the permissions, or set global.script_security: false)"
    ]
    assert loads(_with_check(script, security=False)).scripts[0].name == "chk"


def test_script_security_looks_at_the_directories_too(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    script = folder / "check.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert [e.split(": ", 2)[2] for e in errors(_with_check(script))] == [
        f"refusing {script}: {folder} is writable by everyone (fix the permissions, or set global.script_security: false)"
    ]
    folder.chmod(0o1777)  # sticky, like /tmp: nobody can replace root's file
    assert loads(_with_check(script)).scripts[0].name == "chk"


def test_missing_program_is_an_error(tmp_path: Path) -> None:
    assert errors(_with_check(tmp_path / "nope.sh"))[0].endswith(
        f"{tmp_path / 'nope.sh'} does not exist"
    )


def test_owner_with_weights_is_warned_about() -> None:
    from vrrpd.config.loader import loads_checked

    text = "scripts:\n  chk: {command: /bin/true, weight: -50}\n" + GOOD.replace(
        "priority: 150", "priority: 255"
    )
    text += "    track_scripts: [chk]\n"
    _, warned = loads_checked(
        text.replace("instances:", "global: {script_security: false}\ninstances:"), "c.yaml"
    )
    assert [str(w) for w in warned] == [
        "c.yaml:8:15: instances.web.priority: warning: priority 255 (address owner) is never changed by weights, "
        "so chk cannot move mastership; only weight-0 trackers (FAULT) can"
    ]


def test_unicast_max_hops_defaults_to_0_and_is_checked_with_its_position() -> None:
    [web] = loads(GOOD).instances
    assert web.unicast_max_hops == 0
    text = GOOD + "    unicast_peers: [192.0.2.12]\n    unicast_max_hops: 2\n"
    [web] = loads(text).instances
    assert web.unicast_max_hops == 2
    assert errors(GOOD + "    unicast_max_hops: 255\n") == [
        "c.yaml:7:23: instances.web.unicast_max_hops: must be 0..254 (got 255)"
    ]


BGP = """\
instances:
  pay:
    interface: eth0
    vrid: 60
    announce: bgp
    virtual_addresses: [203.0.113.10/32]
"""


def test_announce_defaults_to_arp_and_bgp_puts_the_vips_on_lo() -> None:
    [web] = loads(GOOD).instances
    assert web.announce is Announce.ARP
    assert web.device == "eth0"
    [pay] = loads(BGP).instances
    assert (pay.announce, pay.announce_device, pay.device) == (Announce.BGP, "lo", "lo")
    assert (pay.announce_hold, pay.announce_grace) == (0.3, 0.5)
    [pay] = loads(BGP + "    announce_device: vip0\n    announce_grace: 200ms\n").instances
    assert (pay.device, pay.announce_grace) == ("vip0", 0.2)


def test_announce_bgp_errors_have_their_positions() -> None:
    assert errors(BGP.replace("announce: bgp", "announce: ospf")) == [
        "c.yaml:5:15: instances.pay.announce: must be one of arp, bgp (got 'ospf')"
    ]
    assert errors(BGP.replace("/32", "/24")) == [
        "c.yaml:6:25: instances.pay.virtual_addresses[0]: announce: bgp puts each VIP on lo "
        "as a host route: write 203.0.113.10/32 (got 203.0.113.10/24)"
    ]
    assert errors(
        BGP + "    announce_device: a/b\n    announce_hold: 11\n    use_vmac: true\n"
    ) == [
        "c.yaml:7:22: instances.pay.announce_device: not a device name (got 'a/b')",
        "c.yaml:8:20: instances.pay.announce_hold: must be 0..10 s (got 11.0)",
        "c.yaml:9:15: instances.pay.use_vmac: announce: bgp sends no ARP: a VMAC has no use",
    ]
    dev = BGP.replace("[203.0.113.10/32]", "[{address: 203.0.113.10/32, dev: eth0}]")
    assert errors(dev) == [
        "c.yaml:6:25: instances.pay.virtual_addresses[0]: announce: bgp puts the VIPs on "
        "announce_device lo: drop dev"
    ]


def test_election_none_takes_only_checks_that_withdraw() -> None:
    text = "scripts:\n  chk: {command: /bin/true}\n" + BGP + "    election: none\n"
    [pay] = loads(text + "    track_scripts: [{name: chk, weight: 0}]\n").instances
    assert pay.election is Election.NONE
    assert errors(text + "    track_scripts: [{name: chk, weight: -20}]\n") == [
        "c.yaml:9:15: instances.pay.election: election: none has no priority to move: "
        "chk must have weight 0 (down = withdraw)"
    ]
