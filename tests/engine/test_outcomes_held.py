"""journal.Outcomes holds a name ending in .json as its id (shared with the scan's strings by
share_ids), any other name as itself: the same mapping either way, in the same order."""

from __future__ import annotations

from migrate_tui.engine.journal import Outcome, Outcomes

SHA = "ab" * 32


def _filled() -> Outcomes:
    out = Outcomes()
    out.put("s1.json", Outcome("run-1", SHA, "s1"))  # packed
    out.put("odd-name", Outcome("run-1", SHA, "x"))  # no .json: held as itself
    out.put_migrated("s2.json", "run-1", SHA, "s2")
    out.put("s3.json", Outcome("run-1", None, None, "skip"))
    out.put(".json", Outcome("run-1", SHA, "other"))
    out.setdefault_outcome("s1.json", Outcome("run-2", None, None, "skip"))  # kept as it was
    return out


EXPECTED = {"s1.json": Outcome("run-1", SHA, "s1"), "odd-name": Outcome("run-1", SHA, "x"),
            "s2.json": Outcome("run-1", SHA, "s2"), "s3.json": Outcome("run-1", None, None, "skip"),
            ".json": Outcome("run-1", SHA, "other")}


def test_the_same_mapping_in_the_same_order() -> None:
    out = _filled()
    assert list(out) == list(EXPECTED)
    assert {name: out[name] for name in out} == EXPECTED
    assert "s1" not in out and ("s1",) not in out and "odd-name.json" not in out
    assert out.get("s1") is None and out.get("odd-name") is not None
    assert len(out) == 5


def test_shared_ids_are_the_given_strings() -> None:
    out = _filled()
    own_id = "".join(["s", "2"])  # a string of its own, equal to the held one
    out.share_ids({own_id: own_id})
    assert list(out) == list(EXPECTED)
    assert {name: out[name] for name in out} == EXPECTED
    assert any(held is own_id for held in out._by_name)
