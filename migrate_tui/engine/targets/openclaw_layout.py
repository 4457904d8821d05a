"""Where today's OpenClaw keeps an agent's sessions.

``<state>`` is ``$OPENCLAW_STATE_DIR`` or ``~/.openclaw``.  The file-based store OpenClaw
imports is ``<state>/agents/<agent-id>/sessions/sessions.json`` with one
``<session-id>.jsonl`` beside it; the store it runs on is the agent's SQLite database,
``<state>/agents/<agent-id>/agent/openclaw-agent.sqlite``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from migrate_tui.core.errors import WorkspaceError

# OpenClaw's canonical agent id: what it would not rewrite into another folder name.
_AGENT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
STORE = "sessions.json"
LOCK = "sessions.json.lock"
DATABASE = "openclaw-agent.sqlite"


def default_state_dir(env: Mapping[str, str] | None = None) -> str:
    """``$OPENCLAW_STATE_DIR`` if set (and not blank), else ``~/.openclaw``."""
    env = os.environ if env is None else env
    configured = (env.get("OPENCLAW_STATE_DIR") or "").strip()
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    home = (env.get("HOME") or "").strip() or os.path.expanduser("~")
    return os.path.join(os.path.abspath(home), ".openclaw")


def check_agent_id(agent_id: str) -> str:
    """The agent id as a folder name OpenClaw uses unchanged, or a WorkspaceError saying why
    not (OpenClaw lower-cases ids and turns other characters into dashes, so such an id
    would send the files to a folder OpenClaw does not read)."""
    if not isinstance(agent_id, str) or _AGENT_ID.fullmatch(agent_id) is None:
        raise WorkspaceError(
            f"the agent id {agent_id!r} is not one OpenClaw uses as it is: it must be 1 to 64 "
            "lower-case letters, digits, '_' or '-', starting with a letter or digit")
    return agent_id


@dataclass(frozen=True)
class OpenClawLayout:
    state_dir: str
    agent_id: str

    @property
    def agent_dir(self) -> str:
        return os.path.join(self.state_dir, "agents", self.agent_id)

    @property
    def sessions_dir(self) -> str:
        return os.path.join(self.agent_dir, "sessions")

    @property
    def store(self) -> str:
        return os.path.join(self.sessions_dir, STORE)

    @property
    def lock(self) -> str:
        return os.path.join(self.sessions_dir, LOCK)

    @property
    def database(self) -> str:
        return os.path.join(self.agent_dir, "agent", DATABASE)

    def transcript(self, session_id: str) -> str:
        if not session_id or "/" in session_id or session_id in (".", ".."):
            raise ValueError(f"not a plain session id: {session_id!r}")
        return os.path.join(self.sessions_dir, f"{session_id}.jsonl")


def openclaw_layout(state_dir: str | None = None, agent_id: str = "main",
                    env: Mapping[str, str] | None = None) -> OpenClawLayout:
    state = os.path.abspath(os.path.expanduser(state_dir)) if state_dir else default_state_dir(env)
    return OpenClawLayout(state, check_agent_id(agent_id))
