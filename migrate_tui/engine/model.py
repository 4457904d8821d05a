"""The engine's data: what a scan found, what the plan will do, what apply reports.

Plain dataclasses, no I/O.  The data flows one way: files → ``ScanResult`` → ``Plan``
(with the user's ``Decision`` per session) → apply events → ``ApplyResult`` → report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, Protocol


class Severity(StrEnum):
    WARNING = "warning"  # migrates, with a note
    PROBLEM = "problem"  # needs a decision: a fix, or skip


# Problem codes (docs/problems.md) and the fixes each offers.  Skipping is always possible.
FIXES_BY_CODE: dict[str, tuple[str, ...]] = {
    "invalid_json": ("salvage",),
    "not_utf8": ("replace-bytes",),
    "wrong_shape": (),
    "bad_messages": ("drop-bad-messages",),
    "id_mismatch": ("use-filename", "use-content"),
    "unsafe_id": ("rename",),
    "duplicate_id": ("rename",),
    "bad_updated_at": ("use-created-at", "use-file-mtime"),
    "key_conflict": ("keep-existing", "replace-existing"),
    "transcript_conflict": ("keep-existing", "replace-existing"),
    "not_regular": (),
    "symlink": (),
    "too_deep": (),
    "too_large": (),
    "unreadable": (),
    "changed_during_migration": (),
}
ALL_FIXES: tuple[str, ...] = (
    "salvage", "replace-bytes", "drop-bad-messages", "use-filename", "use-content",
    "rename", "use-created-at", "use-file-mtime", "keep-existing", "replace-existing",
)
# Fixes that change what is read from the file (the others change ids, keys or targets).
CONTENT_FIXES = frozenset({"salvage", "replace-bytes", "drop-bad-messages"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, said plainly: where (file, line, column) and what."""

    code: str
    message: str
    file: str
    severity: Severity = Severity.PROBLEM
    line: int | None = None
    column: int | None = None
    fixes: tuple[str, ...] = ()
    excerpt: str | None = None  # the source text around the error, for the errors review

    @property
    def where(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# what an existing transcript is, compared with what the migration would write
TranscriptState = Literal["same", "extended", "different", "not_regular"]
# what the migration does with one legacy file
Action = Literal["migrate", "skip", "done", "blocked"]


@dataclass(slots=True)
class TranscriptCheck:
    """How an existing ``<id>.jsonl`` compares with what the migration would write."""

    state: TranscriptState  # "extended": ours, continued by the agent since; "not_regular":
    # something else than a regular file is at its path
    size: int


@dataclass(slots=True)
class ContentSummary:
    """What a legacy file holds, read with one set of content fixes.  No messages kept."""

    readable: bool = False
    content_id: Any = None  # "session_id" inside the file (any JSON value), None when absent
    message_count: int = 0
    bad_messages: list[int] = field(default_factory=list)
    entry_fields: dict[str, Any] = field(default_factory=dict)  # metadata carried into the entry
    not_carried: list[str] = field(default_factory=list)
    updated_at_ms: int | None = None
    created_at_ms: int | None = None
    meta_key: str | None = None  # metadata["session_key"], when it is a valid key
    salvage_count: int | None = None
    salvage_missing: list[str] = field(default_factory=list)
    replaced_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)  # content problems and warnings
    transcripts: dict[str, TranscriptCheck] = field(default_factory=dict)  # candidate id → check
    # with no content fix: legacy.exact_token(sha256) when orjson provably reads the file
    # exactly as the lossless parser does (apply may then parse it with orjson), else None
    messages_digest: str | None = None


@dataclass(slots=True)
class SessionScan:
    """Everything scanning learned about one legacy file."""

    file_name: str  # the name inside .sessions/ (may be unsafe; never joined into a path unchecked)
    file_id: str  # the name without ".json"
    path: str = ""  # the full path, for messages
    kind: str = "regular file"
    size: int = 0
    mtime_ns: int = 0
    mode: int = 0o600
    sha256: str | None = None
    file_problems: list[Problem] = field(default_factory=list)  # symlink, FIFO, too large, ...
    content: ContentSummary = field(default_factory=ContentSummary)  # read as it is
    variants: dict[frozenset[str], ContentSummary] = field(default_factory=dict)  # with content fixes
    keys: list[str] = field(default_factory=list)  # session_map keys pointing at this session

    @property
    def problems(self) -> list[Problem]:
        return self.file_problems + self.content.problems

    @property
    def content_fixes(self) -> frozenset[str]:
        """The content fixes that change what this file yields."""
        out: set[str] = set()
        for combo in self.variants:
            out |= combo
        return frozenset(out)

    def summary_for(self, fixes: frozenset[str]) -> ContentSummary:
        if not fixes or not self.variants:  # most sessions: no fix, or none that reads differently
            return self.content
        combo = fixes & self.content_fixes
        return self.variants.get(combo, self.content) if combo else self.content


@dataclass
class ScanResult:
    workspace: str
    sessions_dir: str
    sessions_dir_exists: bool
    sessions: list[SessionScan] = field(default_factory=list)
    session_map: dict[str, str] = field(default_factory=dict)
    session_map_present: bool = False
    store_entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # the existing sessions.json
    store_present: bool = False
    transcripts: dict[str, int] = field(default_factory=dict)  # existing "<id>.jsonl" → size
    warnings: list[Problem] = field(default_factory=list)  # workspace-level (dangling keys, ...)
    fatal: Problem | None = None  # the workspace cannot be migrated (unreadable sessions.json, ...)
    backup_present: bool = False
    backup_files: int = 0
    lock_holder: int | None = None  # pid in sessions.json.lock, -1 if unknown
    recently_changed: list[str] = field(default_factory=list)  # files changed in the last minute
    total_bytes: int = 0
    # fixes an earlier run migrated a file with (file name → fixes), from the journal, for
    # files unchanged since: a rerun repeats those decisions unless told otherwise
    earlier_fixes: dict[str, frozenset[str]] = field(default_factory=dict)
    # the journal as the scan saw it ((size, mtime_ns, inode), None: none): apply refuses a
    # plan made before another command of ours changed the workspace
    journal_stamp: tuple[int, int, int] | None = None
    # sessions.json's keys by the session their entry points at (plan.py fills it once)
    store_keys_by_id: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Decision:
    """The user's choice for one session: skip it, or apply named fixes (several may
    combine, e.g. ``use-content`` + ``rename``).  No decision means: migrate if it can."""

    skip: bool = False
    fixes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        if self.skip:
            return "skip"
        if self.fixes:
            return "fix:" + ",".join(sorted(self.fixes))
        return "migrate"

    def with_fix(self, fix: str) -> Decision:
        return Decision(skip=False, fixes=self.fixes | {fix})


MIGRATE = Decision()
SKIP = Decision(skip=True)


@dataclass(slots=True)
class PlannedSession:
    """What the migration will do with one legacy file, given the decision."""

    scan: SessionScan
    decision: Decision
    action: Action  # "done": already migrated; "blocked": a problem left undecided
    final_id: str | None = None
    keys: list[str] = field(default_factory=list)  # keys whose entries will be written
    kept_keys: list[str] = field(default_factory=list)  # keys left as they are (done, or keep-existing)
    entry: dict[str, Any] | None = None  # the entry written under each key
    transcript: str = "write"  # "write" | "same" | "extended" | "keep-existing" | "replace-existing"
    open_problems: list[Problem] = field(default_factory=list)  # problems the decision leaves unresolved
    notes: list[str] = field(default_factory=list)  # what the fixes do, what is used instead
    not_carried: list[str] = field(default_factory=list)
    message_count: int = 0  # messages the transcript will hold

    @property
    def file_id(self) -> str:
        return self.scan.file_id


    @property
    def label(self) -> str:
        """The report's "action": migrate | skip | fix:NAME[,NAME]."""
        if self.action in ("skip", "blocked"):
            return "skip"
        return self.decision.label if self.decision.fixes else "migrate"


@dataclass
class Totals:
    found: int = 0
    to_migrate: int = 0
    skipped: int = 0  # by the user's decision
    blocked: int = 0  # problems left: not migrated, counted as errors
    fixed: int = 0  # migrating with at least one fix
    done: int = 0  # already migrated by an earlier run
    warnings: int = 0
    messages: int = 0
    bytes: int = 0


@dataclass
class Plan:
    scan: ScanResult
    agent_id: str
    backup: bool
    sessions: list[PlannedSession]
    decisions: dict[str, Decision]
    totals: Totals
    warnings: list[Problem] = field(default_factory=list)

    @cached_property
    def index(self) -> dict[str, int]:
        """file id → position in ``sessions``."""
        return {ps.file_id: n for n, ps in enumerate(self.sessions)}

    @cached_property
    def id_counts(self) -> Counter[str]:
        """How many sessions would be written under each final id."""
        return Counter(ps.final_id for ps in self.sessions if ps.final_id is not None)

    def session(self, file_id: str) -> PlannedSession:
        return self.sessions[self.index[file_id]]

    @property
    def nothing_to_do(self) -> bool:
        return self.totals.to_migrate == 0


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class PhaseStarted:
    phase: str  # "scan" | "backup" | "transcripts" | "index" | "verify" | "rollback" | "cleanup"
    total: int  # items in this phase
    total_bytes: int = 0


@dataclass(frozen=True)
class Progress:
    phase: str
    done: int
    total: int
    item: str = ""  # the session or file at hand
    bytes_done: int = 0


@dataclass(frozen=True)
class LogLine:
    level: str  # "info" | "warning" | "error"
    text: str


Event = PhaseStarted | Progress | LogLine


class EventSink(Protocol):
    def __call__(self, event: Event) -> None: ...


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def no_events(event: Event) -> None:
    return None


class NeverCancel:
    def is_set(self) -> bool:
        return False


@dataclass
class SessionFailure:
    file_id: str
    problem: Problem


@dataclass
class ApplyResult:
    migrated: list[str] = field(default_factory=list)  # file ids written (transcript + entries)
    failed: list[SessionFailure] = field(default_factory=list)  # failed at apply time
    cancelled: bool = False
    verified: bool | None = None
    verify_problems: list[str] = field(default_factory=list)
    backup_dir: str | None = None
    backup_files: int = 0
    written: list[str] = field(default_factory=list)  # paths created or replaced
    error: str | None = None  # a failure that stopped the run (disk full, I/O error, ...)
    report_path: str | None = None
    report_error: str | None = None  # the report could not be saved (a warning, not a failure)
    committed: bool = False  # the commit record was written: the run is complete
    run_id: str | None = None
