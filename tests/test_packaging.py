"""The wheel carries the scripts library to share/vrrpd/scripts, executable; the .deb
is built for the python3 it is built on, ships no scapy, and its commands run without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


# ---------------------------------------------------------------- the .deb (make deb)

RUN_WITHOUT_SCAPY = """
import sys
from vrrpd.cli import main
try:
    main(sys.argv[1:], prog_name="vrrpd")
except SystemExit as leaving:
    code = leaving.code
else:
    code = 0
assert not [m for m in sys.modules if m.split(".")[0] == "scapy"], "scapy was imported"
sys.exit(code)
"""


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package exactly as `make deb` builds it, unpacked (built from a copy: the
    build writes build/ and *.egg-info next to the sources)."""
    work = tmp_path_factory.mktemp("deb")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*JUNK))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--disable-pip-version-check", "-w", str(work), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = work.glob("vrrpd-*.whl")
    built = subprocess.run(
        [str(ROOT / "packaging/deb/build"), str(wheel), str(work / "out")],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    package = Path(built.stdout.strip().splitlines()[-1])
    unpacked = work / "root"
    subprocess.run(["dpkg-deb", "-R", str(package), str(unpacked)], check=True)
    return unpacked


def test_the_package_depends_on_the_python3_it_was_built_with(deb: Path) -> None:
    built_with = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print(*sys.version_info[:2])"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    major, minor = int(built_with[0]), int(built_with[1])
    control = (deb / "DEBIAN/control").read_text()
    [depends] = [line for line in control.splitlines() if line.startswith("Depends:")]
    assert f"python3 (>= {major}.{minor}~)" in depends
    assert f"python3 (<< {major}.{minor + 1})" in depends
    assert [p.name for p in (deb / "opt/vrrpd/lib").iterdir()] == [f"python{major}.{minor}"]


def test_the_unit_is_under_usr_lib_and_nothing_stray_is_shipped(deb: Path) -> None:
    assert (deb / "usr/lib/systemd/system/vrrpd.service").is_file()
    assert not (deb / "lib").exists(), "aliased location since the /usr merge"
    assert not list((deb / "opt/vrrpd").rglob(".gitignore"))
    assert not list((deb / "opt/vrrpd").rglob("_yaml*.so")), "an embedded libyaml"
    overrides = (deb / "usr/share/lintian/overrides/vrrpd").read_text()
    assert not re.search(r"python3\.\d", overrides), "overrides keyed to one python3.X"


def test_the_package_ships_no_scapy_and_every_shipped_command_runs_without_it(
    deb: Path, tmp_path: Path
) -> None:
    [site] = (deb / "opt/vrrpd/lib").glob("python3.*/site-packages")
    assert (site / "vrrpd").is_dir()
    assert not [p.name for p in site.iterdir() if p.name.lower().startswith("scapy")]
    python = str(deb / "opt/vrrpd/bin/python3")
    keepalived = ROOT / "tests/data/keepalived/main.conf"
    # The shipped config runs checks as the user the postinst creates; this build host
    # has not run the postinst, so check the same file with a user every host has.
    shipped = (deb / "etc/vrrpd/vrrpd.yaml").read_text()
    assert "script_user: vrrpd-script" in shipped
    assert "vrrpd-script" in (deb / "DEBIAN/postinst").read_text()
    config = tmp_path / "vrrpd.yaml"
    config.write_text(shipped.replace("script_user: vrrpd-script", "script_user: nobody"))
    for argv in (
        ["--help"],
        ["--version"],
        ["check-config", str(config)],
        ["convert", str(keepalived)],
        ["lab", "demo", "--help"],
        ["sniff", "--help"],
    ):
        done = subprocess.run(
            [python, "-I", "-c", RUN_WITHOUT_SCAPY, *argv],
            capture_output=True, text=True, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, f"vrrpd {' '.join(argv)}: {done.stdout}{done.stderr}"


def test_the_frr_example_for_announce_bgp_is_shipped_beside_the_docs(deb: Path) -> None:
    """Issue 19: the package ships the FRR snippet docs/bgp.md explains, as an example
    (never in /etc/frr, which belongs to the frr package)."""
    example = deb / "usr/share/doc/vrrpd/examples/frr-vrrpd-bgp.conf"
    assert example.read_text() == (ROOT / "etc/frr/vrrpd-bgp.conf.example").read_text()
    assert "bgp network import-check" in example.read_text()
    assert not (deb / "etc/frr").exists()


def test_the_config_file_is_installed_readable_by_root_alone(deb: Path) -> None:
    """It holds VRRPv2 passwords: 0640 from the moment dpkg unpacks it, not only once the
    postinst has run (an interrupted install must not leave it world-readable)."""
    assert (deb / "etc/vrrpd/vrrpd.yaml").stat().st_mode & 0o777 == 0o640


RUN_IMPORTS = (
    "import sys, vrrpd.cli, vrrpd.config.loader, vrrpd.logsetup, vrrpd.driver.agent; "
    "print(*sorted(sys.modules))"
)
"""What `vrrpd run` imports before the agent starts (see ``cli.run``)."""


def test_the_agent_imports_neither_the_lab_nor_the_tools_it_does_not_run() -> None:
    """Every module imported stays resident for the agent's lifetime (RSS, issue 17):
    the lab, scapy, the offline tools and the package metadata (`--version`) are not."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_IMPORTS], check=True, capture_output=True, text=True
    )
    imported = set(done.stdout.split())
    unwanted = ("vrrpd.lab", "vrrpd.convert", "vrrpd.sim", "vrrpd.sniff", "vrrpd.rehearse",
                "vrrpd.drill", "vrrpd.cluster", "scapy", "matplotlib", "importlib.metadata")  # fmt: skip
    found = sorted(m for m in imported for u in unwanted if m == u or m.startswith(u + "."))
    assert not found
