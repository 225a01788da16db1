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
