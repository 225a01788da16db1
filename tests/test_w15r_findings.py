"""Findings of the adversarial review w15r (issue 15): keepalived.conf files where `vrrpd
convert` differs from what Keepalived 2.2.7 does with the same file (seen with the oracle
harness of tests/lab/test_oracle.py, Keepalived's SIGUSR1 dump in a namespace). Each test
is marked xfail(strict) until a fixer makes it pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrrpd.config.loader import loads
from vrrpd.convert import convert


def _conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return path


def _instance(text: str, body: str) -> str:
    return (
        text
        + "vrrp_instance VI_1 {\n    interface eth0\n"
        + body
        + ("    virtual_ipaddress {\n        192.0.2.37/24\n    }\n}\n")
    )


@pytest.mark.parametrize(
    "text",
    [
        # semicolons after values (copied from shell heredocs)
        "vrrp_instance VI_1 {\n    interface eth0;\n    virtual_router_id 51;\n"
        "    priority 100;\n    virtual_ipaddress {\n        192.0.2.100;\n    }\n}\n",
        # an undefined variable where a number goes
        _instance("", "    virtual_router_id 25\n    priority $PRIO\n"),
        # a shell-style default left for envsubst
        "vrrp_script chk {\n    script /bin/true\n    interval ${CHECK_INTERVAL:-7}\n}\n"
        + _instance("", "    virtual_router_id 7\n    track_script {\n        chk\n    }\n"),
        # Keepalived 2.x sequences (~SEQ)
        "~SEQ(ID, 1, 3)\n" + _instance("", "    virtual_router_id ${ID}\n"),
    ],
    ids=["semicolons", "undefined-var", "shell-default", "seq"],
)
def test_a_value_that_is_not_a_number_is_an_error_naming_the_line_not_a_traceback(
    tmp_path: Path, text: str
) -> None:
    try:
        conversion = convert(_conf(tmp_path, text))
    except ValueError as error:  # today: int('51;') escapes as a traceback
        pytest.fail(f"traceback instead of FILE:LINE: {error}")
    assert conversion.errors or conversion.warnings
    assert any("keepalived.conf:" in m for m in conversion.errors + conversion.warnings)


def test_state_master_without_priority_is_priority_255_as_keepalived(tmp_path: Path) -> None:
    """Keepalived 2.2.7 dump: Priority = 255 (an instance with `state MASTER` and no
    `priority` is the address owner); the converted file says 100."""
    conversion = convert(
        _conf(tmp_path, _instance("", "    state MASTER\n    virtual_router_id 37\n"))
    )
    inst = conversion.document["instances"]["VI_1"]
    assert inst["priority"] == 255


@pytest.mark.parametrize(
    "body",
    [
        "    state MASTER\n    nopreempt\n    virtual_router_id 33\n    priority 150\n",
        "    state BACKUP\n    nopreempt\n    virtual_router_id 20\n    priority 255\n",
    ],
    ids=["state-master", "priority-255"],
)
def test_nopreempt_that_keepalived_clears_stays_preempt(tmp_path: Path, body: str) -> None:
    """Keepalived: 'nopreempt is incompatible with priority 255. resetting nopreempt', and
    with initial state MASTER nopreempt is cleared too (dump: Preempt = enabled)."""
    conversion = convert(_conf(tmp_path, _instance("", body)))
    inst = conversion.document["instances"]["VI_1"]
    assert inst.get("preempt", True) is True


def test_preempt_delay_with_state_master_is_cleared_as_keepalived(tmp_path: Path) -> None:
    """Keepalived: 'preempt delay will not work with initial state MASTER - clearing'."""
    body = "    state MASTER\n    virtual_router_id 24\n    priority 150\n    preempt_delay 300\n"
    conversion = convert(_conf(tmp_path, _instance("", body)))
    assert conversion.document["instances"]["VI_1"].get("preempt_delay", 0) == 0


def test_top_level_track_file_is_read_as_keepalived_reads_it(tmp_path: Path) -> None:
    """`track_file NAME { file PATH; weight -20 }` at top level (the 2.0 spelling, still read
    by 2.2.7: dump tracks /run/keepalive_down weight -20). Converted today: a warning
    'vrrpd has no equivalent' and a tracker of a file named `force_down`, weight 1."""
    text = 'track_file force_down {\n    file "/var/run/keepalive_down"\n    weight -20\n}\n'
    body = (
        "    virtual_router_id 51\n    priority 101\n    track_file {\n        force_down\n    }\n"
    )
    conversion = convert(_conf(tmp_path, _instance(text, body)))
    files = conversion.document["instances"]["VI_1"]["track_files"]
    assert files == [{"path": "/var/run/keepalive_down", "weight": -20}]


@pytest.mark.parametrize(
    ("text", "body"),
    [
        # unicast addresses written with a prefix: Keepalived uses 192.0.2.1
        ("", "    virtual_router_id 10\n    unicast_src_ip 192.0.2.1/24\n"
             "    unicast_peer {\n        192.0.2.91/24\n    }\n"),
        # VRRPv2 advert_int 0.5: Keepalived rounds to 1 s
        ("", "    virtual_router_id 26\n    advert_int 0.5\n"),
        # VRRPv3 with authentication: Keepalived ignores the authentication
        ("global_defs {\n    vrrp_version 3\n}\n",
         "    virtual_router_id 29\n    authentication {\n        auth_type PASS\n"
         "        auth_pass secret\n    }\n"),
        # a check weight of 300: Keepalived clamps it to 253
        ("vrrp_script chk {\n    script /bin/true\n    weight 300\n}\n",
         "    virtual_router_id 31\n    track_script {\n        chk\n    }\n"),
    ],
    ids=["unicast-prefix", "v2-half-second", "v3-auth", "weight-300"],
)  # fmt: skip
def test_what_keepalived_accepts_converts_to_a_file_vrrpd_loads(
    tmp_path: Path, text: str, body: str
) -> None:
    """convert exits 0 on these and writes YAML that check-config then rejects."""
    conversion = convert(_conf(tmp_path, _instance(text, body)))
    assert not conversion.errors
    loads(conversion.yaml(), "converted.yaml")


def test_unbalanced_braces_are_said(tmp_path: Path) -> None:
    """Keepalived -t: 'There are 1 missing '}'s or extra '{'s'; convert says nothing."""
    text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 32\n" \
        "    virtual_ipaddress {\n        192.0.2.32/24\n}\n"  # fmt: skip
    conversion = convert(_conf(tmp_path, text))
    assert any("}" in m for m in conversion.warnings + conversion.errors)


def test_brace_include_as_keepalived_globs_it(tmp_path: Path) -> None:
    """Keepalived globs with GLOB_BRACE (its manual: csh style brace expressions)."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "prio.conf").write_text("$PRIO=150\n")
    (tmp_path / "d" / "vips.conf").write_text("$VRID=25\n")
    text = "include ${_PWD}/d/{prio,vips}.conf\n" + _instance(
        "", "    virtual_router_id $VRID\n    priority $PRIO\n"
    )
    conversion = convert(_conf(tmp_path, text))
    inst = conversion.document["instances"]["VI_1"]
    assert (inst["vrid"], inst["priority"]) == (25, 150)


def test_check_config_on_a_keepalived_conf_with_a_bad_number_fails_cleanly(
    tmp_path: Path,
) -> None:
    """`vrrpd check-config keepalived.conf` (converted on the fly) dies with a ValueError
    traceback on `virtual_router_id 51;` instead of exit 1 with FILE:LINE."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    text = _instance("", "    virtual_router_id 51;\n")
    result = CliRunner().invoke(main, ["check-config", str(_conf(tmp_path, text))])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert "keepalived.conf:3" in result.output


def test_check_config_names_the_keepalived_conf_line_not_the_converted_yaml(
    tmp_path: Path,
) -> None:
    """An error in what convert wrote is reported at the converted YAML's line and column
    ('keepalived.conf (as `vrrpd convert` writes it):17:21'), a line the operator cannot
    find in the file they gave; the issue promises the keepalived.conf's FILE:LINE."""
    from click.testing import CliRunner

    from vrrpd.cli import main

    # (the review's example, a unicast prefix, converts since finding 6 was fixed; a VRID
    # out of range is refused by Keepalived too: "VRID '300' not valid")
    body = "    priority 100\n    virtual_router_id 300\n"
    result = CliRunner().invoke(main, ["check-config", str(_conf(tmp_path, _instance("", body)))])
    assert f"{tmp_path}/keepalived.conf:4:" in result.output


def test_a_dollar_in_the_password_is_not_echoed_in_a_warning(tmp_path: Path) -> None:
    """`auth_pass Tru$tNo1` (kubeadm HA guides): Keepalived keeps it as written (dump:
    Password = Tru$tNo1), and so does the file, but the undefined-variable warning repeats
    the secret on stderr, which the migration guide promises never happens."""
    body = (
        "    virtual_router_id 51\n    authentication {\n        auth_type PASS\n"
        "        auth_pass Tru$tNo1\n    }\n"
    )
    conversion = convert(_conf(tmp_path, _instance("", body)))
    assert conversion.document["instances"]["VI_1"]["authentication"]["password"] == "Tru$tNo1"  # noqa: S105
    assert not any("tNo1" in w for w in conversion.warnings)


def test_global_garp_keys_are_not_explained_as_mail_or_snmp(tmp_path: Path) -> None:
    """`vrrp_garp_lower_prio_repeat`, `vrrp_garp_master_refresh_repeat`, `vrrp_garp_interval`
    are gratuitous-ARP behaviour, not 'mail, SNMP, DBus and process tuning' (issue 15
    item 11 named the same fault for max_auto_priority and default_interface)."""
    text = "global_defs {\n    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_interval 0\n}\n"
    conversion = convert(_conf(tmp_path, _instance(text, "    virtual_router_id 23\n")))
    garp = [w for w in conversion.warnings if "garp" in w]
    assert garp
    assert not any("mail" in w for w in garp)


@pytest.mark.parametrize(
    "args", [["-H", "127.0.0.1", "-p", "0"], ["-H", "127.0.0.1", "-p", "99999"]]
)
@pytest.mark.parametrize("script", ["check_tcp.sh", "check_http.sh"])
def test_a_port_out_of_range_is_unknown_not_critical(script: str, args: list[str]) -> None:
    """monitoring-plugins: a usage error is 3/UNKNOWN; today port 0 or 99999 is
    'CRITICAL: cannot connect' (exit 2), which a check turns into a failover."""
    import subprocess

    path = Path(__file__).parent.parent / "scripts" / script
    result = subprocess.run(["sh", str(path), *args], capture_output=True, timeout=10, check=False)
    assert result.returncode == 3


def test_a_notify_with_shell_syntax_runs_as_keepalived_runs_it(tmp_path: Path) -> None:
    """Keepalived 2.2.7 execs notify commands without a shell: seen in a namespace,
    `notify_master "/x/rec.sh add 192.0.2.77 && /bin/touch /x/touched"` ran rec.sh with 5
    arguments (`&&` among them) and never touched the file. The converted hook goes through
    /bin/sh -c (vrrpd/adapters/scripts.py argv), so vrrpd also runs the second command."""
    from vrrpd.adapters.scripts import argv

    body = (
        '    virtual_router_id 77\n    notify_master "/x/rec.sh add 192.0.2.77 && '
        '/bin/touch /x/touched"\n'
    )
    conversion = convert(_conf(tmp_path, _instance("", body)))
    command = conversion.document["instances"]["VI_1"]["notify"]["master"]
    assert argv(command) == ["/x/rec.sh", "add", "192.0.2.77", "&&", "/bin/touch", "/x/touched"]


def test_words_after_an_unquoted_notify_script_are_its_user_not_its_arguments(
    tmp_path: Path,
) -> None:
    """keepalived.conf(5): `notify_master SCRIPT [username [groupname]]`; Keepalived 2.2.7
    said "Script user 'two words' does not exist ... ignoring" for `notify_backup
    /x/rec.sh "two words" x`. convert joins them into the command: vrrpd would run
    `/x/master.sh www-data` (an argument) as root instead of master.sh as www-data."""
    body = "    virtual_router_id 77\n    notify_master /x/master.sh www-data\n"
    conversion = convert(_conf(tmp_path, _instance("", body)))
    command = conversion.document["instances"]["VI_1"]["notify"]["master"]
    assert command == "/x/master.sh" or any("www-data" in w for w in conversion.warnings)


def test_the_generic_notify_gets_keepalived_arguments_also_through_the_shell() -> None:
    """A generic `notify` hook gets ``INSTANCE NAME STATE PRIORITY`` appended; when its
    command has shell syntax it runs as ``/bin/sh -c COMMAND INSTANCE NAME ...``, where
    the shell makes them $0..$3 and the command never sees them."""
    import asyncio

    from vrrpd.adapters.scripts import run

    outcome = asyncio.run(
        run("/bin/echo hook >/dev/stdout", timeout=5, args=("INSTANCE", "VI_1", "MASTER", "100"))
    )
    assert outcome.output.split() == ["hook", "INSTANCE", "VI_1", "MASTER", "100"]


@pytest.mark.parametrize("script", ["check_tcp.sh", "check_http.sh"])
def test_the_highest_port_is_still_a_port(script: str) -> None:
    """The bound of finding 12: 65535 is tried (CRITICAL: nothing listens), not UNKNOWN."""
    import subprocess

    path = Path(__file__).parent.parent / "scripts" / script
    args = ["-H", "127.0.0.1", "-p", "65535", "-t", "1"]
    result = subprocess.run(["sh", str(path), *args], capture_output=True, timeout=10, check=False)
    assert result.returncode == 2
