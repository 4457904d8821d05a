"""What verify holds of each scanned session (engine/verify_records.py): in a migrated
workspace, each record's transcript check is held as one small object instead of two dicts,
made so as the scan gathers each record (``scan_workspace(each=...)``).  The records read the
same (every attribute, the plan made on them), and a record of any other shape is left as
it is."""

from __future__ import annotations

from typing import Any

from migrate_tui.engine import build_plan, scan_workspace
from migrate_tui.engine.verify_records import Compactor, OneTranscript, OnlyTranscripts
from tests.engine.engine_support import Workspace

A = "a1b2c3d4-0000-4000-8000-00000000000a"
B = "a1b2c3d4-0000-4000-8000-00000000000b"
C = "a1b2c3d4-0000-4000-8000-00000000000c"
D = "a1b2c3d4-0000-4000-8000-00000000000d"


def _plan(scan: Any) -> list[tuple[Any, ...]]:
    return [(ps.file_id, ps.action, ps.final_id, ps.transcript, tuple(ps.keys), tuple(ps.kept_keys),
             tuple(ps.notes), tuple((p.code, p.message) for p in ps.open_problems))
            for ps in build_plan(scan).sessions]


def test_compacted_records_read_as_the_scan_s_own(ws: Workspace) -> None:
    ws.add(A, keys=("agent:main:a",))
    ws.add(B, n=5)
    ws.add(C, metadata={"session_key": "agent:main:meta-c", "label": "c"})
    assert ws.migrate().rc == 0
    with open(ws.sessions / f"{B}.jsonl", "a", encoding="utf-8") as f:  # continued by the agent
        f.write('{"role": "user", "content": "more"}\n')
    ws.add(D)  # not migrated: no transcript, nothing to compact
    plain = scan_workspace(str(ws.root))
    seen: list[str] = []

    def each(session: Any) -> Any:
        seen.append(session.file_id)
        return Compactor().compact(session)

    compact = scan_workspace(str(ws.root), each=each)
    assert seen == [s.file_id for s in plain.sessions] == sorted([A, B, C, D])
    kinds = {s.file_id: type(s.content._rare) for s in compact.sessions}
    assert kinds[A] is OnlyTranscripts and kinds[B] is OnlyTranscripts
    assert kinds[C] is dict  # its metadata key is a rare attribute too: left as it is
    assert kinds[D] is type(None)
    for before, after in zip(plain.sessions, compact.sessions, strict=True):
        assert repr(after) == repr(before)
        assert after.content._values() == before.content._values()
    assert compact.sessions[0].content.transcripts[A].state == "same"
    assert compact.sessions[1].content.transcripts[B].state == "extended"
    assert _plan(compact) == _plan(plain)
    # the id held is the record's own string
    held = compact.sessions[0].content.transcripts
    assert isinstance(held, OneTranscript) and next(iter(held)) is compact.sessions[0].file_id
    # a transcript named as the content's id: the stand-in, shared, holds no id of its own
    assert compact.sessions[0].content._rare._id is None  # type: ignore[union-attr]


def test_the_scan_without_each_keeps_the_records_as_made(ws: Workspace) -> None:
    ws.add(A)
    assert ws.migrate().rc == 0
    assert scan_workspace(str(ws.root), each=lambda s: s).sessions[0].content._rare == {
        "transcripts": scan_workspace(str(ws.root)).sessions[0].content.transcripts}
    assert type(scan_workspace(str(ws.root)).sessions[0].content._rare) is dict  # each forgotten


def test_one_transcript_is_a_mapping_of_one_id() -> None:
    from migrate_tui.engine.model import TranscriptCheck

    check = TranscriptCheck("same", 12)
    one = OneTranscript(A, check)
    assert dict(one) == {A: check} and len(one) == 1 and A in one and B not in one
    assert one.get(A) is check and one.get(B) is None and one.get(B, 3) == 3
    assert one[A] is check
    from migrate_tui.engine.model import ContentSummary

    summary = ContentSummary(content_id=B)
    rare = OnlyTranscripts(A, check)
    assert rare.read(summary, "transcripts") == one and rare.read(summary, "problems", ()) == ()
    assert next(iter(rare.read(summary, "transcripts"))) is A
    assert rare.read(summary, "transcripts")[A] is check
    # its id None: the summary's content id (one stand-in shared by many summaries)
    shared_rare = OnlyTranscripts(None, check)
    assert dict(shared_rare.read(summary, "transcripts")) == {B: check}
    summary._rare = shared_rare  # type: ignore[assignment]
    assert summary.transcripts[B] is check and summary.problems == ()
    shared = Compactor()
    assert shared._checks == {}
