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


def test_ids_shared_as_they_are_put() -> None:
    from migrate_tui.engine.journal import sharing_ids

    own_1, own_2 = "".join(["s", "1"]), "".join(["s", "2"])
    with sharing_ids({own_1: own_1, own_2: own_2}):
        out = _filled()
    assert Outcomes.shared_ids is None  # only within the block
    assert list(out) == list(EXPECTED)
    assert {name: out[name] for name in out} == EXPECTED
    assert any(held is own_1 for held in out._by_name)  # put
    assert any(held is own_2 for held in out._by_name)  # put_migrated
    assert all(held is not own_1 for held in _filled()._by_name)


def test_file_ids_are_the_strings_added() -> None:
    from migrate_tui.engine.verify_records import FileIds

    ids = FileIds()
    first, again = "".join(["a", "1"]), "".join(["a", "1"])
    ids.add(first)
    ids.add("b2")
    assert ids.get(again) is first and ids.get("c3", "x") == "x"
    ids.add("c3")  # added once looked up: still found
    assert dict(ids) == {"a1": "a1", "b2": "b2", "c3": "c3"} and len(ids) == 3 and "c3" in ids
