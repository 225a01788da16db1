"""Docs generated from code must match the code."""

from __future__ import annotations

import pytest

from vrrpd import docgen
from vrrpd.core.state import TRANSITIONS, mermaid_diagram


def test_committed_state_diagram_is_current() -> None:
    text = docgen.ARCHITECTURE.read_text()
    assert docgen.render(text) == text, "docs/architecture.md is stale: run `make diagram`"


def test_diagram_lists_every_transition() -> None:
    diagram = mermaid_diagram()
    for (old, new), label in TRANSITIONS.items():
        assert f"{old} --> {new}: {label}" in diagram


def test_render_needs_both_markers() -> None:
    with pytest.raises(ValueError, match="BEGIN"):
        docgen.render("no markers")
    with pytest.raises(ValueError, match="END"):
        docgen.render(docgen.BEGIN)


def test_committed_configuration_reference_is_current() -> None:
    assert docgen.CONFIGURATION.read_text() == docgen.configuration(), (
        "docs/configuration.md is stale: run `make diagram`"
    )


def test_configuration_reference_covers_the_contract_keys() -> None:
    text = docgen.configuration()
    for key in ("vrid", "priority", "advert_interval", "preempt_delay", "unicast_peers", "use_vmac", "control_socket",
                "script_security", "rise", "fall", "weight", "refresh"):  # fmt: skip
        assert f"| `{key}` |" in text, key


def test_operations_lists_where_every_refusal_is_counted() -> None:
    from vrrpd.core.errors import DropReason
    from vrrpd.core.receive import COUNTER_OF_REASON

    text = (docgen.ARCHITECTURE.parent / "operations.md").read_text()
    for reason in DropReason:
        counter = COUNTER_OF_REASON.get(reason)
        row = f"| {reason.value} | `{counter}` |" if counter else f"| {reason.value} | router `"
        assert row in text, f"docs/operations.md does not say where {reason.name} is counted"
