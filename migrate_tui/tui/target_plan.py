"""The plan as the chosen target sees it.  With the OpenClaw target, each session's action and
problems are those of OpenClaw's folder and database (a key or a transcript already there, a
session the agent's SQLite database holds), so the plan screen, the errors review and the fix
dialog show them as decisions — the same fixes ``migrate --target openclaw --fix/--skip``
takes.  The engine's own plan (the legacy side) stays what apply runs and decisions replan;
this view follows it: planned whole after the scan, then only the sessions whose decision
changed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from migrate_tui.engine import Plan
from migrate_tui.engine.targets.openclaw_layout import OpenClawLayout
from migrate_tui.engine.targets.openclaw_plan import OpenClawPlan, plan_openclaw, replan
from migrate_tui.tui.formatting import plural
from migrate_tui.tui.planning import Planning, Stopped


@dataclass(frozen=True)
class TargetView:
    target: OpenClawLayout
    oplan: OpenClawPlan
    shown: Plan  # the sessions as the target sees them (the engine's plan if it refused)


def _shown(oplan: OpenClawPlan, previous: Plan | None = None, changed: Collection[str] = ()) -> Plan:
    if oplan.refusal is not None:
        return oplan.plan
    return oplan.as_plan(previous, changed)


def target_view(plan: Plan, target: OpenClawLayout, planning: Planning | None = None) -> TargetView | None:
    """The whole plan as ``target`` sees it (None: ``planning.stop`` was set)."""

    def on_progress(done: int) -> None:
        if planning is not None:
            if planning.stop.is_set():
                raise Stopped
            planning.done = done

    try:
        oplan = plan_openclaw(plan, target, on_progress)
    except Stopped:
        return None
    return TargetView(target, oplan, _shown(oplan))


def view_after(view: TargetView, plan: Plan, changed: Collection[str]) -> TargetView:
    """``view`` for ``plan``, the engine's plan after decisions on ``changed``."""
    oplan = replan(view.oplan, plan, changed)
    if oplan.plan.index is view.oplan.plan.index and oplan.refusal is None:
        return TargetView(view.target, oplan, _shown(oplan, view.shown, changed))
    return TargetView(view.target, oplan, _shown(oplan))


def refusal(view: TargetView, *, short: bool = False) -> str | None:
    """Why the migration cannot start into this target as decided (None: it can): the
    target cannot be used, or sessions would shadow what OpenClaw's database holds and the
    user has not decided for them."""
    oplan = view.oplan
    if oplan.refusal is not None:
        return f"OpenClaw's folder cannot be used: {oplan.refusal}"
    found = oplan.database_conflicts
    if not found:
        return None
    sessions = len({ts.file_id for ts, _ in found})
    if short:  # one line of the plan screen, at 80 columns
        verb = "shadows" if sessions == 1 else "shadow"
        return (f"{plural(sessions, 'session')} {verb} OpenClaw's database: "
                "f replace-existing · space skip")
    return (f"{plural(sessions, 'session')} would shadow what OpenClaw's SQLite database already "
            "holds: decide each on the plan (2: problems), f → replace-existing imports over "
            "it, space skips it. Nothing was written.")
