"""The package's layout: modules stay small enough to read in one sitting."""

from __future__ import annotations

from tests.helpers import ROOT

MAX_LINES = 300


def _too_long() -> dict[str, int]:
    """Every module under passport/ longer than MAX_LINES, with its line count."""
    found = {}
    for path in sorted((ROOT / "passport").rglob("*.py")):
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES:
            found[str(path.relative_to(ROOT))] = lines
    return found


def test_no_module_is_over_300_lines() -> None:
    too_long = _too_long()
    assert not too_long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{path} ({lines})" for path, lines in too_long.items()
    )


def test_the_core_reads_no_clock_or_file() -> None:
    """Time and data are parameters of the core (import-linter keeps out os, secrets, time …;
    these calls come in through modules it must import, such as datetime)."""
    calls = ("datetime.now(", "date.today(", "datetime.utcnow(", "open(", "uuid.uuid4(")
    found = [
        f"{path.relative_to(ROOT)}: {call}"
        for path in sorted((ROOT / "passport" / "core").rglob("*.py"))
        for call in calls
        if call in path.read_text("utf-8")
    ]
    assert found == []
