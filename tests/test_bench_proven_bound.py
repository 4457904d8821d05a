"""The proven lower bound (``benchmarks.lower_bound --proven``): the plain bound's migration,
plus each file's SHA-256 and the proof that orjson's parse is the lossless one, shared with
``benchmarks.dry_bound`` (``benchmarks.proof``).  On real files in a temporary workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import dry_bound, lower_bound


def _message(i: int, **extra: object) -> dict[str, object]:
    return {"role": "user" if i % 2 else "assistant", "content": f"message {i}",
            "timestamp": f"2025-10-14T15:31:{i % 60:02d}", "tool_calls": None, **extra}


def _doc(sid: str, count: int, **extra: object) -> dict[str, object]:
    return {"session_id": sid, "messages": [_message(i, **extra) for i in range(count)],
            "updated_at": "2025-10-14T16:00:00"}


def _workspace(root: Path, files: dict[str, str]) -> Path:
    """Legacy files written as the legacy writer does (indent 2), named ``<id>.json``."""
    folder = root / ".sessions"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return root


def _clean(root: Path, sessions: int = 3, messages: int = 5) -> Path:
    return _workspace(root, {f"s{n}.json": json.dumps(_doc(f"s{n}", messages), indent=2)
                             for n in range(sessions)})


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(params=["whole", "in pieces"])
def huge(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every session small, or every session handled as a huge one (parsed and proven a
    piece of messages at a time); the workers are forked, so they see the patch."""
    if request.param == "in pieces":
        monkeypatch.setattr(lower_bound, "STREAM_BYTES", 1)
        monkeypatch.setattr(lower_bound, "PIECE_BYTES", 200)
    return str(request.param)


def test_proven_bound_leaves_the_plain_bounds_layout(tmp_path: Path, huge: str, capsys) -> None:
    plain, proven = _clean(tmp_path / "plain", messages=40), _clean(tmp_path / "proven", messages=40)
    assert lower_bound.main([str(plain)]) == 0
    assert lower_bound.main([str(proven), "--proven"]) == 0
    assert capsys.readouterr().out.splitlines() == ['{"migrated": 3}'] * 2
    assert _tree(proven) == _tree(plain)
    index = json.loads((proven / ".sessions" / "sessions.json").read_bytes())
    assert index["agent:main:s1"] == {"sessionId": "s1", "messages": 40}
    assert len((proven / ".sessions" / "s2.jsonl").read_bytes().splitlines()) == 40


def test_proven_bound_sends_back_each_files_sha256(tmp_path: Path, huge: str) -> None:
    import hashlib

    ws = _clean(tmp_path, messages=40)
    folder = str(ws / ".sessions")
    found = lower_bound._proven_first_pass((folder, ["s0.json", "s1.json"]))
    assert [(name, sid, count) for name, sid, count, _ in found] == [("s0.json", "s0", 40),
                                                                      ("s1.json", "s1", 40)]
    assert found[0][3] == hashlib.sha256((ws / ".sessions" / "s0.json").read_bytes()).digest()
    assert all(len(item) == 3 for item in lower_bound._first_pass((folder, ["s0.json"])))


def _last(old: str, new: str):
    """Replace the last ``old`` (in the last message: the last piece of a huge session)."""
    return lambda text: new.join(text.rsplit(old, 1))


UNPROVEN = {
    # orjson keeps the last of a repeated key: the first value would be lost
    "a repeated key": _last('"role": "user",', '"role": "system", "role": "user",'),
    # orjson reads every float as a binary double: 0.10000000000000000001 would be rewritten
    "a float": _last('"tool_calls": null', '"tool_calls": 0.10000000000000000001'),
    # orjson reads -0 as 0
    "-0": _last('"tool_calls": null', '"tool_calls": [1, -0]'),
}


@pytest.mark.parametrize("flaw", sorted(UNPROVEN))
def test_proven_bound_refuses_a_file_orjson_may_misread(tmp_path: Path, huge: str, flaw: str,
                                                        capsys) -> None:
    good = json.dumps(_doc("s0", 40), indent=2)
    bad = UNPROVEN[flaw](json.dumps(_doc("s1", 40), indent=2))
    assert bad != json.dumps(_doc("s1", 40), indent=2)
    ws = _workspace(tmp_path, {"s0.json": good, "s1.json": bad})
    before = _tree(ws)
    assert lower_bound.main([str(ws), "--proven"]) == 1
    err = capsys.readouterr()
    assert "s1.json" in err.err and "not proven lossless" in err.err and err.out == ""
    assert _tree(ws) == before and not (ws / ".sessions" / "backup_old_format").exists()
    # the plain bound carries it without a word: what the proof is there for
    assert lower_bound.main([str(ws)]) == 0


@pytest.mark.parametrize("flaw", sorted(UNPROVEN))
def test_dry_bound_refuses_the_same_files(tmp_path: Path, flaw: str, capsys) -> None:
    bad = UNPROVEN[flaw](json.dumps(_doc("s1", 4), indent=2))
    ws = _workspace(tmp_path, {"s1.json": bad})
    assert dry_bound.main([str(ws)]) == 1
    assert "s1.json" in capsys.readouterr().err
