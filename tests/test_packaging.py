"""The wheel carries the scripts library to share/vrrpd/scripts, executable."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
JUNK = (
    ".venv",
    ".git",
    "build",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".coverage*",
)


def test_wheel_installs_the_scripts_under_share(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*JUNK))
    pip = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "-w", str(tmp_path), str(source)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("vrrpd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = {n.rsplit("/", 1)[1] for n in names if "/data/share/vrrpd/scripts/" in n}
        assert shipped == {p.name for p in (ROOT / "scripts").glob("*.sh")}
        mode = (
            archive.getinfo(next(n for n in names if n.endswith("/check_http.sh"))).external_attr
            >> 16
        )
    assert mode & 0o111, "scripts must stay executable"
    assert "vrrpd/core/node.py" in names
