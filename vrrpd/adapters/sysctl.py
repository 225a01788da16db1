"""Per-interface sysctls through /proc/sys (per network namespace), restored on exit."""

from __future__ import annotations

import contextlib
from pathlib import Path

ROOT = Path("/proc/sys/net")


class Sysctls:
    """Sets values and remembers the originals so ``restore()`` can put them back."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.saved: dict[Path, str] = {}

    def set(self, key: str, value: str) -> None:
        """``key`` like ``ipv4/conf/eth0/arp_ignore``."""
        path = self.root / key
        current = path.read_text().strip()
        if path not in self.saved:
            self.saved[path] = current
        if current != value:
            path.write_text(value)

    def restore(self) -> None:
        for path, value in self.saved.items():
            with contextlib.suppress(OSError):  # the interface may be gone
                path.write_text(value)
        self.saved.clear()
