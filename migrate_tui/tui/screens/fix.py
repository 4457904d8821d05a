"""Step 5: the fix dialog.  The fixes the session's problems offer, and skip; each with its
previewed effect (``preview_fix``: what the session would become).  ``a`` turns on "apply to
every session with this problem": the choice is then made for all of them at once.  Opened
on marked sessions, it offers what their problems offer, with how many each fix applies to.

Dismisses with a ``FixChoice`` (the new decision of each session it applies to), or None."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, get_current_worker

from migrate_tui.core.ids import display
from migrate_tui.engine import MIGRATE, Decision, Plan, PlannedSession, preview_fix
from migrate_tui.engine.selection import fixes_offered
from migrate_tui.tui.effects import SKIP_EFFECT, fix_effect
from migrate_tui.tui.formatting import plural
from migrate_tui.tui.messages import FixChoice, FixPreviews, Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.plan_filter import LIST_CHUNK
from migrate_tui.tui.screen_base import WizardDialog
from migrate_tui.tui.target_plan import TargetView
from migrate_tui.tui.workers import background

UNDO = "undo"
SKIP = "skip"
EFFECT_LINES = 2  # lines of effect under each option (the dialog fits 80×24, skip in view)


def offered_fixes(ps: PlannedSession) -> list[str]:
    """The fixes the open problems offer, not yet chosen (no salvage for an empty file)."""
    return fixes_offered(ps)


def effects_for(plan: Plan, file_id: str, fixes: list[str],
                view: TargetView | None = None) -> dict[str, PlannedSession]:
    """What each fix makes of the session: in the engine's ``plan``, then, with a target's
    ``view``, as that target sees it."""
    effects = {fix: preview_fix(plan, file_id, fix) for fix in fixes}
    if view is not None:
        effects = {fix: view.oplan.session_after(ps) for fix, ps in effects.items()}
    return effects


def _never() -> bool:
    return False


def sharing(plan: Plan, code: str, fix: str | None,
            stopped: Callable[[], bool] = _never) -> list[str] | None:
    """Every session with an open problem ``code`` (that offers ``fix``, if given); None
    once ``stopped()`` says so (asked between two slices of the sessions: a dialog closed
    meanwhile stops its worker there rather than after 200,000 sessions)."""
    out = []
    sessions = plan.sessions
    for start in range(0, len(sessions), LIST_CHUNK):
        if stopped():
            return None
        for ps in sessions[start:start + LIST_CHUNK]:
            problems = ps.open_problems  # most have none: no generator made for them
            if problems and any(p.code == code for p in problems) \
                    and (fix is None or fix in fixes_offered(ps)):
                out.append(ps.file_id)
    return out


class FixDialog(WizardDialog[FixChoice | None]):
    STEP = 5
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_all", "Every session with this problem"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, file_ids: list[str]) -> None:
        super().__init__()
        self.file_ids = list(file_ids)
        self.effects: dict[str, PlannedSession] = {}
        self.every = False  # apply to every session with the problem (one session's dialog)
        self.alike: dict[str, list[str]] = {}  # option id → the sessions "every" applies to

    @property
    def plan(self) -> Plan:
        """The plan as the chosen target sees it (its problems are the ones fixed here)."""
        assert self.state.shown is not None
        return self.state.shown

    @property
    def sessions(self) -> list[PlannedSession]:
        plan = self.plan
        return [plan.session(fid) for fid in self.file_ids]

    @property
    def single(self) -> bool:
        return len(self.file_ids) == 1

    def compose(self) -> ComposeResult:
        sessions = self.sessions
        title = (f"Fix {display(sessions[0].scan.file_name)}" if self.single
                 else f"Fix {plural(len(sessions), 'session')}")
        with Vertical(id="fix-dialog", classes="dialog"):
            yield Static(Parts(title, "bold").content(), classes="dialog-title")
            yield Static(self._problems_text(sessions), id="fix-problems")
            yield OptionList(*self._options(sessions), id="fix-options")
            yield Static(id="fix-every")
            yield Static(Parts("enter chooses · escape keeps the current decision",
                               "italic $text-muted").content(), id="fix-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._draw_every()
        if self.single:  # worked out once the dialog is drawn: the key's answer comes first
            self.call_after_refresh(self._preview, self.plan, self.file_ids[0],
                                    offered_fixes(self.sessions[0]))

    # ------------------------------------------------------------ what is shown

    def _problems_text(self, sessions: list[PlannedSession]) -> Content:
        text = Parts()
        if self.single:
            ps = sessions[0]
            if not ps.open_problems:
                text.append("No problem is left; the fixes chosen: " + ", ".join(sorted(ps.decision.fixes)))
            for p in ps.open_problems[:2]:
                text.append("✗ ", "$text-error bold").append(f"{p.code}", "bold")
                text.append(f" (line {p.line}): " if p.line else ": ").append(f"{p.message}\n")
                if not p.fixes:
                    text.append("  this problem offers no fix: the session can only be skipped\n", "italic")
            if len(ps.open_problems) > 2:
                text.append(f"  … and {len(ps.open_problems) - 2:,} more\n", "italic")
            return text.content().rstrip()
        codes = Counter(p.code for ps in sessions for p in {q.code: q for q in ps.open_problems}.values())
        for code, count in codes.most_common(4):
            text.append("✗ ", "$text-error bold").append(f"{code}: {plural(count, 'session')}\n")
        if len(codes) > 4:
            text.append(f"  … and {len(codes) - 4} other problems\n", "italic")
        return text.content().rstrip()

    def _options(self, sessions: list[PlannedSession]) -> list[Option]:
        if self.single:
            ps = sessions[0]
            options = [Option(self._prompt(fix, ["computing its effect…"]), id=f"fix:{fix}")
                       for fix in offered_fixes(ps)]
            if ps.decision.fixes:
                options.append(Option(self._prompt(
                    "undo fixes",
                    [f"back to the file as it is (drops {', '.join(sorted(ps.decision.fixes))})"]),
                    id=UNDO))
            options.append(Option(self._prompt("skip", SKIP_EFFECT), id=SKIP))
            return options
        offered: Counter[str] = Counter()
        for ps in sessions:
            offered.update(offered_fixes(ps))
        total = len(sessions)
        options = [Option(Parts(fix, "bold").append(f"  for {offered[fix]:,} of the {total:,} sessions")
                          .content(), id=f"fix:{fix}")
                   for fix, _count in offered.most_common()]
        fixed = sum(1 for ps in sessions if ps.decision.fixes)
        if fixed:
            options.append(Option(Parts("undo fixes", "bold").append(f"  for the {fixed:,} with fixes")
                                  .content(), id=UNDO))
        options.append(Option(Parts(f"skip all {total:,}", "bold").append(
            "  not migrated: they stay in .sessions/ and in the backup").content(), id=SKIP))
        return options

    @staticmethod
    def _prompt(name: str, lines: list[str]) -> Content:
        text = Parts(name, "bold")
        for line in lines:
            text.append("\n  → " + line)
        return text.content()

    def _draw_every(self) -> None:
        try:
            widget = self.query_one("#fix-every", Static)
        except NoMatches:  # closed meanwhile (the worker's look over the sessions came late)
            return
        if not self.single:
            widget.display = False
            return
        ps = self.sessions[0]
        if not ps.open_problems:
            widget.display = False
            return
        code = ps.open_problems[0].code
        others = len(self.alike.get(SKIP, [])) - 1 if self.alike else None
        box = "[x]" if self.every else "[ ]"
        text = Parts(f"{box} a: ", "bold").append("apply to every session with this problem")
        if others is not None:
            text.append(f" ({code}: {plural(others, 'other')})" if others else
                        f" (no other session has {code})")
        widget.update(text.content())

    # ------------------------------------------------------------ previews

    @background("working out what each fix would do", group="fix-preview", exclusive=True)
    def _preview(self, plan: Plan, file_id: str, fixes: list[str]) -> None:
        ps = plan.session(file_id)
        worker = get_current_worker()

        def stopped() -> bool:
            return worker.is_cancelled

        alike: dict[str, list[str]] = {}
        for fix in fixes:
            code = next((p.code for p in ps.open_problems if fix in p.fixes), None)
            found = sharing(plan, code, fix, stopped) if code else [file_id]
            if found is None:
                return
            alike[f"fix:{fix}"] = found
        if ps.open_problems:
            found = sharing(plan, ps.open_problems[0].code, None, stopped)
            if found is None:
                return
            alike[SKIP] = found
        engine_plan, view = self.state.plan, self.state.target_view
        assert engine_plan is not None
        if plan is engine_plan or (view is not None and plan is not view.shown):
            view = None
        effects = effects_for(engine_plan, file_id, fixes, view)
        if worker.is_cancelled:  # the dialog was closed meanwhile: nothing to show
            return
        self.post_message(FixPreviews(file_id, effects))
        self.app.call_from_thread(self._got_alike, alike)

    def _got_alike(self, alike: dict[str, list[str]]) -> None:
        self.alike = alike
        self._draw_every()

    def on_fix_previews(self, message: FixPreviews) -> None:
        self.effects = message.effects
        options = self.query_one(OptionList)
        before = self.sessions[0]
        for fix, after in message.effects.items():
            options.replace_option_prompt(
                f"fix:{fix}", self._prompt(fix, fix_effect(before, after)[:EFFECT_LINES]))

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        if worker.group == "fix-preview":
            return [Way("r", "Work the effects out again",
                        lambda: self._preview(self.plan, self.file_ids[0], offered_fixes(self.sessions[0])))]
        return []

    # ------------------------------------------------------------ choosing

    def action_toggle_all(self) -> None:
        if not self.single or not self.sessions[0].open_problems:
            return
        self.every = not self.every
        self._draw_every()

    @on(OptionList.OptionSelected)
    def _chosen(self, message: OptionList.OptionSelected) -> None:
        choice = message.option.id or ""
        book = self.state.decisions
        targets = self.file_ids
        if self.single and self.every:
            targets = self.alike.get(choice) or targets
        decisions: dict[str, Decision] = {}
        if choice == SKIP:
            decisions = {fid: Decision(skip=True, fixes=book.get(fid).fixes) for fid in targets}
            label = "skip"
        elif choice == UNDO:
            decisions = {fid: MIGRATE for fid in targets if book.get(fid).fixes or book.get(fid).skip}
            label = "undo fixes of"
        else:
            fix = choice.removeprefix("fix:")
            plan = self.plan
            decisions = {fid: book.get(fid).with_fix(fix) for fid in targets
                         if fix in offered_fixes(plan.session(fid))}
            label = f"{fix} for"
        what = display(targets[0]) if len(decisions) == 1 and len(targets) == 1 \
            else plural(len(decisions), "session")
        self.finish(FixChoice(decisions, f"{label} {what}"))

    def action_cancel(self) -> None:
        self.finish(None)
