"""migrate_tui: move an OpenClaw workspace to sessions.json + JSONL transcripts, losslessly."""

__version__ = "0.1.0"
