"""Regenerate the parts of docs/ that come from code, so they cannot go stale.

``python -m vrrpd.docgen`` rewrites the state diagram between the markers in
docs/architecture.md; tests/test_docs.py fails when the committed one differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vrrpd.core.state import mermaid_diagram

BEGIN = "<!-- BEGIN GENERATED: state diagram (make diagram) -->"
END = "<!-- END GENERATED: state diagram -->"
ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def render(text: str) -> str:
    """``text`` with the generated block replaced by the current diagram."""
    head, found, rest = text.partition(BEGIN)
    if not found:
        raise ValueError(f"marker {BEGIN!r} not found")
    _, found, tail = rest.partition(END)
    if not found:
        raise ValueError(f"marker {END!r} not found")
    return f"{head}{BEGIN}\n```mermaid\n{mermaid_diagram()}```\n{END}{tail}"


def main() -> int:
    text = ARCHITECTURE.read_text()
    new = render(text)
    if new != text:
        ARCHITECTURE.write_text(new)
        print(f"updated {ARCHITECTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
