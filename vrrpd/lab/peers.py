"""Config files and start commands for lab agents: vrrpd and Keepalived.

Both are described by one ``Peer`` so a test can swap one for the other and
check that the cluster behaves the same.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vrrpd.lab import Lab, LabError, Process


@dataclass(frozen=True)
class Peer:
    """One VRRP instance on one lab node, as either implementation would run it."""

    node: str
    priority: int
    vips: tuple[str, ...] = ("192.0.2.100/24",)
    vrid: int = 51
    version: int = 3
    interval: float = 0.1
    preempt: bool = True
    preempt_delay: float = 0.0
    password: str | None = None
    unicast_peers: tuple[str, ...] = ()
    unicast_source: str | None = None
    use_vmac: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    """More instance keys, as YAML text (``{"track_scripts": "[chk]"}``)."""
    scripts: dict[str, str] = field(default_factory=dict)
    """Check name -> its settings as a YAML flow mapping."""
    instances: tuple[tuple[str, int, str], ...] = ()
    """Further instances (name, VRID, VIP) sharing this one's settings, for sync groups."""
    sync_group: str | None = None
    """Put every instance of this peer in one sync group of this name."""
    realtime: bool = False
    """Keepalived only: its VRRP process on a real-time scheduling class
    (``vrrp_rt_priority``), so a busy machine does not make its timers late."""


def vrrpd_binary() -> str:
    """The vrrpd of this checkout's venv (what `make venv` built), else the one on PATH."""
    local = Path(sys.executable).parent / "vrrpd"
    found = str(local) if local.exists() else shutil.which("vrrpd")
    if not found:
        raise LabError("vrrpd is not installed: run `make venv`")
    return found


def vrrpd_yaml(lab: Lab, peer: Peer) -> str:
    base = lab.workdir / peer.node
    lines = [
        "global:",
        f"  router_id: {peer.node}",
        f"  control_socket: {base}.sock",
        f"  state_file: {base}.state.json",
        "  script_user: root",
    ]
    if peer.scripts:
        lines.append("scripts:")
        lines += [f"  {name}: {settings}" for name, settings in peer.scripts.items()]
    lines.append("instances:")
    for name, vrid, vip in (("web", peer.vrid, peer.vips[0]), *peer.instances):
        lines += _instance_yaml(
            peer, name, vrid, (vip, *peer.vips[1:]) if name == "web" else (vip,)
        )
    if peer.sync_group:
        names = ["web", *[i[0] for i in peer.instances]]
        lines += ["sync_groups:", f"  {peer.sync_group}: {{instances: [{', '.join(names)}]}}"]
    return "\n".join(lines) + "\n"


def _instance_yaml(peer: Peer, name: str, vrid: int, vips: tuple[str, ...]) -> list[str]:
    lines = [
        f"  {name}:",
        "    interface: eth0",
        f"    vrid: {vrid}",
        f"    priority: {peer.priority}",
        f"    version: {peer.version}",
        f"    advert_interval: {peer.interval:g}",
        f"    preempt: {'true' if peer.preempt else 'false'}",
        f"    preempt_delay: {peer.preempt_delay:g}",
        f"    virtual_addresses: [{', '.join(vips)}]",
        "    garp: {delay: 1, repeat: 2}",
    ]
    if peer.unicast_peers:
        lines.append(f"    unicast_peers: [{', '.join(peer.unicast_peers)}]")
    if peer.unicast_source:
        lines.append(f"    unicast_source: {peer.unicast_source}")
    if peer.password:
        lines.append(f"    authentication: {{type: pass, password: {peer.password}}}")
    if peer.use_vmac:
        lines.append("    use_vmac: true")
    lines += [f"    {k}: {v}" for k, v in peer.extra.items()]
    return lines


def start_nginx(lab: Lab, node: str, upstreams: Sequence[str] = ()) -> Process:
    """nginx on port 80 of the node (its own files, in the workdir).

    Without ``upstreams`` it serves "served by NODE". With them it is a load balancer
    as our users run it: round-robin over the upstreams, the next one tried on an error
    or timeout (``proxy_next_upstream``), ``X-Served-By: NODE`` on every answer, and
    ``/health`` answered locally for check_http."""
    root = lab.workdir / f"{node}-www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text(f"served by {node}\n")
    site = f"root {root};"
    pool = ""
    if upstreams:
        servers = " ".join(f"server {u}:80 max_fails=1 fail_timeout=2s;" for u in upstreams)
        pool = f"  upstream apps {{ {servers} }}\n"
        site = (
            f"add_header X-Served-By {node} always; "
            'location = /health { return 200 "ok\\n"; } '
            "location / { proxy_pass http://apps; proxy_next_upstream error timeout http_502 http_503; "
            "proxy_connect_timeout 200ms; proxy_read_timeout 2s; }"
        )
    conf = lab.workdir / f"{node}-nginx.conf"
    conf.write_text(
        "user root;\n"
        "worker_processes 1;\n"
        f"pid {lab.workdir}/{node}-nginx.pid;\n"
        f"error_log {lab.workdir}/{node}-nginx.error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  access_log off;\n"
        f"{pool}"
        f"  server {{ listen 80; listen [::]:80; {site} }}\n"
        "}\n"
    )
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise LabError(
            "nginx is not installed: apt-get install nginx-light (make test installs it)"
        )
    return lab.start(node, [binary, "-c", str(conf), "-g", "daemon off;"], label="nginx")


def scripts_dir() -> Path:
    """The check scripts: this checkout's, else the package's, else the wheel's."""
    for candidate in (
        Path(__file__).resolve().parents[2] / "scripts",
        Path("/usr/share/vrrpd/scripts"),
        Path(sys.prefix) / "share/vrrpd/scripts",
    ):
        if (candidate / "check_http.sh").exists():
            return candidate
    raise LabError("the vrrpd scripts (check_http.sh) are not installed")


def start_vrrpd(
    lab: Lab,
    peer: Peer,
    *,
    verbose: bool = False,
    env: dict[str, str] | None = None,
    text: str | None = None,
) -> Process:
    """Start vrrpd for ``peer`` (or with the config ``text``, when given)."""
    path = lab.workdir / f"{peer.node}.yaml"
    path.write_text(text if text is not None else vrrpd_yaml(lab, peer))
    argv = [vrrpd_binary(), "run", "-c", str(path)] + (["-v"] if verbose else [])
    return lab.start(peer.node, argv, label="vrrpd", env=env)


def keepalived_conf(peer: Peer) -> str:
    """The same instance in keepalived.conf(5) words."""
    family_v6 = ":" in peer.vips[0]
    interval = f"{peer.interval:g}" if peer.version == 3 else str(max(1, round(peer.interval)))
    lines = [
        "global_defs {",
        f"  router_id {peer.node}",
        f"  vrrp_version {peer.version}",
        "  vrrp_garp_master_delay 1",
        "  vrrp_garp_master_repeat 2",
        *(["  vrrp_rt_priority 50"] if peer.realtime else []),
        "}",
        "vrrp_instance web {",
        "  state BACKUP",
        "  interface eth0",
        f"  virtual_router_id {peer.vrid}",
        f"  priority {peer.priority}",
        f"  advert_int {interval}",
    ]
    if not peer.preempt:
        lines.append("  nopreempt")
    if peer.preempt_delay:
        lines.append(f"  preempt_delay {peer.preempt_delay:g}")
    if peer.password:
        lines += [
            "  authentication {",
            "    auth_type PASS",
            f"    auth_pass {peer.password}",
            "  }",
        ]
    if peer.unicast_peers:
        if peer.unicast_source:
            lines.append(f"  unicast_src_ip {peer.unicast_source}")
        lines += ["  unicast_peer {", *[f"    {p}" for p in peer.unicast_peers], "  }"]
    lines += ["  virtual_ipaddress {", *[f"    {v}" for v in peer.vips], "  }"]
    if family_v6:
        lines.append("  native_ipv6")
    lines.append("}")
    return "\n".join(lines) + "\n"


def start_keepalived(lab: Lab, peer: Peer) -> Process:
    binary = shutil.which("keepalived") or "/usr/sbin/keepalived"
    if not Path(binary).exists():
        raise LabError(
            "keepalived is not installed: apt-get install keepalived (make test installs it)"
        )
    base = lab.workdir / f"{peer.node}-keepalived"
    conf = base.with_suffix(".conf")
    conf.write_text(keepalived_conf(peer))
    argv = [
        binary, "-n", "-l", "-D", "-P",
        "-f", str(conf),
        "-p", f"{base}.pid",
        "-r", f"{base}.vrrp.pid",
        "-c", f"{base}.checkers.pid",
        "--no-syslog",
    ]  # fmt: skip
    return lab.start(peer.node, argv, label="keepalived")
