"""The bench's verdicts: a dry run or a migration that misses its ratio to the naive script is
still accepted within 1.2x of the proven bound doing the same work, and only then."""
from __future__ import annotations

from typing import Any

import pytest

from benchmarks.run import verdicts


def _row(median: float, base: float, ok: bool = True) -> dict[str, Any]:
    return {"median_s": median, "x_base": round(median / base, 3), "cpu_s": median * 1.5,
            "x_base_cpu": round(median / base, 3), "all_ok": ok, "memory_mb": 50.0,
            "left_over": 0}


def _results(ours: float, naive: float, proven: float | None, proven_ok: bool = True,
             dry: bool = True) -> dict[str, Any]:
    """Corpus B with one operation of ours against the naive script and a proven bound."""
    if dry:
        ops = {"dry_run": _row(ours, naive), "naive_dry": _row(naive, naive)}
        if proven is not None:
            ops["proof_dry"] = _row(proven, naive, proven_ok)
    else:
        ops = {"migrate": _row(ours, naive), "naive": _row(naive, naive)}
        if proven is not None:
            ops["bound_proven"] = _row(proven, naive, proven_ok)
    return {"B": {"ops": ops}}


def _verdict(results: dict[str, Any], check: str) -> dict[str, Any]:
    (found,) = [v for v in verdicts(results, quick=False) if v["check"] == check]
    return found


@pytest.mark.parametrize("dry, check", [(True, "dry_run_B"), (False, "migrate_B")])
def test_within_the_proven_bound_is_accepted(dry: bool, check: str) -> None:
    # B's dry target is 0.6x naive and its migration's 1.0x: 1.1 against 1.0 misses both
    verdict = _verdict(_results(1.1, 1.0, proven=1.0, dry=dry), check)
    assert verdict["pass"]
    assert "ours = 1.10x it (accepted <= 1.2x)" in verdict["text"]


@pytest.mark.parametrize("dry, check", [(True, "dry_run_B"), (False, "migrate_B")])
def test_beyond_the_proven_bound_is_not(dry: bool, check: str) -> None:
    verdict = _verdict(_results(1.3, 1.0, proven=1.0, dry=dry), check)
    assert not verdict["pass"]
    assert "ours = 1.30x it" in verdict["text"]


@pytest.mark.parametrize("dry, check", [(True, "dry_run_B"), (False, "migrate_B")])
def test_a_failed_or_missing_bound_accepts_nothing(dry: bool, check: str) -> None:
    assert not _verdict(_results(1.1, 1.0, proven=1.0, proven_ok=False, dry=dry), check)["pass"]
    missing = _verdict(_results(1.1, 1.0, proven=None, dry=dry), check)
    assert not missing["pass"]
    assert "proven" not in missing["text"]


def test_the_naive_ratio_alone_still_passes() -> None:
    assert _verdict(_results(0.5, 1.0, proven=None), "dry_run_B")["pass"]
    assert _verdict(_results(0.9, 1.0, proven=None, dry=False), "migrate_B")["pass"]
