"""Ask for a file path: an Input that completes from the filesystem (Tab or → accepts), and an
optional directory tree (ctrl+t). Keyboard-first, so it works over SSH at 80x24."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.widgets import DirectoryTree, Input, Static
from textual.worker import Worker, WorkerState

from core.errors import FileError, SmartlicError
from core.safe_files import check_writable_target
from tui.widgets.dialog import Dialog
from tui.widgets.errors import ErrorHandling
from tui.widgets.styles import RED, plain

MAX_ENTRIES = 5000


def expand(text: str) -> Path:
    """What the user typed, as a path: ``~`` is the home folder, spaces around it are dropped."""
    return Path(os.path.expanduser(text.strip()))


def shorten(path: Path) -> str:
    """``path`` with the home folder written as ``~`` (what the user would type)."""
    home = Path.home()
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def complete_path(value: str) -> str | None:
    """The completion of a partly typed path, as the shell would: the one matching name (folders end
    in ``/``), else the longest common start of the names, else the first name. None: nothing to add."""
    if not value or "\n" in value:
        return None
    if value == "~":
        return "~/"
    head, sep, fragment = value.rpartition("/")
    folder_text = head + sep
    folder = Path(os.path.expanduser(folder_text)) if folder_text else Path.cwd()
    try:
        with os.scandir(folder) as entries:
            names: list[tuple[str, bool]] = []
            for entry in entries:
                if len(names) >= MAX_ENTRIES:
                    break
                if not entry.name.startswith(fragment):
                    continue
                if entry.name.startswith(".") and not fragment.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                names.append((entry.name, is_dir))
    except OSError:
        return None
    if not names:
        return None
    names.sort()
    if len(names) == 1:
        name, is_dir = names[0]
        completed = name + ("/" if is_dir else "")
    else:
        common = common_start([name for name, _ in names])
        if len(common) > len(fragment):
            completed = common
        else:
            name, is_dir = names[0]
            completed = name + ("/" if is_dir else "")
    suggestion = folder_text + completed
    return suggestion if len(suggestion) > len(value) else None


def common_start(names: list[str]) -> str:
    """The longest text every name starts with (character by character, not by path part)."""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


class PathSuggester(Suggester):
    """Completes from the filesystem; never cached (files come and go)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


class PathInput(Input):
    """An Input whose Tab accepts the completion (and moves focus on when there is none)."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False, id="path.complete")]

    def action_complete(self) -> None:
        suggestion = self._suggestion
        if suggestion and self.cursor_at_end and len(suggestion) > len(self.value):
            self.value = suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class PathModal(ErrorHandling, Dialog[Any]):
    """Ask for a path. With ``run``, Enter calls ``run(path)`` in a worker: the dialog closes with its
    result, or stays open with the reason when it fails (the error handler also shows it). Without
    ``run`` it closes with the Path. Escape closes with None: nothing is done."""

    DEFAULT_CSS = """
    PathModal { align: center middle; }
    PathModal DirectoryTree { height: 10; display: none; }
    PathModal DirectoryTree.-shown { display: block; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="path.cancel"),
        Binding("ctrl+t,f2", "browse", "Browse", id="path.browse"),
    ]

    def __init__(
        self,
        title: str,
        intro: Text,
        value: str = "",
        *,
        placeholder: str = "",
        run: Callable[[Path], Any] | None = None,
        verb: str = "accepts",
        new_file: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.intro = intro
        self.value = value
        self.placeholder = placeholder
        self.run = run
        self.verb = verb
        self.new_file = new_file
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog path-dialog"):
            yield Static(plain(self.title_text, style="bold"), classes="dialog-title")
            yield Static(self.intro, classes="dialog-body")
            yield PathInput(
                self.value,
                placeholder=self.placeholder,
                suggester=PathSuggester(),
                id="path-input",
                select_on_focus=False,
            )
            yield Static("", id="path-problem", classes="problem")
            yield Static(
                f"Enter {self.verb} · Tab/→ completes · ctrl+t browse · Esc cancels", classes="dialog-help"
            )

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()

    def _tree_root(self) -> Path:
        typed = self.query_one(Input).value if self.is_mounted else self.value
        start = expand(typed) if typed.strip() else Path.home()
        for candidate in (start, *start.parents):
            if candidate.is_dir():
                return candidate
        return Path.home()

    def _problem(self, text: str) -> None:
        self.query_one("#path-problem", Static).update(plain(text, style=RED))
        self.query_one(Input).set_class(bool(text), "-invalid")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._problem("")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        text = event.value.strip()
        if not text:
            self._problem("Type the path of the file.")
            self.app.bell()
            return
        path = expand(text)
        if path.is_dir():
            self._problem(f"{text} is a folder: type a file name in it (Tab completes).")
            self.app.bell()
            return
        if self.new_file:
            try:
                check_writable_target(path)
            except FileError as exc:
                self._problem(f"{exc.message} Choose another name: nothing is overwritten.")
                self.app.bell()
                return
        if self.run is None:
            self.dismiss(path)
            return
        self.busy = True
        self._problem("")
        self._run(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="path-run")
    def _run(self, path: Path) -> Any:
        # A thread: reading or writing a file (a slow USB stick, a hung mount) never freezes the app.
        assert self.run is not None
        return self.run(path)

    def after_worker(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "path-run":
            return
        if event.state is WorkerState.SUCCESS:
            self.busy = False
            self.dismiss(event.worker.result)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = False
            error = event.worker.error
            reason = error.message if isinstance(error, SmartlicError) else "see the message."
            self._problem(f"Not done: {reason}")
            self.query_one(Input).focus()

    def action_browse(self) -> None:
        """Show (or hide) a folder tree beside the typed path; Enter on a file takes it."""
        trees = self.query(DirectoryTree)
        if trees and trees.first().has_class("-shown"):
            trees.first().remove_class("-shown")
            self.query_one(Input).focus()
            return
        root = self._tree_root()
        if trees:
            tree = trees.first()
            if Path(tree.path) != root:
                tree.path = root
        else:
            tree = DirectoryTree(root, id="path-tree")
            self.query_one(".path-dialog").mount(tree, after="#path-problem")
        tree.add_class("-shown")
        tree.focus()

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        field = self.query_one(Input)
        field.value = shorten(event.path)
        field.cursor_position = len(field.value)
        self.query_one(DirectoryTree).remove_class("-shown")
        field.focus()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
