"""Booted Debian 12 machines for the system test: systemd as PID 1, our .deb installed.

* One root per package list, built once with debootstrap and cached under /var/tmp
  (about a minute; `make test` installs debootstrap and systemd-container).
* Each machine boots that root with ``--volatile=overlay`` (writes go to a tmpfs and
  vanish with the machine: two machines share one root and leave nothing behind),
  inside a lab node's network namespace (nothing appears in the host's), with
  ``--register=no --keep-unit``: this host runs no systemd of its own.
* Stopped by the PID we started (SIGTERM: a clean poweroff; then SIGKILL of the
  machine's PID 1, which ends every process of its PID namespace).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from vrrpd.lab import LabError, wait_for

PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "nginx-light",
    "curl",
    "iproute2",
    "procps",
)
"""What a minimal load balancer has before vrrpd: the .deb's dependencies, so `apt
install ./vrrpd_*.deb` needs no network inside the machine."""

PROJECT = Path(__file__).resolve().parents[2]


def _mirror() -> str:
    """The Debian mirror this host's apt uses (the machines get the same packages)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            if line.startswith("deb ") and "security" not in line:
                return next(w for w in line.split()[1:] if "://" in w)
    return "http://deb.debian.org/debian"


def debian_root() -> Path:
    """A Debian 12 root with systemd and nginx, built once per package list."""
    for tool, package in (("debootstrap", "debootstrap"), ("systemd-nspawn", "systemd-container")):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is missing: apt-get install {package} (make test installs it)")
    tag = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:10]
    # Root-owned and cached across runs on purpose (rebuilding costs a minute).
    root = Path(f"/var/tmp/vrrpd-system-root-{tag}")  # noqa: S108
    if (root / ".vrrpd-ready").exists():
        return root
    building = Path(f"{root}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    log = Path(f"{building}.log")
    with log.open("w") as out:
        done = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                "bookworm",
                str(building),
                _mirror(),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise LabError(f"debootstrap of the machines' root failed: see {log}")
    log.unlink()
    # The host's name would otherwise be every machine's (nspawn --hostname sets theirs).
    (building / "etc/hostname").unlink(missing_ok=True)
    (building / ".vrrpd-ready").touch()
    try:
        building.rename(root)
    except OSError:  # another run finished first: use its root
        shutil.rmtree(building, ignore_errors=True)
    return root


def build_deb(outdir: Path) -> Path:
    """The package exactly as `make deb` builds it (wheel, then packaging/deb/build)."""
    python = PROJECT / ".venv/bin/python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(outdir),
            str(PROJECT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = outdir.glob("vrrpd-*.whl")
    built = subprocess.run(
        [str(PROJECT / "packaging/deb/build"), str(wheel), str(outdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(built.stdout.strip().splitlines()[-1])


def _cgroups_for_nspawn() -> list[str]:
    """What to run nspawn under so it finds the cgroup hierarchies.

    A chroot (the fresh-machine test) sees /sys without the cgroup file systems mounted
    below it, and nspawn then fails ("Failed to determine whether the unified cgroups
    hierarchy is used"). There nspawn runs in a mount namespace of its own with them
    mounted as the host has them (hybrid: a v1 name=systemd hierarchy beside cgroup2),
    which changes nothing outside it."""
    if os.path.ismount("/sys/fs/cgroup"):
        return []
    hybrid = ":name=systemd:" in Path("/proc/self/cgroup").read_text()
    mounts = (
        "mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup"
        " && mkdir /sys/fs/cgroup/unified /sys/fs/cgroup/systemd"
        " && mount -t cgroup2 none /sys/fs/cgroup/unified"
        " && mount -t cgroup -o none,name=systemd systemd /sys/fs/cgroup/systemd"
        if hybrid
        else "mount -t cgroup2 none /sys/fs/cgroup"
    )
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'{mounts} && exec "$@"',
        "sh",
    ]


class Machine:
    """A booted container: ``run`` is a command inside it, as its root."""

    def __init__(self, name: str, root: Path, namespace: str, share: Path, log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.nspawn = subprocess.Popen(
                [
                    *_cgroups_for_nspawn(),
                    "systemd-nspawn",
                    "--quiet",
                    f"--directory={root}",
                    "--volatile=overlay",
                    "--boot",
                    "--register=no",
                    "--keep-unit",
                    f"--network-namespace-path=/run/netns/{namespace}",
                    # A real machine's root has it; nspawn grants it only with a network
                    # of its own making. The unit then narrows it down as on any host.
                    "--capability=CAP_NET_ADMIN",
                    f"--machine={namespace}",
                    f"--hostname={name}",
                    f"--bind-ro={share}:/mnt/share",
                    "--console=passive",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid1 = 0
        try:
            self.pid1 = wait_for(self._init, timeout=30, interval=0.05, what=f"{name}'s PID 1")
            state = wait_for(self._booted, timeout=60, interval=0.2, what=f"{name} to boot")
        except LabError as error:
            self.stop()
            raise LabError(f"{error}: {self.log.read_text()[-2000:]}") from None
        except BaseException:
            self.stop()
            raise
        if state not in ("running", "degraded"):
            self.stop()
            raise LabError(f"{name} booted {state}: {self.log.read_text()[-2000:]}")

    def _init(self) -> int:
        if self.nspawn.poll() is not None:
            raise LabError(f"systemd-nspawn exited: {self.log.read_text()[-2000:]}")
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        with contextlib.suppress(OSError):
            for pid in children.read_text().split():
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return int(pid)
        return 0

    def _booted(self) -> str:
        state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
        # offline: systemctl cannot reach PID 1 yet (it has not opened its socket)
        return "" if state in ("offline", "initializing", "starting", "") else state

    def run(
        self, *argv: str, check: bool = True, timeout: float = 60, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            # -r -w: its root and working directory too (inside a chroot, entering the
            # mount namespace alone leaves the caller at the namespace's own root).
            ["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise LabError(
                f"{self.name}: {' '.join(argv)} exited {done.returncode}: {done.stderr or done.stdout}"
            )
        return done

    def write(self, path: str, text: str) -> None:
        self.run("sh", "-c", f"cat > {path}", stdin=text)

    def stop(self) -> None:
        """Power off (SIGTERM to nspawn), then make sure: SIGKILL to PID 1 and nspawn."""
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            while self.nspawn.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
        for pid in (self.pid1, self.nspawn.pid):
            if pid and self.nspawn.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.nspawn.wait(10)
