"""`vrrpd lab drill a.yaml b.yaml`: the operator's own files with real agents."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from vrrpd.lab.peers import vrrpd_binary

pytestmark = pytest.mark.netns

NODE = """\
global: {{router_id: {name}, script_security: false}}  # the check script is not on this host
scripts:
  chk_nginx: {{command: /usr/share/vrrpd/scripts/check_http.sh http://127.0.0.1/, interval: 0.5, fall: 1, rise: 1, weight: -60}}
instances:
  web:
    interface: ens3
    vrid: 51
    priority: {priority}
    advert_interval: 0.1
    virtual_addresses: [192.0.2.100/24]
    track_scripts: [chk_nginx]
    notify: {{master: /etc/vrrpd/notify.sh}}
"""


def test_the_drills_run_on_real_agents_and_say_what_the_lab_replaced(tmp_path: Path) -> None:
    files = []
    for name, priority in (("lb1", 150), ("lb2", 120)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(NODE.format(name=name, priority=priority))
        files.append(str(path))
    done = subprocess.run([vrrpd_binary(), "lab", "drill", *files], capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "note: lb1: web runs on the lab's eth0 (was ens3)" in out
    assert "note: lb1: check chk_nginx is a stand-in (fails only when a drill says so)" in out
    assert "master after the election: lb1" in out
    gaps = dict(re.findall(r"^  (\S.*?)\s{2,}\s*([\d.]+) ms$", out, re.M))
    assert float(gaps["check chk_nginx fails on lb1"]) < 100  # fast preemption, make-before-break
    assert float(gaps["lb2 crashes (frozen, killed)"]) < 20  # the backup: nothing to lose
    assert float(gaps["lb1 crashes (frozen, killed)"]) < 600  # Master_Down_Interval at 0.1 s
    assert re.search(r"lb1: \d+ calls", out)
