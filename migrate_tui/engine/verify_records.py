"""What verify holds of each scanned session, made smaller as the scan gathers it.

In a migrated workspace every legacy file has its transcript beside it, and the scan says
how that transcript compares (``ContentSummary.transcripts``: one id → a
``TranscriptCheck``).  Held as the scan makes it, that is a dict of the record's rare
attributes holding a dict of one member, its own copy of the id and its own check: about
0.5 KB a session, 50 MB at 100,000 sessions, the biggest part of what verify holds.
``compact`` holds the same as one small object (of an id string the record already has
and a check shared by every session whose transcript compares the same), read back as the
record's own were: ``summary.transcripts`` is a mapping of that one id, every other rare
attribute at its default.

Only the common shape is made smaller (nothing but ``transcripts`` among the rare
attributes, one member); any other record is left as it is.  The records are verify's
alone (it plans them, checks them and lets them go): nothing sets an attribute of them
afterwards, so the stand-ins are read-only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from migrate_tui.engine.model import ContentSummary, SessionScan, TranscriptCheck


class OneTranscript(Mapping[str, TranscriptCheck]):
    """``{session_id: check}``, as one object of two slots."""

    __slots__ = ("_check", "_id")

    def __init__(self, session_id: str, check: TranscriptCheck) -> None:
        self._id = session_id
        self._check = check

    def __getitem__(self, key: str) -> TranscriptCheck:
        if key == self._id:
            return self._check
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._check if key == self._id else default

    def __contains__(self, key: object) -> bool:
        return key == self._id

    def __iter__(self) -> Iterator[str]:
        yield self._id

    def __len__(self) -> int:
        return 1


class OnlyTranscripts:
    """A summary's rare attributes (``ContentSummary._rare``) when only ``transcripts`` is
    set: read as the dict it stands for is read (``read``, given the summary); never
    written.  One object of two slots (the id, the check): ``transcripts`` is made when it
    is read (a ``OneTranscript`` of them), not held beside it (48 bytes a session less: 5 MB
    at 100,000).  Its id None: the summary's own content id, the stand-in then shared by
    every summary whose transcript compares the same (``Compactor``: most of a migrated
    workspace's, one object for all; 4.7 MB less at 100,000 sessions)."""

    __slots__ = ("_check", "_id")

    def __init__(self, session_id: str | None, check: TranscriptCheck) -> None:
        self._id = session_id
        self._check = check

    def read(self, summary: ContentSummary, name: str, default: Any = None) -> Any:
        if name != "transcripts":
            return default
        sid = self._id
        return OneTranscript(summary.content_id if sid is None else sid, self._check)

    def __repr__(self) -> str:
        shown = "<the content id>" if self._id is None else repr(self._id)
        return f"{{'transcripts': {{{shown}: {self._check!r}}}}}"


class FileIds(Mapping[str, str]):
    """Each file id added, by itself (the string added).  Gathered as a list (8 bytes an id)
    while the scan's workers run, made a dict (50 bytes an id) when first looked up: at the
    end of the scan, once they are gone (a dict grown through the scan was counted in the
    pages of the whole process tree, at its peak)."""

    __slots__ = ("_by_id", "_gathered")

    def __init__(self) -> None:
        self._gathered: list[str] = []
        self._by_id: dict[str, str] | None = None

    def add(self, file_id: str) -> None:
        if self._by_id is None:
            self._gathered.append(file_id)
        else:
            self._by_id[file_id] = file_id

    def _dict(self) -> dict[str, str]:
        if self._by_id is None:
            self._by_id = {file_id: file_id for file_id in self._gathered}
            self._gathered = []
        return self._by_id

    def __getitem__(self, key: str) -> str:
        return self._dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())


class Compactor:
    """``compact(session)`` for the sessions of one scan (the checks shared among them);
    ``ids``: each session's file id, by itself (the record's own string)."""

    def __init__(self) -> None:
        self._checks: dict[tuple[str, int], TranscriptCheck] = {}
        self._stand_ins: dict[int, OnlyTranscripts] = {}  # by the id() of a shared check
        self.ids = FileIds()

    def compact(self, session: SessionScan) -> SessionScan:
        self.ids.add(session.file_id)
        content = session.content
        rare = content._rare
        if type(rare) is not dict or len(rare) != 1:
            return session
        transcripts = rare.get("transcripts")
        if type(transcripts) is not dict or len(transcripts) != 1:
            return session
        ((sid, check),) = transcripts.items()
        if type(check) is not TranscriptCheck or type(sid) is not str:
            return session
        shared = self._checks.setdefault((check.state, check.size), check)
        if sid == content.content_id and type(content.content_id) is str:
            # (most sessions) one stand-in for every summary of this check, the id its own
            stand_in = self._stand_ins.get(id(shared))
            if stand_in is None:
                stand_in = self._stand_ins[id(shared)] = OnlyTranscripts(None, shared)
            content._rare = stand_in  # type: ignore[assignment]
            return session
        if sid == session.file_id:
            sid = session.file_id  # the record's own string, not a copy of it
        content._rare = OnlyTranscripts(sid, shared)  # type: ignore[assignment]
        return session
