"""Where a migration can write to.

The default target is the layout the migration guide describes (``apply.py`` writes it).
The ``openclaw_*`` modules hold the second target, today's OpenClaw: its session entry,
its transcript format, its ``sessions.json.lock`` protocol, its paths, and a read-only
look at the agent's SQLite store; ``openclaw_plan`` and ``openclaw_apply`` plan and carry
out a migration there (``commands.migrate(plan, target=...)``, ``--target openclaw``),
``openclaw_check`` tells verify and clean-up whether a session is still in place, and
``openclaw_doctor`` runs OpenClaw's own dry run.  docs/openclaw-target.md says what they
follow and why.
"""
