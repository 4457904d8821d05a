"""The fields of a ``sessions.json`` entry (SessionEntry), as the Python agent reads them."""

from __future__ import annotations

# The fields of the new format, snake_case, in the order docs/formats.md lists them.
SESSION_ENTRY_FIELDS: tuple[str, ...] = (
    "session_id", "updated_at", "session_file", "spawned_by", "system_sent",
    "aborted_last_run", "chat_type", "channel", "group_id", "subject", "group_channel",
    "space", "thinking_level", "verbose_level", "reasoning_level", "elevated_level",
    "tts_auto", "provider_override", "model_override", "auth_profile_override",
    "auth_profile_override_source", "auth_profile_override_compaction_count", "exec_host",
    "exec_security", "exec_ask", "exec_node", "response_usage", "send_policy",
    "group_activation", "group_activation_needs_system_intro", "queue_mode",
    "queue_debounce_ms", "queue_cap", "queue_drop", "input_tokens", "output_tokens",
    "total_tokens", "model_provider", "model", "context_tokens", "compaction_count",
    "memory_flush_at", "memory_flush_compaction_count", "cli_session_ids",
    "claude_cli_session_id", "label", "display_name", "origin", "delivery_context",
    "last_channel", "last_to", "last_account_id", "last_thread_id",
)
FIELD_SET = frozenset(SESSION_ENTRY_FIELDS)
# Fields the migration sets itself; a legacy metadata key of the same name is not carried.
STRUCTURAL_FIELDS = frozenset({"session_id", "updated_at", "session_file"})
