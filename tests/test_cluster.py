"""`vrrpd check-config a.yaml b.yaml`: the files as one cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vrrpd.cli import main

NODE = """\
global: {{router_id: {name}, script_security: false, script_user: root}}
scripts:
  chk: {{command: {command}, weight: {weight}}}
instances:
  web:
    interface: eth0
    vrid: 51
    priority: {priority}
    version: {version}
    advert_interval: 1
    virtual_addresses: [192.0.2.100/24]
    track_scripts: [chk]
{extra}"""


def _files(tmp_path: Path, *nodes: dict[str, object]) -> list[str]:
    paths = []
    for fields in nodes:
        path = tmp_path / f"{fields['name']}.yaml"
        path.write_text(
            NODE.format(
                **{"weight": -50, "version": 3, "command": "/bin/true", "extra": "", **fields}
            )
        )
        paths.append(str(path))
    return paths


def test_a_good_pair_says_who_wins_each_failure(tmp_path: Path) -> None:
    files = _files(tmp_path, {"name": "lb1", "priority": 150}, {"name": "lb2", "priority": 120})
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("cluster:")]
    assert lines == [
        "cluster: note: VRID 51 (v4): lb1 is master (priority 150)",
        "cluster: note: VRID 51 (v4): every weighted check failing on lb1 (150 -> 100) hands over to lb2 (120)",
    ]


def test_the_migration_trap_two_versions_is_an_error(tmp_path: Path) -> None:
    """Keepalived defaults to v2, vrrpd to v3: a node moved file by file splits the cluster."""
    files = _files(
        tmp_path, {"name": "lb1", "priority": 150}, {"name": "lb2", "priority": 120, "version": 2}
    )
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 1
    assert "cluster: ERROR: VRID 51 (v4): version differs: lb1 3, lb2 2" in result.output


def test_weights_that_cannot_move_mastership_and_equal_priorities(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 150, "weight": -10},
        {"name": "lb2", "priority": 120},
        {"name": "lb3", "priority": 120},
    )
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 1
    out = result.output
    assert (
        "lb1's checks can never move mastership: at worst 150 -> 140, still above lb2's 120" in out
    )
    assert "cluster: note: VRID 51 (v4): lb2, lb3 share priority 120: legal; between them" in out


def _unicast(me: int, *peers: int) -> str:
    listed = ", ".join(f"192.0.2.{p}" for p in peers)
    return f"    unicast_source: 192.0.2.{me}\n    unicast_peers: [{listed}]\n"


def test_equal_priorities_are_legal_and_the_higher_address_wins(tmp_path: Path) -> None:
    """RFC 5798 6.4.3: on a tie the higher primary address is master (OpenShift's
    keepalived gives every node the same priority)."""
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 120, "extra": _unicast(12, 11)},
        {"name": "lb2", "priority": 120, "extra": _unicast(11, 12)},
    )
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ERROR" not in out
    assert (
        "cluster: note: VRID 51 (v4): lb1, lb2 share priority 120: legal; between them the "
        "higher primary address wins: lb1 (192.0.2.12)" in out
    )
    assert "cluster: note: VRID 51 (v4): lb1 is master (priority 120)" in out


def test_the_tie_goes_to_the_higher_address_whatever_the_file_order(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 120, "extra": _unicast(11, 12)},
        {"name": "lb2", "priority": 120, "extra": _unicast(12, 11)},
    )
    out = CliRunner().invoke(main, ["check-config", *files]).output
    assert "cluster: note: VRID 51 (v4): lb2 is master (priority 120)" in out


def test_equal_priorities_without_addresses_name_both(tmp_path: Path) -> None:
    files = _files(tmp_path, {"name": "lb1", "priority": 120}, {"name": "lb2", "priority": 120})
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 0, result.output
    assert "lb1 or lb2 is master (priority 120; the higher primary address wins)" in result.output


def test_positive_weights_move_the_vip(tmp_path: Path) -> None:
    """weight > 0 is added while the check passes: lb1 advertises 170 over lb2's 160,
    and drops to 150 (below lb2) when it fails; `simulate` shows the same handover."""
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 150, "weight": 20},
        {"name": "lb2", "priority": 160, "weight": -1},
    )
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("cluster:")]
    assert lines == [
        "cluster: note: VRID 51 (v4): lb1 is master (priority 170: 150 + its positive weights "
        "while their trackers are up)",
        "cluster: note: VRID 51 (v4): every weighted check failing on lb1 (170 -> 150) hands "
        "over to lb2 (160)",
    ]
    simulated = CliRunner().invoke(main, ["simulate", *files]).output
    assert "master after the election: lb1" in simulated
    assert "preempting lower-priority master 192.0.2.11 (150 < 160)" in simulated


def test_a_missing_script_is_reported_even_without_script_security(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 150, "command": str(tmp_path / "missing.sh")},
        {"name": "lb2", "priority": 120, "command": str(tmp_path / "plain.sh")},
    )
    (tmp_path / "plain.sh").write_text("#!/bin/sh\n")
    result = CliRunner().invoke(main, ["check-config", *files])
    out = result.output
    assert (
        f"{files[0]}: warning: scripts.chk: {tmp_path}/missing.sh does not exist on this host"
        in out
    )
    assert "count every run as a failure" in out
    assert "Keepalived disables such a check instead" in out
    assert f"{files[1]}: warning: scripts.chk: {tmp_path}/plain.sh is not executable" in out


def test_one_file_is_checked_alone(tmp_path: Path) -> None:
    files = _files(tmp_path, {"name": "lb1", "priority": 150})
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 0
    assert "cluster:" not in result.output


def test_simulate_runs_the_operators_own_nodes_through_the_drills(tmp_path: Path) -> None:
    files = _files(tmp_path, {"name": "lb1", "priority": 150}, {"name": "lb2", "priority": 120})
    result = CliRunner().invoke(main, ["simulate", *files])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "master after the election: lb1; VIPs: 192.0.2.100" in out
    assert "note: checks are stand-ins that pass, and fail only when a drill says so" in out
    rows = {
        line[2:46].strip(): line.split()[-2]
        for line in out.splitlines()
        if line.startswith("  ") and line.endswith(" s") and "  " in line[2:]
    }
    crash = float(rows["lb1 crashes (no priority 0)"])
    assert 0 < crash <= 3 + (256 - 120) / 256  # at most Master_Down_Interval of lb2
    assert float(rows["lb2 crashes (no priority 0)"]) == 0.0
    assert float(rows["check chk fails on lb1"]) == 0.0  # fast preemption, add before remove
    assert float(rows["lb1 stops gracefully (priority 0)"]) == pytest.approx(
        (256 - 120) / 256, abs=0.01
    )
    assert "lb2  " in out  # the timeline names nodes by router_id


def _rows(out: str) -> dict[str, list[str]]:
    """The drill table: title -> [held during, then held by, outage]."""
    table = out.split("master after the election:")[1].splitlines()[2:]
    return {line[2:46].strip(): line[47:].split()[:3] for line in table if line.strip()}


def test_simulate_tells_apart_nodes_whose_router_ids_clash(tmp_path: Path) -> None:
    """Keepalived's sample gives every node router_id LVS_DEVEL: two files, two nodes."""
    files = _files(tmp_path, {"name": "lb1", "priority": 150}, {"name": "lb2", "priority": 120})
    for path in files:
        text = Path(path).read_text()
        Path(path).write_text(text.replace("router_id: lb1", "router_id: LVS_DEVEL").replace(
            "router_id: lb2", "router_id: LVS_DEVEL"))  # fmt: skip
    out = CliRunner().invoke(main, ["simulate", *files]).output
    assert "note: lb1: address 192.0.2.11" in out
    assert "note: lb2: address 192.0.2.12" in out
    assert "master after the election: lb1; VIPs: 192.0.2.100" in out
    assert _rows(out)["lb1 crashes (no priority 0)"][0] == "lb2"
    checked = CliRunner().invoke(main, ["check-config", *files]).output
    assert "cluster: note: VRID 51 (v4): lb1 is master (priority 150)" in checked


def test_each_drill_lasts_long_enough_for_its_check_to_act(tmp_path: Path) -> None:
    """A check every 10 s with fall 3 needs 30 s to fail: a 10 s drill showed nothing
    (outage 0.000 s, the master unchanged) where check-config says it hands over."""
    files = _files(tmp_path, {"name": "lb1", "priority": 150}, {"name": "lb2", "priority": 120})
    for path in files:
        text = Path(path).read_text()
        Path(path).write_text(
            text.replace("weight: -50}", "weight: -50, interval: 10, fall: 3, rise: 2}")
        )
    checked = CliRunner().invoke(main, ["check-config", *files]).output
    assert "every weighted check failing on lb1 (150 -> 100) hands over to lb2 (120)" in checked
    out = CliRunner().invoke(main, ["simulate", *files]).output
    during, after, _ = _rows(out)["check chk fails on lb1"]
    assert (during, after) == ("lb2", "lb1")
    assert "lb2       web: BACKUP → MASTER (prio 120): preempting lower-priority master" in out


MULTI = """\
global: {{router_id: {name}, script_security: false, script_user: root}}
instances:
  web:
    interface: eth0
    vrid: 51
    priority: {web}
    virtual_addresses: [192.0.2.100/24]
  api:
    interface: eth0
    vrid: 52
    priority: {api}
    virtual_addresses: [192.0.2.101/24]
"""


def test_simulate_names_the_holder_of_each_instance(tmp_path: Path) -> None:
    """Active-active: lb1 holds web, lb2 holds api; the summary said lb1 held everything."""
    files = []
    for name, web, api in (("lb1", 150, 100), ("lb2", 100, 150)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(MULTI.format(name=name, web=web, api=api))
        files.append(str(path))
    out = CliRunner().invoke(main, ["simulate", *files]).output
    assert "master after the election: web=lb1 api=lb2; VIPs: 192.0.2.100, 192.0.2.101" in out
    rows = _rows(out)
    assert rows["lb1 crashes (no priority 0)"][:2] == ["lb2", "web=lb1"]
    assert rows["lb2 crashes (no priority 0)"][:2] == ["lb1", "web=lb1"]
    assert "lb2 stops gracefully (priority 0)" in rows
    # each master's own checks: lb1's, tracked by web; not lb2's, tracked by web too
    text = MULTI.replace("  web:\n", "  web:\n    track_scripts: [chk]\n").replace(
        "instances:", "scripts:\n  chk: {{command: /bin/true, weight: -60}}\ninstances:")  # fmt: skip
    for path in files:
        name = Path(path).stem
        web, api = (150, 100) if name == "lb1" else (100, 150)
        Path(path).write_text(text.format(name=name, web=web, api=api))
    rows = _rows(CliRunner().invoke(main, ["simulate", *files]).output)
    assert "check chk fails on lb1" in rows
    assert "check chk fails on lb2" not in rows


LIVE = """\
! the live Keepalived node, before the swap
global_defs {
   router_id LVS_DEVEL
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}

virtual_server 192.0.2.100 80 {
    delay_loop 6
}
"""

NEW = """\
global: {{router_id: lb1, script_security: false, script_user: root}}
instances:
  web:
    interface: eth0
    vrid: 51
    priority: 150
    version: {version}
    advert_interval: {interval}
    virtual_addresses: [{vip}]
{auth}"""


def _migration(tmp_path: Path, live: str = LIVE, name: str = "keepalived.conf", **new: object):
    fields = {"version": 2, "interval": 1, "vip": "192.0.2.100/24", "secret": "s3cret", **new}
    secret = fields.pop("secret")
    fields["auth"] = f"    authentication: {{type: pass, password: {secret}}}\n" if secret else ""
    (tmp_path / "lb1.yaml").write_text(NEW.format(**fields))
    (tmp_path / name).write_text(live)
    return str(tmp_path / "lb1.yaml"), str(tmp_path / name)


def test_check_config_takes_the_live_keepalived_conf(tmp_path: Path) -> None:
    """The new node's YAML against the live Keepalived node: agreed, so only who wins,
    and not the converter's notes about IPVS (no disagreement between the nodes)."""
    new, live = _migration(tmp_path)
    result = CliRunner().invoke(main, ["check-config", new, live])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    _, converted, *cluster = result.stdout.splitlines()
    assert converted.startswith(
        f"{live}: keepalived.conf, converted: 1 instance(s): VI_1 (VRID 51 on eth0, IPv4 "
        "VRRPv2, priority 100); 0 script(s), 0 sync group(s) ("
    )
    assert f"conversion note(s): `vrrpd convert {live}` shows them)" in converted
    assert cluster == ["cluster: note: VRID 51 (v4): lb1 is master (priority 150)"]


def test_check_config_names_what_a_migration_would_hit_with_the_keepalived_line(
    tmp_path: Path,
) -> None:
    new, live = _migration(tmp_path, interval=2, vip="192.0.2.101/24", secret="other")  # noqa: S106
    result = CliRunner().invoke(main, ["check-config", new, live])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if "ERROR" in line]
    assert errors == [
        f"cluster: ERROR: VRID 51 (v4): advert_interval differs: lb1 2.0, LVS_DEVEL ({live}:6) 1.0",
        "cluster: ERROR: VRID 51 (v4): virtual_addresses differs: lb1 ['192.0.2.101/24'], "
        f"LVS_DEVEL ({live}:6) ['192.0.2.100/24']",
        f"cluster: ERROR: VRID 51 (v4): authentication differs: lb1 (hidden), LVS_DEVEL ({live}:6) (hidden)",
    ]
    assert "other" not in result.output
    assert "s3cret" not in result.output
    # vrrpd's default version (3) beside Keepalived's (2): the classic migration trap
    new, live = _migration(tmp_path, version=3, secret="")
    result = CliRunner().invoke(main, ["check-config", new, live])
    assert result.exit_code == 1, result.output
    assert f"cluster: ERROR: VRID 51 (v4): version differs: lb1 3, LVS_DEVEL ({live}:6) 2" in (
        result.stdout
    )


@pytest.mark.parametrize("name", ["keepalived", "keepalived.conf.live", "lb2.cfg"])
def test_a_keepalived_conf_is_known_by_its_content(tmp_path: Path, name: str) -> None:
    new, live = _migration(tmp_path, name=name)
    result = CliRunner().invoke(main, ["check-config", new, live])
    assert result.exit_code == 0, result.output
    assert "keepalived.conf, converted" in result.output


def test_vrrpd_yaml_named_conf_stays_yaml(tmp_path: Path) -> None:
    new, _ = _migration(tmp_path)
    renamed = tmp_path / "lb1.conf"
    renamed.write_text(Path(new).read_text())
    result = CliRunner().invoke(main, ["check-config", str(renamed)])
    assert result.exit_code == 0, result.output
    assert f"{renamed}: OK: 1 instance(s): web" in result.output


def test_the_live_node_wins_a_tie_with_the_higher_address(tmp_path: Path) -> None:
    """Both at 100: the higher primary address is master, whichever file says it."""
    live = LIVE.replace("    advert_int 1\n", "    advert_int 1\n    unicast_src_ip 192.0.2.12\n"
                        "    unicast_peer {\n        192.0.2.11\n    }\n")  # fmt: skip
    new, conf = _migration(tmp_path, live=live)
    Path(new).write_text(
        Path(new).read_text().replace("priority: 150", "priority: 100")
        + "    unicast_source: 192.0.2.11\n    unicast_peers: [192.0.2.12]\n"
    )
    result = CliRunner().invoke(main, ["check-config", new, conf])
    assert result.exit_code == 0, result.output
    assert "cluster: note: VRID 51 (v4): LVS_DEVEL is master (priority 100)" in result.output
    assert "higher primary address wins: LVS_DEVEL (192.0.2.12)" in result.output


def test_excluded_addresses_that_differ_are_an_error(tmp_path: Path) -> None:
    """They are never advertised, so the peers do not notice; after a failover the new
    master holds other addresses than the old one did."""
    extra = "    excluded_addresses: [{}]\n"
    files = _files(
        tmp_path,
        {"name": "lb1", "priority": 150, "extra": extra.format("2001:db8::5/64")},
        {"name": "lb2", "priority": 120, "extra": extra.format("2001:db8::6/64")},
    )
    result = CliRunner().invoke(main, ["check-config", *files])
    assert result.exit_code == 1
    assert (
        "cluster: ERROR: VRID 51 (v4): excluded_addresses differs: lb1 ['2001:db8::5/64'], "
        "lb2 ['2001:db8::6/64']" in result.output
    )
