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
    assert web["preempt"] is False
    assert web["authentication"] == {"type": "pass", "password": "s3cret"}
    assert web["virtual_addresses"] == [
        {"address": "192.0.2.100/24", "dev": "eth0", "label": "eth0:web"},
        "192.0.2.101/32",
    ]
    assert web["track_scripts"] == [{"name": "chk_nginx", "weight": -50}]
    assert web["track_files"] == [{"path": "/var/lib/vrrpd/maintenance", "weight": -100}]
    assert web["track_processes"] == [{"name": "haproxy", "weight": -60, "quorum": 2}]
    assert web["garp"] == {"delay": 2.0, "repeat": 3}
    assert web["notify"] == {"master": "/etc/vrrpd/notify.sh master", "any": "/etc/vrrpd/notify.sh"}
    web6 = doc["instances"]["web6"]
    assert (web6["version"], web6["advert_interval"], web6["use_vmac"]) == (3, 0.5, True)
    assert web6["unicast_peers"] == ["fe80::12"]
    assert doc["sync_groups"]["front"] == {
        "instances": ["web", "web6"],
        "notify": {"fault": "/etc/vrrpd/notify.sh"},
    }
    where = str(DATA / "main.conf")
    assert result.warnings == [
        f"{where}:7: global_defs notification_email not carried over (mail, SNMP and the like are not vrrpd's; its metrics and notify hooks are)",
        f"{where}:24: state MASTER not carried over: vrrpd starts every instance as BACKUP and elects; the highest priority becomes MASTER",
        f"{where}:53: vrrp_instance smtp_alert not carried over",
        f"{where}:68: use_vmac vrrp61: vrrpd names the macvlan itself (vrrp.VRID)",
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
    assert "auth_pass: Keepalived uses only its first 8 bytes; so does vrrpd ('mypasswo')" in text
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
