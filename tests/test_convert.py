"""`vrrpd convert`: keepalived.conf to vrrpd YAML that passes check-config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vrrpd.cli import main
from vrrpd.config.loader import ConfigInvalid, loads, loads_checked
from vrrpd.convert import convert

DATA = Path(__file__).parent / "data" / "keepalived"
SEED = DATA / "seed.conf"
"""A copy of ../shared/data/keepalived/seed.conf: the configuration our users' design starts from."""
SAMPLES = Path("/usr/share/doc/keepalived/samples")


def test_every_vrrp_keyword_we_carry_over() -> None:
    result = convert(DATA / "main.conf")
    doc = result.document
    assert doc["global"] == {"router_id": "lb1", "script_user": "nobody", "script_security": True}
    assert doc["scripts"]["chk_nginx"]["command"].endswith("check_http.sh http://127.0.0.1/")
    web = doc["instances"]["web"]
    assert (web["vrid"], web["priority"], web["version"], web["advert_interval"]) == (51, 150, 2, 1)
    assert "preempt" not in web  # state MASTER: Keepalived clears nopreempt (w15r finding 3)
    assert web["authentication"] == {"type": "pass", "password": "s3cret"}
    assert web["virtual_addresses"] == [
        {"address": "192.0.2.100/24", "dev": "eth0", "label": "eth0:web"},
        "192.0.2.101/32",
    ]
    # in sync group `front`, Keepalived ignores weighted track_script/track_file entries
    assert "track_scripts" not in web
    assert "track_files" not in web
    assert web["track_processes"] == [{"name": "haproxy", "weight": -60, "quorum": 2}]
    assert web["garp"] == {"delay": 2.0, "repeat": 3}
    assert web["notify"] == {"master": "/etc/vrrpd/notify.sh master", "any": "/etc/vrrpd/notify.sh"}
    web6 = doc["instances"]["web6"]
    assert (web6["version"], web6["advert_interval"], web6["use_vmac"]) == (3, 0.5, True)
    assert web6["unicast_peers"] == ["fe80::12"]
    assert web6["unicast_max_hops"] == 254  # Keepalived: any TTL from a unicast peer
    assert doc["sync_groups"]["front"] == {
        "instances": ["web", "web6"],
        "notify": {"fault": "/etc/vrrpd/notify.sh"},
    }
    where = str(DATA / "main.conf")
    assert result.warnings == [
        f"{where}:7: global_defs notification_email not carried over (mail, SNMP and DBus are not vrrpd's; its metrics and notify hooks are)",
        f"{where}:24: state MASTER not carried over: vrrpd starts every instance as BACKUP and elects; the highest priority becomes MASTER",
        f"{where}:39: track_script chk_nginx: Keepalived ignores weighted trackers of an instance in sync group front; left out of this file to match (track it in the sync group, or without a weight, to have an effect)",
        f"{where}:45: track_file maint (/var/lib/vrrpd/maintenance): Keepalived ignores weighted trackers of an instance in sync group front; left out of this file to match (track it in the sync group, or without a weight, to have an effect)",
        f"{where}:53: vrrp_instance smtp_alert not carried over",
        f"{where}:24: nopreempt with state MASTER: Keepalived clears nopreempt for web (it preempts), and so does this file",
        f"{where}:68: use_vmac vrrp61: vrrpd names the macvlan itself (vrrp.VRID)",
        f"{where}:62: unicast_peer: Keepalived accepts web6's unicast adverts whatever their TTL (it checks TTL 255 only for multicast), so peers in other subnets work; vrrpd takes TTL 255 only unless unicast_max_hops says otherwise: written as unicast_max_hops: 254 (TTL >= 1), as Keepalived; set it to 0 if every peer is on this link (no off-link sender can then forge an advert)",
        f"{where}:79: virtual_server not carried over: load balancing (IPVS) is not vrrpd's: keep it in nginx, HAProxy or ipvsadm",
    ]
    # and vrrpd accepts it (scripts are checked for real elsewhere; here the mapping is)
    config = loads(result.yaml().replace("script_security: true", "script_security: false"))
    assert [i.name for i in config.instances] == ["web", "web6"]


def test_the_seed_configuration_of_our_users_design() -> None:
    """VRRPv2 with PASS, a check script and an IPVS virtual_server, no virtual_ipaddress."""
    if not SEED.exists():
        pytest.fail(f"{SEED} is missing")
    result = convert(SEED)
    vi = result.document["instances"]["VI_1"]
    assert (vi["vrid"], vi["version"], vi["advert_interval"]) == (51, 2, 1)
    assert vi["authentication"] == {"type": "pass", "password": "mypasswo"}
    text = "\n".join(result.warnings)
    assert "auth_pass is longer than 8 bytes: Keepalived sends only the first 8" in text
    assert "mypasswo" not in text  # the secret never reaches a log (issue 15, item 11)
    assert "has no virtual_ipaddress: it moves nothing" in text
    assert "(virtual_server 10.0.0.1 is likely it)" in text
    assert "script 'check_http.sh' is not an absolute path" in text
    assert "vrrp_script check_http is defined but no instance tracks it" in text
    assert "virtual_server not carried over" in text
    # check-config then refuses exactly what the warnings told the operator to fix
    with pytest.raises(ConfigInvalid) as refused:
        loads(result.yaml())
    assert [e.message for e in refused.value.errors] == ["needs at least one address"]


def _samples() -> list[tuple[Path, str | None]]:
    if not SAMPLES.is_dir():
        pytest.fail("keepalived's samples are missing: apt-get install keepalived (make test does)")
    found: list[tuple[Path, str | None]] = []
    for path in sorted(SAMPLES.glob("keepalived.conf.*")):
        if "vrrp_instance" not in path.read_text(errors="replace"):
            continue
        if "@high" in path.read_text():
            found += [(path, "high"), (path, "low")]
        else:
            found.append((path, None))
    return found


def test_every_keepalived_sample_converts_to_a_config_vrrpd_accepts() -> None:
    samples = _samples()
    assert len(samples) >= 10
    for path, config_id in samples:
        result = convert(path, config_id)
        assert result.instances, path
        try:
            loads_checked(result.yaml(), path.name)
        except ConfigInvalid as refused:
            pytest.fail(f"{path.name} (--config-id {config_id}): {refused.errors}")


def test_the_command_writes_the_file_and_warns_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "vrrpd.yaml"
    result = CliRunner().invoke(main, ["convert", str(DATA / "main.conf"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["instances"]["web"]["vrid"] == 51
    assert "state MASTER not carried over" in result.output  # stderr, mixed in by the runner
    empty = tmp_path / "lvs.conf"
    empty.write_text("virtual_server 192.0.2.1 80 {\n  lb_algo rr\n}\n")
    refused = CliRunner().invoke(main, ["convert", str(empty)])
    assert refused.exit_code == 1
    assert "no vrrp_instance to convert" in refused.output


# ---------------------------------------------------------------- issue 15


def _conf(tmp_path: Path, text: str, name: str = "keepalived.conf") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


_V2 = """vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
{body}
}}
"""


def test_excluded_addresses_are_held_not_advertised(tmp_path: Path) -> None:
    """Item 1: folding them into the VIPs made v2 peers drop each other's adverts."""
    body = (
        "    virtual_ipaddress {\n        192.0.2.10/24\n    }\n"
        "    virtual_ipaddress_excluded {\n        192.0.2.20/24\n        2001:db8::20/64\n    }"
    )
    result = convert(_conf(tmp_path, _V2.format(body=body)))
    vi = result.document["instances"]["VI_1"]
    assert vi["virtual_addresses"] == ["192.0.2.10/24"]
    assert vi["excluded_addresses"] == ["192.0.2.20/24", "2001:db8::20/64"]
    assert vi["version"] == 2  # mixed families there force nothing (item 5)
    inst = loads(result.yaml()).instances[0]
    assert [str(v.address) for v in inst.excluded_addresses] == ["192.0.2.20/24", "2001:db8::20/64"]


def test_ah_is_refused_naming_the_line(tmp_path: Path) -> None:
    """Item 2: AH became `type: pass` with the AH password: split brain."""
    body = (
        "    virtual_ipaddress {\n        192.0.2.10\n    }\n"
        "    authentication {\n        auth_type AH\n        auth_pass secret\n    }"
    )
    conf = _conf(tmp_path, _V2.format(body=body))
    result = convert(conf)
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{conf}:7: auth_type AH")
    assert "IP protocol 51" in result.errors[0]
    assert "Node-by-node migration" in result.errors[0]
    assert "authentication" not in result.document["instances"]["VI_1"]
    out = tmp_path / "vrrpd.yaml"
    refused = CliRunner().invoke(main, ["convert", str(conf), "-o", str(out)])
    assert refused.exit_code == 1
    assert not out.exists()
    assert "IP protocol 51" in refused.output


def test_includes_and_variables_as_keepalived_reads_them(tmp_path: Path) -> None:
    """Item 3: `${_PWD}` includes skipped, `$IF0` written literally, a check command mangled."""
    _conf(tmp_path, "$PRIO=150\n", "prio.conf")
    _conf(
        tmp_path, 'vrrp_script chk {\n    script "${_PWD}/../scripts/vs.sh"\n}\n', "conf.d/a.conf"
    )
    _conf(tmp_path, 'vrrp_script other {\n    script "/bin/x ${UNSET}"\n}\n', "conf.d/b.conf")
    conf = _conf(
        tmp_path,
        "$IF0=eth3\n"
        "include ${_PWD}/prio.conf\n"
        "include conf.d/*.conf\n"
        "include missing/*.conf\n"
        "$VIPS=virtual_ipaddress { \\\n  192.0.2.10 \\\n}\n"
        "vrrp_instance VI_1 {\n"
        "    interface $IF0\n"
        "    virtual_router_id 51\n"
        "    priority ${PRIO}\n"
        "    $VIPS\n"
        "    track_script {\n        chk\n        other\n    }\n"
        "}\n",
    )
    result = convert(conf)
    vi = result.document["instances"]["VI_1"]
    assert (vi["interface"], vi["priority"]) == ("eth3", 150)
    assert vi["virtual_addresses"] == ["192.0.2.10/32"]
    assert result.document["scripts"]["chk"]["command"] == f"{tmp_path}/conf.d/../scripts/vs.sh"
    # not mangled, and a literal word as Keepalived passes it (no shell expands it)
    assert result.document["scripts"]["other"]["command"] == "/bin/x '${UNSET}'"
    assert f"{conf}:4: include missing/*.conf: no file matches" in "\n".join(result.warnings)
    assert "b.conf:2: /bin/x ${UNSET}: no such variable defined" in "\n".join(result.warnings)


def test_reverse_weights_and_the_trackers_keepalived_details(tmp_path: Path) -> None:
    """Item 4: `weight 10 reverse` became `weight: 10` (110/100 where Keepalived gives 90/100)."""
    conf = _conf(
        tmp_path,
        "vrrp_script chk {\n    script /bin/true\n    weight 10 reverse\n}\n"
        "vrrp_script plain {\n    script /bin/true\n}\n"
        "vrrp_track_file tf {\n    file /run/flag\n    weight -7 reverse\n    init_file 5 overwrite\n}\n"
        "vrrp_track_process tp {\n    process sshd\n    param_match partial\n    delay 3\n}\n"
        + _V2.format(
            body="    dont_track_primary\n"
            "    virtual_ipaddress {\n        192.0.2.5/24 no_track dev eth1 label eth1:vip\n"
            "        192.0.2.6/24 brd 192.0.2.255 scope link\n    }\n"
            "    track_script {\n        chk\n        plain weight 5 reverse\n    }\n"
            "    track_file {\n        tf\n    }\n"
            "    track_process {\n        tp weight -4 reverse\n    }"
        ),
    )
    result = convert(conf)
    vi = result.document["instances"]["VI_1"]
    assert vi["track_scripts"] == [
        {"name": "chk", "weight": 10, "reverse": True},
        {"name": "plain", "weight": 5, "reverse": True},
    ]
    assert vi["track_files"] == [{"path": "/run/flag", "weight": -7, "reverse": True}]
    assert vi["track_processes"] == [{"name": "sshd", "weight": -4, "reverse": True}]
    assert vi["virtual_addresses"] == [
        {"address": "192.0.2.5/24", "dev": "eth1", "label": "eth1:vip"},
        "192.0.2.6/24",
    ]
    text = "\n".join(result.warnings)
    for expected in (
        ":21: dont_track_primary not carried over",
        ":23: 192.0.2.5/24: no_track not carried over",
        ":24: 192.0.2.6/24: brd 192.0.2.255, scope link not carried over",
        ":11: vrrp_track_file init_file not carried over",
        ":15: vrrp_track_process param_match not carried over",
        ":16: vrrp_track_process delay not carried over",
    ):
        assert expected in text, expected
    loads(result.yaml())


def test_weighted_trackers_in_a_sync_group_as_keepalived_applies_them(tmp_path: Path) -> None:
    conf = _conf(
        tmp_path,
        "vrrp_script chk {\n    script /bin/true\n    weight -20\n}\n"
        "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n"
        "    track_script {\n        chk weight 30\n    }\n}\n"
        + _V2.format(
            body="    virtual_ipaddress {\n        192.0.2.5\n    }\n"
            "    track_script {\n        chk\n    }\n"
            "    track_interface {\n        eth1 weight -15\n    }"
        ),
    )
    result = convert(conf)
    vi = result.document["instances"]["VI_1"]
    assert vi["track_interfaces"] == ["eth1"]  # Keepalived: weight ignored, FAULT when down
    assert vi["track_scripts"] == [{"name": "chk", "weight": 30}]  # the group's, pushed down
    text = "\n".join(result.warnings)
    assert "Keepalived ignores weighted trackers of an instance in sync group G" in text


def test_an_ipv6_vip_in_a_v2_ipv4_instance_is_ignored_not_forcing_v3(tmp_path: Path) -> None:
    """Item 5: it forced `version: 3`, which check-config then refused."""
    body = "    virtual_ipaddress {\n        192.0.2.10\n        2001:db8::10\n    }"
    conf = _conf(tmp_path, _V2.format(body=body))
    result = convert(conf)
    vi = result.document["instances"]["VI_1"]
    assert (vi["version"], vi["virtual_addresses"]) == (2, ["192.0.2.10/32"])
    assert f"{conf}:6: 2001:db8::10/128: not the family of VI_1 (IPv4)" in "\n".join(
        result.warnings
    )
    loads(result.yaml())


def test_convert_o_writes_nothing_unless_something_was_converted(tmp_path: Path) -> None:
    """Item 6: it wrote `instances: {}` over the file, which check-config passed."""
    out = tmp_path / "vrrpd.yaml"
    out.write_text("kept: true\n")
    lvs = _conf(tmp_path, "virtual_server 192.0.2.1 80 {\n  lb_algo rr\n}\n", "lvs.conf")
    refused = CliRunner().invoke(main, ["convert", str(lvs), "-o", str(out)])
    assert refused.exit_code == 1
    assert out.read_text() == "kept: true\n"
    assert f"{out}: not written" in refused.output


def test_conditional_lines_without_config_id_use_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 7: `@id` lines without --config-id lost the check's command. Keepalived 2.2.7
    (run in a namespace named lb1.example.org) takes the host name up to the first dot."""
    monkeypatch.setattr("socket.gethostname", lambda: "lb1.example.org")
    conf = _conf(
        tmp_path,
        "vrrp_script chk {\n@lb1 script /bin/true\n@lb2 script /bin/false\n}\n"
        + _V2.format(
            body="@lb1 priority 150\n@^lb1 priority 50\n"
            "    virtual_ipaddress {\n        192.0.2.10\n    }\n    track_script {\n        chk\n    }"
        ),
    )
    result = convert(conf)
    assert result.document["scripts"]["chk"]["command"] == "/bin/true"
    assert result.document["instances"]["VI_1"]["priority"] == 150
    assert (
        f"{conf}:2: conditional lines: without --config-id Keepalived reads them for this "
        "host's name ('lb1'), and so did this conversion: kept @lb1; dropped @^lb1, @lb2. Convert with --config-id ID for another node"
    ) in result.warnings
    other = convert(conf, "lb2")
    assert other.document["scripts"]["chk"]["command"] == "/bin/false"
    assert other.document["instances"]["VI_1"]["priority"] == 50


def test_messages_say_what_is_true(tmp_path: Path) -> None:
    """Item 11 (and 12: what the unit changes for scripts run as root)."""
    conf = _conf(
        tmp_path,
        "global_defs {\n    max_auto_priority 50\n    default_interface eth2\n}\n"
        "vrrp_script chk {\n    script check.sh\n}\n"
        + _V2.format(
            body="    authentication {\n        auth_type PASS\n        auth_pass topsecret99\n    }\n"
            "    virtual_ipaddress {\n        192.0.2.10\n    }\n    track_script {\n        chk\n    }"
        ),
    )
    text = "\n".join(convert(conf).warnings)
    assert "topsecr" not in text
    assert "does not search PATH" not in text
    assert "the service's PATH" in text
    assert "mail, SNMP" not in text.split("max_auto_priority")[1].split("\n")[0]
    assert "max_auto_priority not carried over: it raises Keepalived's scheduling priority" in text
    assert "default_interface not carried over: Keepalived uses it only for static" in text
    assert "Keepalived ran scripts as root, and so will this file" not in text
    assert "ProtectHome=yes (/root and /home unreadable" in text
    assert "CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_KILL" in text
    piped = CliRunner().invoke(main, ["convert", "-"], input="vrrp_instance X {\n}\n")
    assert "<stdin>:" in piped.output
    assert "-:1:" not in piped.output


def test_reverse_on_a_track_file_definition_is_inherited_by_an_overriding_weight() -> None:
    """Keepalived 2.2.7 (corpus 15-track-file.conf): `boost weight 3` under a definition
    with `weight 2 reverse` is shown as `weight 3 reverse`."""
    result = convert(Path(__file__).parent / "data" / "keepalived-corpus" / "15-track-file.conf")
    files = result.document["instances"]["FILES"]["track_files"]
    assert [(f["weight"], f.get("reverse", False)) for f in files] == [(-100, False), (3, True)]


def test_a_script_whose_command_is_conditioned_away_is_dropped_as_keepalived_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Item 7: Keepalived's conditional_conf sample on a host that is neither `high` nor
    `low` gave a check without a command, which check-config refused."""
    sample = SAMPLES / "keepalived.conf.conditional_conf"
    if not sample.exists():
        pytest.fail("keepalived's samples are missing: apt-get install keepalived")
    monkeypatch.setattr("socket.gethostname", lambda: "elsewhere")
    result = convert(sample)
    assert "scripts" not in result.document
    assert "track_scripts" not in result.document["instances"]["VI_0"]
    assert any("vrrp_script check_VI_0 has no script line" in w for w in result.warnings)
    loads_checked(result.yaml(), sample.name)


def test_convert_writes_fast_preempt_off_with_its_reason() -> None:
    """A converted node joins Keepalived peers: below an RFC-strict router, fast
    preemption makes two handovers instead of one (issue 14, docs/architecture.md), and
    the converter cannot know the peers' priorities, so it writes the RFC's timer (not
    for an owner, whom nothing outranks), with a comment saying when to turn it back on."""
    result = convert(DATA / "main.conf")
    for name in ("web", "web6"):
        assert result.document["instances"][name]["fast_preempt"] is False
    text = result.yaml()
    lines = text.splitlines()
    at = [n for n, line in enumerate(lines) if line.strip() == "fast_preempt: false"]
    assert len(at) == 2
    for n in at:
        assert lines[n - 1].strip().startswith("# Off while Keepalived or FRR peers")
        assert lines[n - 1].index("#") == lines[n].index("f")  # same indentation
    config = loads(text.replace("script_security: true", "script_security: false"))
    assert [i.fast_preempt for i in config.instances] == [False, False]


def test_convert_leaves_fast_preempt_alone_for_an_owner(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_instance gw {\n  interface eth0\n  virtual_router_id 7\n  priority 255\n"
        "  virtual_ipaddress {\n    192.0.2.1/24\n  }\n}\n"
    )
    result = convert(conf)
    assert "fast_preempt" not in result.document["instances"]["gw"]


def test_a_value_that_is_not_a_number_is_refused_at_its_column(tmp_path: Path) -> None:
    """FILE:LINE:COL points at the value itself (w15r finding 1), and `${NAME:-default}`
    stays one word instead of opening a block; `~SEQ` lines are said, not dropped."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "~SEQ(ID, 1, 3)\n"
        "vrrp_script chk {\n    script /bin/true\n    interval ${CHECK_INTERVAL:-7}\n}\n"
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id   51;\n"
        "    track_script {\n        chk\n    }\n"
        "    virtual_ipaddress {\n        192.0.2.37/24\n    }\n}\n"
    )
    result = convert(conf)
    assert f"{conf}:4:14: interval '${{CHECK_INTERVAL:-7}}': not a number" in "\n".join(
        result.errors
    )
    assert any(e.startswith(f"{conf}:8:25: virtual_router_id '51;'") for e in result.errors)
    assert any(w.startswith(f"{conf}:1:1: ~SEQ") for w in result.warnings)
    assert list(result.document["scripts"]) == ["chk"]  # no block made of the default


def test_initial_state_master_as_keepalived_derives_from_it(tmp_path: Path) -> None:
    """Keepalived (vrrp.c): `state MASTER` without priority is the owner (255) and clears
    nopreempt and preempt_delay; a BACKUP keeps nopreempt, and a delay with nopreempt is
    cleared (w15r findings 2-4); each is said at its line."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_instance A {\n    interface eth0\n    state MASTER\n    nopreempt\n"
        "    preempt_delay 30\n    virtual_router_id 1\n    virtual_ipaddress {\n"
        "        192.0.2.1\n    }\n}\n"
        "vrrp_instance B {\n    interface eth0\n    state BACKUP\n    nopreempt\n"
        "    virtual_router_id 2\n    priority 90\n    virtual_ipaddress {\n"
        "        192.0.2.2\n    }\n}\n"
        "vrrp_instance C {\n    interface eth0\n    state master\n    virtual_router_id 3\n"
        "    virtual_ipaddress {\n        192.0.2.3\n    }\n}\n"
    )
    result = convert(conf)
    a, b, c = (result.document["instances"][n] for n in "ABC")
    assert (a["priority"], "preempt" in a, "preempt_delay" in a) == (255, False, False)
    assert (b["priority"], b["preempt"]) == (90, False)
    assert c["priority"] == 100  # `state master`: Keepalived compares case-sensitively
    assert sum(w.startswith(f"{conf}:3: ") for w in result.warnings) == 4


def test_values_keepalived_adjusts_are_written_as_it_uses_them(tmp_path: Path) -> None:
    """w15r finding 6: Keepalived drops a unicast address's prefix, rounds a VRRPv2
    interval half up, ignores VRRPv3 authentication and applies at most 253 of a weight."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_script chk {\n    script /bin/true\n    weight -300\n}\n"
        "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    advert_int 2.5\n"
        "    unicast_src_ip 192.0.2.1/24\n    unicast_peer {\n        192.0.2.2/24\n    }\n"
        "    track_script {\n        chk\n    }\n"
        "    virtual_ipaddress {\n        192.0.2.9\n    }\n}\n"
        "vrrp_instance B {\n    interface eth0\n    version 3\n    virtual_router_id 2\n"
        "    authentication {\n        auth_type PASS\n        auth_pass x\n    }\n"
        "    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n"
    )
    result = convert(conf)
    a, b = result.document["instances"]["A"], result.document["instances"]["B"]
    assert (a["unicast_source"], a["unicast_peers"], a["advert_interval"]) == (
        "192.0.2.1",
        ["192.0.2.2"],
        3,
    )
    assert result.document["scripts"]["chk"]["weight"] == -253
    assert "authentication" not in b
    loads(result.yaml())


def test_a_brace_that_closes_nothing_is_said(tmp_path: Path) -> None:
    """The other half of w15r finding 7 (an unclosed '{' is in test_w15r_findings)."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n"
        "    virtual_ipaddress {\n        192.0.2.9\n    }\n}\n}\n"
    )
    assert any(w.startswith(f"{conf}:8:1: a '}}'") for w in convert(conf).warnings)


def test_include_brace_alternatives_in_written_order(tmp_path: Path) -> None:
    """GLOB_BRACE (w15r finding 8): each alternative globbed in the order written, so a
    later file's definition wins as in Keepalived; a quoted path keeps its braces."""
    (tmp_path / "b.conf").write_text("$PRIO=120\n")
    (tmp_path / "a.conf").write_text("$PRIO=110\n")
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        'include "{b,a}.conf"\nvrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n'
        "    priority $PRIO\n    virtual_ipaddress {\n        192.0.2.9\n    }\n}\n"
    )
    assert convert(conf).document["instances"]["A"]["priority"] == 110


def test_a_converted_notify_runs_as_keepalived_runs_it(tmp_path: Path) -> None:
    """Keepalived execs the notify line's words without a shell (w15r finding 13): run
    for real, the converted hook echoes `&&` and never touches the file; the words after
    an unquoted command are Keepalived's user and group (finding 14), warned, not run."""
    import asyncio

    from vrrpd.adapters.scripts import run

    touched = tmp_path / "touched"
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        f"vrrp_instance A {{\n    interface eth0\n    virtual_router_id 1\n"
        f'    notify_master "/bin/echo $HOME && /bin/touch {touched}"\n'
        "    notify_backup /bin/echo www-data www-data\n"
        "    virtual_ipaddress {\n        192.0.2.9\n    }\n}\n"
    )
    result = convert(conf)
    notify = result.document["instances"]["A"]["notify"]
    outcome = asyncio.run(run(notify["master"], timeout=5))
    assert outcome.output == f"$HOME && /bin/touch {touched}"
    assert not touched.exists()
    assert notify["backup"] == "/bin/echo"
    assert any("'www-data www-data' after the command" in w for w in result.warnings)


def test_each_converted_key_knows_its_keepalived_line(tmp_path: Path) -> None:
    """check-config reports a converted file's errors at the keepalived.conf's
    FILE:LINE:COL (w15r finding 9): a VIP left out for its family does not shift the
    others' positions; a key without its own line falls back to its block."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_script chk {\n    script /bin/true\n    interval 2\n}\n"
        "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n"
        "    virtual_ipaddress {\n        192.0.2.9\n        2001:db8::9\n"
        "        192.0.2.10\n    }\n}\n"
    )
    result = convert(conf)
    assert result.origin("scripts.chk.interval") == f"{conf}:3:14"
    assert result.origin("instances.A.vrid") == f"{conf}:7:23"
    assert result.origin("instances.A.virtual_addresses[1]") == f"{conf}:11:9"
    assert result.origin("instances.A.advert_interval") == f"{conf}:5:1"


def test_a_check_runs_the_words_keepalived_runs(tmp_path: Path) -> None:
    """Keepalived 2.2.7 (its dump, in the lab): `script /bin/true unquoted-arg` runs
    /usr/bin/true alone; `script "/bin/true a '&&' x"` runs it with `a && x`, no shell."""
    from vrrpd.adapters.scripts import argv

    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        "vrrp_script one {\n    script /bin/echo unquoted-arg\n}\n"
        'vrrp_script two {\n    script "/bin/echo a && x"\n}\n'
    )
    result = convert(conf)
    scripts = result.document["scripts"]
    assert argv(scripts["one"]["command"]) == ["/bin/echo"]
    assert argv(scripts["two"]["command"]) == ["/bin/echo", "a", "&&", "x"]
    assert any("without the words after it" in w for w in result.warnings)
