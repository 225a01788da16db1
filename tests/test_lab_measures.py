"""The lab's client measures, on ping output as ping prints it (no lab needed)."""

from __future__ import annotations

from vrrpd.lab import lost_outage, replies


class _Printed:
    def __init__(self, text: str) -> None:
        self.text = text

    def output(self) -> str:
        return self.text


def _reply(t: float, seq: int) -> str:
    return f"[{t:.6f}] 64 bytes from 192.0.2.100: icmp_seq={seq} ttl=64 time=0.05 ms"


def test_a_silence_without_a_lost_probe_is_not_an_outage() -> None:
    """make test: a planned handover measured 25 ms, every probe answered (ping was not
    scheduled on two busy cores); the client lost nothing."""
    text = "\n".join([_reply(1.000, 1), _reply(1.002, 2), _reply(1.027, 3), _reply(1.029, 4)])
    assert lost_outage(_Printed(text)) == 0.0  # type: ignore[arg-type]


def test_a_lost_probe_counts_its_whole_silence() -> None:
    text = "\n".join([_reply(1.000, 1), _reply(1.002, 2), _reply(1.010, 6), _reply(1.012, 7)])
    assert abs(lost_outage(_Printed(text)) - 0.008) < 1e-9  # type: ignore[arg-type]


def test_an_unreachable_answer_is_not_a_reply() -> None:
    """A router without a route answers "Destination Net Unreachable": not service."""
    text = "\n".join(
        [
            _reply(1.000, 1),
            "[1.002000] From 198.51.100.1 icmp_seq=2 Destination Net Unreachable",
            _reply(1.300, 150),
        ]
    )
    printed = _Printed(text)
    assert replies(printed) == [1.0, 1.3]  # type: ignore[arg-type]
    assert abs(lost_outage(printed) - 0.3) < 1e-9  # type: ignore[arg-type]


def test_a_window_takes_only_the_silences_that_overlap_it() -> None:
    text = "\n".join(
        [_reply(1.000, 1), _reply(1.010, 6), _reply(2.000, 7), _reply(2.020, 17), _reply(2.022, 18)]
    )
    printed = _Printed(text)
    assert abs(lost_outage(printed, 1.5, 3.0) - 0.020) < 1e-9  # type: ignore[arg-type]
    assert abs(lost_outage(printed, 0.0, 1.5) - 0.010) < 1e-9  # type: ignore[arg-type]
    assert lost_outage(printed, 1.2, 1.9) == 0.0  # type: ignore[arg-type]
