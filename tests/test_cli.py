"""The command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from vrrpd.cli import main


def test_simulate_prints_the_failover_timeline() -> None:
    result = CliRunner().invoke(main, ["simulate"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "web: BACKUP → MASTER (prio 100): master down timer expired: no advert from 192.0.2.11 for 3.609s"
        in out
    )
    assert "priority check chk_http down (weight -60): 150 → 90" in out
    assert "master 192.0.2.11 released (priority 0); skew time 0.609s elapsed" in out
    rows = {
        line.split("  ")[1].strip(): line.split()[-2:]
        for line in out.splitlines()
        if line.startswith("  ") and "s  " not in line[:12]
    }
    assert rows["master crash (lb1 killed silently)"] == ["3.033", "s"]
    assert rows["graceful stop of lb1 (priority 0)"] == ["0.609", "s"]


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vrrpd", "--help"], capture_output=True, text=True, check=True
    )
    assert "simulate" in out.stdout


def test_check_config_ok(tmp_path: Path) -> None:
    example = (
        Path("etc/vrrpd.yaml")
        .read_text()
        .replace("/usr/share/vrrpd/scripts", str(Path("scripts").resolve()))
    )
    (tmp_path / "vrrpd.yaml").write_text(example)
    result = CliRunner().invoke(main, ["check-config", str(tmp_path / "vrrpd.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{tmp_path}/vrrpd.yaml: OK: 1 instance(s): web (VRID 51 on eth0, IPv4 VRRPv3, priority 150); "
        "1 script(s), 0 sync group(s)\n"
    )


def test_check_config_warns_of_an_empty_instances(tmp_path: Path) -> None:
    """A failed `convert -o` used to leave `instances: {}`, which passed as OK: an agent
    that, reloaded, drops every VIP it held."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("global: {router_id: lb1}\ninstances: {}\n")
    result = CliRunner().invoke(main, ["check-config", str(empty)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{empty}:2:1: instances: warning: no instance: an idle agent, holding no VIP and "
        "answering no election until a reload adds one; a node meant to be master or backup "
        "needs its instances here"
    ]


def test_check_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "instances:\n  web:\n    interface: eth0\n    vrid: 300\n    virtual_addresses: [192.0.2.1/24]\n    prio: 1\n"
    )
    result = CliRunner().invoke(main, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}:4:11: instances.web.vrid: must be 1..255 (got 300)",
        f"{bad}:6:5: instances.web.prio: unknown key; did you mean 'priority'?",
    ]


def test_version_names_python_and_the_dependencies() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.output.startswith("vrrpd 0.1.0, Python 3.")
    for name in ("pyroute2", "click", "PyYAML", "psutil"):
        assert f", {name} " in result.output


def test_check_config_takes_c_and_standard_input() -> None:
    text = "instances: {web: {interface: eth0, vrid: 51, virtual_addresses: [192.0.2.1/24]}}\n"
    result = CliRunner().invoke(main, ["check-config", "-"], input=text)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<stdin>: OK: 1 instance(s)")
    bad = CliRunner().invoke(main, ["check-config", "-c", "-"], input="global: {}\n")
    assert bad.exit_code == 1


def test_commands_default_to_the_packaged_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1
    assert result.output.startswith("/etc/vrrpd/vrrpd.yaml:1:1: cannot read")
    help_text = " ".join(CliRunner().invoke(main, ["run", "--help"]).output.split())
    assert "[default: /etc/vrrpd/vrrpd.yaml]" in help_text


def test_status_and_reload_find_the_socket_in_the_config_even_a_broken_one(
    tmp_path: Path,
) -> None:
    from vrrpd.cli import socket_of

    good = tmp_path / "good.yaml"
    good.write_text("global: {control_socket: /run/x/agent.sock}\ninstances: {}\n")
    assert socket_of(str(good)) == "/run/x/agent.sock"
    broken = tmp_path / "broken.yaml"
    broken.write_text("global: {control_socket: /run/x/agent.sock}\ninstances: {web: {vrid: 0\n")
    assert socket_of(str(broken)) == "/run/vrrpd/vrrpd.sock"  # unreadable YAML: the default
    half = tmp_path / "half.yaml"
    half.write_text("global: {control_socket: /run/y.sock}\ninstances: {web: {vrid: 0}}\n")
    assert socket_of(str(half)) == "/run/y.sock"  # invalid but readable: its socket
    result = CliRunner().invoke(main, ["status", "-c", str(half)])
    assert result.exit_code == 1
    assert "cannot reach vrrpd at /run/y.sock" in result.output


def test_config_messages_carry_their_priority_when_stderr_is_the_journal(tmp_path: Path) -> None:
    """ExecStartPre and ExecStart print the file's warnings and errors before logging is
    set up: under systemd they still land at warning / error (`journalctl -p warning`)."""
    import os
    import subprocess
    import sys

    idle = tmp_path / "idle.yaml"
    idle.write_text("global: {router_id: x}\ninstances: {}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("global: {router_id: x}\n")
    for config, mark, code in ((idle, "<4>", 0), (broken, "<3>", 1)):
        err = tmp_path / f"{config.stem}.err"
        with err.open("w") as stream:
            info = os.fstat(stream.fileno())
            env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
            done = subprocess.run(
                [sys.executable, "-m", "vrrpd", "check-config", str(config)],
                stderr=stream,
                stdout=subprocess.DEVNULL,
                env=env,
                check=False,
            )
        assert done.returncode == code
        assert err.read_text().startswith(f"{mark}{config}:"), err.read_text()
