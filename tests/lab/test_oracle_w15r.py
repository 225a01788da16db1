"""The oracle comparison of test_oracle.py on tests/data/keepalived-corpus-w15r: files where
`vrrpd convert` disagrees with Keepalived 2.2.7 today (review w15r, issue 15). Each is
xfail(strict): a fix that makes one pass moves it to the main corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab import test_oracle
from tests.lab.test_oracle import namespace  # noqa: F401  (the fixture, shared)

pytestmark = pytest.mark.netns

CORPUS = Path(__file__).parent.parent / "data" / "keepalived-corpus-w15r"


@pytest.mark.xfail(strict=True, reason="w15r findings 2-6: see the corpus README")
@pytest.mark.parametrize("file", sorted(p.name for p in CORPUS.glob("*.conf")))
def test_keepalived_and_the_converted_file_agree(
    namespace: str,  # noqa: F811
    file: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(test_oracle, "CORPUS", CORPUS)
    test_oracle.test_keepalived_and_the_converted_file_agree(namespace, file, tmp_path, monkeypatch)
