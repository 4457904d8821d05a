"""session_map.json keys given to the sessions they point at (scan._attach_keys): by file
name first, then by the id inside a file no file is named after (gathered only when some
key names no file), in the map's order; a key that reaches no session is a warning."""

from __future__ import annotations

from migrate_tui.engine.scan import scan_workspace


def test_keys_reach_sessions_by_file_name_then_by_the_id_inside(ws) -> None:  # type: ignore[no-untyped-def]
    ws.add("plain", keys=("agent:main:plain",))
    ws.add("inside-id", file_name="renamed.json")  # no file is named after "inside-id"
    ws.add("twin-id", file_name="first.json")
    ws.add("twin-id", file_name="second.json")  # the same id inside: the first file gets it
    ws.map("agent:main:a", "inside-id")
    ws.map("agent:main:b", "renamed")  # by its file name
    ws.map("agent:main:c", "inside-id")  # the map's order is kept: a, b, c
    ws.map("agent:main:d", "twin-id")
    ws.map("agent:main:e", "nowhere")
    scan = scan_workspace(str(ws.root))
    keys = {s.file_name: tuple(s.keys) for s in scan.sessions}
    assert keys == {
        "plain.json": ("agent:main:plain",),
        "renamed.json": ("agent:main:a", "agent:main:b", "agent:main:c"),
        "first.json": ("agent:main:d",),
        "second.json": (),
    }
    assert [w.code for w in scan.warnings] == ["dangling_key"]
    assert "'agent:main:e'" in scan.warnings[0].message


def test_keys_that_all_name_files_give_the_same_keys(ws) -> None:  # type: ignore[no-untyped-def]
    ws.add("one", keys=("agent:main:1", "agent:main:2"))
    ws.add("two", keys=("agent:main:3",))
    ws.add("inside", file_name="other.json")  # reached by no key
    scan = scan_workspace(str(ws.root))
    assert {s.file_name: tuple(s.keys) for s in scan.sessions} == {
        "one.json": ("agent:main:1", "agent:main:2"), "two.json": ("agent:main:3",),
        "other.json": ()}
    assert scan.warnings == []
