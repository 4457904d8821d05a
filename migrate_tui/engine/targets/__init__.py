"""Where a migration can write to.

The default target is the layout the migration guide describes (``apply.py`` writes it).
The ``openclaw_*`` modules hold the second target, today's OpenClaw: its session entry,
its transcript format, its ``sessions.json.lock`` protocol, its paths, and a read-only
look at the agent's SQLite store.  They convert and check; they are not wired into apply
yet.  docs/openclaw-target.md says what they follow and why.
"""
