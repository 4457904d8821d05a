"""The new system's Python side: ``sessions.json`` and the JSONL transcripts (docs/cli.md).

    from migrate_tui.store import load_session_store, update_session_store, read_transcript_preview

Light on purpose: it needs only ``migrate_tui.core.fsio``, ``.jsonio`` and ``.ids``.
"""

from migrate_tui.store.entry import SESSION_ENTRY_FIELDS, SessionEntry
from migrate_tui.store.session_store import StoreError, load_session_store, update_session_store
from migrate_tui.store.transcript import read_transcript_preview

__all__ = [
    "SESSION_ENTRY_FIELDS",
    "SessionEntry",
    "StoreError",
    "load_session_store",
    "read_transcript_preview",
    "update_session_store",
]
