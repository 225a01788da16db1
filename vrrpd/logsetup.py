"""How the agent's log lines look: for the journal, for people, or for log shippers.

* Under systemd, stderr is the journal (``JOURNAL_STREAM`` names its device and
  inode): each line starts with its syslog priority (``<4>``) so ``journalctl -p
  warning`` finds the warnings, and carries no timestamp of its own (the journal
  stamps it).
* Otherwise, for people: a timestamp, the level, the message.
* ``--log-format json``: one object per line (time, level, message, and the
  instance, event and fields when the line is about one) for Loki or ELK.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
_SYSLOG = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def to_journal(stream: TextIO) -> bool:
    """Whether ``stream`` is the journal's: JOURNAL_STREAM is ``DEV:INODE`` of it."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = expected.partition(":")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return bool(expected) and f"{info.st_dev}:{info.st_ino}" == f"{device}:{inode}"


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        for key in ("instance", "event", "reason", "fields"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send the ``vrrpd`` log to ``stream`` (stderr) in the form that fits where it goes."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif to_journal(stream):
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)


def set_level(level: str) -> None:
    """Change the level (a reload may): ``debug``, ``info``, ``warning`` or ``error``."""
    logging.getLogger().setLevel(level.upper())
