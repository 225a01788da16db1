"""Files the agent rewrites whole: replaced in one rename, never seen half written."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over: a reader (or the next start after
    a kill) finds the old content or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.new")
    part.write_text(text)
    os.replace(part, path)
