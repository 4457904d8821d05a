"""End to end on the demo workspace with damaged files: exit 1, each damaged file reported
where it goes wrong, every other session migrated exactly; the store library reads the
result back; then the fixes migrate the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.demo import BIG_INT, DemoInfo, generate_workspace
from migrate_tui.store import load_session_store, read_transcript_preview
from migrate_tui.store.session_store import clear_cache
from tests.engine.engine_support import Run, diff, read_jsonl, run_cli, tree, without_nulls

PROBLEM_KINDS = ("invalid_json", "not_utf8", "bad_messages", "id_mismatch", "bad_updated_at")


@pytest.fixture
def demo(tmp_path: Path) -> DemoInfo:
    return generate_workspace(tmp_path / "demo", sessions=12, damaged=True, seed=0)


def _legacy(info: DemoInfo, name: str) -> dict[str, Any]:
    return json.loads((info.sessions_dir / name).read_bytes())


def _migrate(info: DemoInfo, *args: str) -> Run:
    return run_cli("migrate", info.root, "--json", "--lock-timeout", "5", *args)


def test_damaged_demo_exits_1_and_reports_each_damaged_file(demo: DemoInfo) -> None:
    run = _migrate(demo)
    assert run.rc == 1, str(run)
    report = run.report
    assert report["status"] == "partial"
    assert report["sessions_found"] == 12 + len(demo.damaged)
    by_problem = {d["problem"]: d for d in report["error_details"]}
    assert sorted(by_problem) == sorted(PROBLEM_KINDS)
    assert report["errors"] == len(PROBLEM_KINDS)
    for kind in PROBLEM_KINDS:
        detail = by_problem[kind]
        assert detail["file"] == str(demo.sessions_dir / demo.damaged[kind]), kind
        assert detail["error"], kind
        assert detail["session_id"] == demo.damaged[kind][:-5]
    # the truncated file: where, as Python's json sees it, and how many messages salvage keeps
    truncated = by_problem["invalid_json"]
    try:
        json.loads((demo.sessions_dir / demo.damaged["invalid_json"]).read_bytes())
    except json.JSONDecodeError as exc:
        assert (truncated["line"], truncated["column"]) == (exc.lineno, exc.colno)
    else:  # pragma: no cover
        raise AssertionError("the demo's truncated file parses")
    assert f"{demo.truncated_messages} complete message(s)" in truncated["error"]
    assert truncated["fixes"] == ["salvage"]
    # the bad bytes: where too
    assert by_problem["not_utf8"]["line"] and by_problem["not_utf8"]["column"]
    # the BOM is a warning, and the dangling key too
    warnings = {w["problem"] for w in report["warning_details"]}
    assert {"bom", "dangling_key"} <= warnings


def test_every_other_session_is_migrated_exactly(demo: DemoInfo) -> None:
    run = _migrate(demo)
    assert run.rc == 1
    good = [f"{sid}.json" for sid in demo.session_ids] + [demo.damaged["bom"]]
    assert run.report["migrated"] == len(good) == 13
    store = json.loads((demo.sessions_dir / "sessions.json").read_bytes())
    for name in good:
        sid = name[:-5]
        source = json.loads((demo.sessions_dir / name).read_bytes().decode("utf-8-sig"))
        assert read_jsonl(demo.sessions_dir / f"{sid}.jsonl") == without_nulls(source["messages"]), name
    for key, sid in demo.session_map.items():
        if key == demo.dangling_key or f"{sid}.json" not in good:
            assert key not in store, key
        else:
            assert store[key]["session_id"] == sid, key
    # the damaged ones: no transcript, no entry, file untouched
    for kind in PROBLEM_KINDS:
        sid = demo.damaged[kind][:-5]
        assert not (demo.sessions_dir / f"{sid}.jsonl").exists(), kind
        assert all(e["session_id"] != sid for e in store.values()), kind
    assert store[f"agent:main:{demo.keyless_id}"]["session_id"] == demo.keyless_id
    assert store["agent:main:webchat:dm:visitor-9"]["label"] == "Visitor"


def test_store_library_reads_the_result_back(demo: DemoInfo) -> None:
    assert _migrate(demo).rc == 1
    clear_cache()
    store_path = demo.sessions_dir / "sessions.json"
    store = load_session_store(store_path)
    main_id = demo.session_map["agent:main:main"]
    main = store["agent:main:main"]
    assert main.session_id == main_id and main.session_file == f"{main_id}.jsonl"
    assert main.thinking_level == "high" and main.input_tokens == BIG_INT
    assert main.updated_at == store["agent:main:telegram:dm:12345"].updated_at
    assert main.verbose_level is None  # a SessionEntry field the entry does not have
    for key, entry in store.items():
        sid = entry.session_id
        transcript = read_jsonl(demo.sessions_dir / entry.session_file)
        preview = read_transcript_preview(session_id=sid, store_path=store_path, limit=3)
        assert preview == transcript[-3:], key
    full = read_transcript_preview(session_id=main_id, store_path=str(store_path), limit=1000)
    source = _legacy(demo, f"{main_id}.json")
    assert full == without_nulls(source["messages"])


def test_the_fixes_migrate_the_rest_and_verify(demo: DemoInfo) -> None:
    assert _migrate(demo).rc == 1
    after_first = tree(demo.sessions_dir)
    fixes = {"invalid_json": "salvage", "not_utf8": "replace-bytes",
             "bad_messages": "drop-bad-messages", "id_mismatch": "use-filename",
             "bad_updated_at": "use-created-at"}
    args = [a for kind, fix in fixes.items() for a in ("--fix", f"{demo.damaged[kind][:-5]}={fix}")]
    run = _migrate(demo, *args)
    assert run.rc == 0, str(run)
    assert run.report["migrated"] == len(fixes) and run.report["already_migrated"] == 13
    sid = demo.damaged["invalid_json"][:-5]
    assert len(read_jsonl(demo.sessions_dir / f"{sid}.jsonl")) == demo.truncated_messages
    bad = demo.damaged["bad_messages"]
    kept = [m for m in _legacy(demo, bad)["messages"] if isinstance(m, dict) and "role" in m]
    assert read_jsonl(demo.sessions_dir / f"{bad[:-5]}.jsonl") == without_nulls(kept)
    # the sessions migrated the first time were not rewritten
    for sid in demo.session_ids:
        name = f"{sid}.jsonl"
        assert tree(demo.sessions_dir)[name] == after_first[name], name
    verify = run_cli("verify", demo.root)
    assert verify.rc == 0, str(verify)
    # and one more run changes nothing
    before = tree(demo.root)
    again = _migrate(demo)
    assert again.rc == 0 and again.report["migrated"] == 0, str(again)
    assert diff(before, tree(demo.root)) == []
