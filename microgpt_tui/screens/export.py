"""Export part of the graph for slides: a dialog prefilled from the current node and scope.

The render runs in a worker thread (`dot` can take seconds); the dialog reports
back through messages, notifies with the path written and closes. Errors become
notifications and leave the dialog open to fix the input. The picture shows the
session as it stands: values, and grads as far as the backward pass has got.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select
from textual.worker import get_current_worker

from engine.errors import InputError
from engine.export import (
    DEFAULT_MAX_NODES,
    FORMATS,
    THEMES,
    DotMissing,
    DotTimedOut,
    Exported,
    FormatMismatch,
    Selection,
    TooManyNodes,
    UnknownFormat,
    export,
    format_for_file,
)
from engine.fs import check_writable
from engine.fs import reason as reason_of
from engine.session import DebugSession
from microgpt_tui.screens.modal import DismissOnce

KINDS = ("scope", "node", "overview")


class FieldError(InputError):
    """A reason already worded for this dialog, and the field it is about."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def field_hint(error: InputError) -> tuple[str | None, str]:
    """The field to fix (its id, None for none) and a one-line reason worded for this dialog.

    Over-long words (a 300-character file name) are shortened in the middle, so the
    reason stays one line.
    """
    field, reason = _field_hint(error)
    return field, re.sub(r"\S{48,}", lambda m: m[0][:20] + "…" + m[0][-20:], reason)


def _field_hint(error: InputError) -> tuple[str | None, str]:
    if isinstance(error, FieldError):
        return error.field, str(error)
    if isinstance(error, TooManyNodes):
        if error.by_depth:
            return "export-depth", f"{error.summary}; lower the depth"
        return "export-scope", f"{error.summary}; pick the overview or {error.narrower_phrase('')}"
    if isinstance(error, (UnknownFormat, FormatMismatch)):
        if isinstance(error, UnknownFormat) and error.given is not None:
            return "export-format", str(error)
        if isinstance(error, UnknownFormat):
            return "export-path", error.explain("pick a format")
        return "export-path", str(error)
    if isinstance(error, DotMissing):
        return "export-format", f"Graphviz's `dot` is not installed: pick DOT, or {INSTALL}"
    if isinstance(error, DotTimedOut):
        return "export-scope", f"{error.summary}; pick a narrower scope or the overview"
    return None, str(error)


INSTALL = "install Graphviz (apt-get install graphviz, brew install graphviz)"


class ExportScreen(DismissOnce, ModalScreen[Path | None]):
    """Choose a selection, a format and a file; Export writes it, Escape cancels.

    It closes once however fast the keys and clicks come (a second escape, or a
    click on Cancel queued behind the export that closed it, is ignored).

    `node_id` is the current node (highlighted in the picture), or None when
    there is none; `scope` the current scope path ("" for none). Prefilled: the
    scope, drawn as vectors (any scope fits; scalars are a choice), else the
    node and 2 levels of its inputs, else the overview. The format follows the
    file's extension. Dismissed with the path written, or None.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close without exporting")]

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
        & > Vertical {
            width: 76;
            height: auto;
            max-height: 100%;
            overflow-y: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        Horizontal { height: auto; }
        Horizontal { margin-bottom: 1; }
        Label.field { width: 9; text-style: bold; }
        RadioSet { width: 1fr; layout: horizontal; }
        RadioButton { margin-right: 2; }
        #export-scope, #export-path { width: 1fr; }
        #export-depth { width: 10; }
        #export-format { width: 14; }
        #export-theme { width: 14; }
        #export-title { width: 1fr; }
        #export-error { color: $text-error; height: auto; }
        .-invalid { border: none; background: $error 30%; }
        #export-buttons { align-horizontal: right; margin-bottom: 0; }
        #export-buttons Button { margin-left: 2; }
    }
    """

    @dataclass
    class Finished(Message):
        """The worker wrote the file."""

        done: Exported

    @dataclass
    class Failed(Message):
        """The worker could not export: a one-line reason, and the field to fix (its id)."""

        reason: str
        field: str | None = None

    def __init__(
        self,
        session: DebugSession,
        node_id: int | None,
        scope: str,
        *,
        max_nodes: int = DEFAULT_MAX_NODES,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.session = session
        self.node_id = node_id
        self.scope = scope
        self.max_nodes = max_nodes
        self.cursor_blink = cursor_blink
        self._auto_path = ""  # the path we filled in; replaced as the choices change

    # -- the form ----------------------------------------------------------------------

    def _initial_kind(self) -> str:
        """The scope if there is one (drawn as vectors, any scope fits), else the node, if any."""
        tree = self.session.find_scope(self.scope) if self.scope else None
        if tree is not None:
            return "scope"
        return "node" if self.node_id is not None else "overview"

    def compose(self) -> ComposeResult:
        kind = self._initial_kind()
        with Vertical() as box:
            box.border_title = "Export graph"
            with Horizontal():
                yield Label("Export", classes="field")
                with RadioSet(id="export-kind", compact=True):
                    yield RadioButton("scope", value=kind == "scope", id="kind-scope")
                    yield RadioButton(
                        "no node" if self.node_id is None else f"node #{self.node_id}",
                        value=kind == "node",
                        id="kind-node",
                        disabled=self.node_id is None,
                    )
                    yield RadioButton("overview", value=kind == "overview", id="kind-overview")
            with Horizontal():
                yield Label("Draw", classes="field")
                with RadioSet(id="export-level", compact=True):
                    yield RadioButton("vectors and their ops", value=True, id="level-vector")
                    yield RadioButton("every scalar node", id="level-scalar")
            with Horizontal():
                yield Label("Scope", classes="field")
                yield self._input(self.scope, "e.g. pos3.layer0.attn.head1", "export-scope")
            with Horizontal():
                yield Label("Depth", classes="field")
                yield self._input("2", "levels", "export-depth", type="integer")
                yield Checkbox("follow consumers (not inputs)", id="export-consumers", compact=True)
            with Horizontal():
                yield Label("Format", classes="field")
                yield Select(
                    [(f.upper(), f) for f in FORMATS],
                    value="svg",
                    allow_blank=False,
                    id="export-format",
                    compact=True,
                )
                yield Label("Theme", classes="field")
                yield Select(
                    [(t, t) for t in THEMES],
                    value="light",
                    allow_blank=False,
                    id="export-theme",
                    compact=True,
                )
            with Horizontal():
                yield Label("Title", classes="field")
                yield self._input("", "(none)", "export-title")
            with Horizontal():
                yield Label("File", classes="field")
                yield self._input("", "FILE.svg", "export-path")
            yield Label("", id="export-error")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-button")
                yield Button("Cancel", id="cancel-button")

    def _input(self, value: str, placeholder: str, id: str, **kwargs) -> Input:
        field = Input(value, placeholder=placeholder, id=id, compact=True, **kwargs)
        field.cursor_blink = self.cursor_blink
        return field

    def on_mount(self) -> None:
        self._choices_changed()

    def _kind(self) -> str:
        pressed = self.query_one("#export-kind", RadioSet).pressed_button
        return pressed.id.removeprefix("kind-") if pressed is not None and pressed.id else "scope"

    def _format(self) -> str:
        return str(self.query_one("#export-format", Select).value)

    def _fill_path(self) -> None:
        """Name the file after the selection, unless the user typed a name of their own.

        A name of their own that ends in another format's extension takes the
        chosen format's (`head.png` -> `head.pdf` when PDF is chosen).
        """
        field = self.query_one("#export-path", Input)
        if field.value and field.value != self._auto_path:
            path, fmt = Path(field.value), self._format()
            if path.suffix.lower().lstrip(".") in FORMATS and path.suffix[1:] != fmt:
                field.value = str(path.with_suffix(f".{fmt}"))
            return
        kind = self._kind()
        if kind == "scope":
            stem = self.query_one("#export-scope", Input).value.strip() or "graph"
        elif kind == "node":
            stem = f"node{self.node_id}"
        else:
            stem = "overview"
        self._auto_path = field.value = f"./{stem}.{self._format()}"

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        """A file name ending in a format's extension chooses that format (`head1.png`: PNG)."""
        ext = Path(event.value).suffix.lower().lstrip(".")
        select = self.query_one("#export-format", Select)
        if ext in FORMATS and select.value != ext:
            select.value = ext

    @on(RadioSet.Changed, "#export-kind")
    @on(Select.Changed, "#export-format")
    @on(Input.Changed, "#export-scope")
    def _choices_changed(self) -> None:
        kind = self._kind()
        self.query_one("#export-scope", Input).disabled = kind != "scope"
        self.query_one("#export-depth", Input).disabled = kind != "node"
        self.query_one("#export-consumers", Checkbox).disabled = kind != "node"
        self.query_one("#export-level", RadioSet).disabled = kind == "node"  # a node: scalars
        self._fill_path()

    def _level(self) -> str:
        pressed = self.query_one("#export-level", RadioSet).pressed_button
        return "scalar" if pressed is not None and pressed.id == "level-scalar" else "vector"

    def _selection(self) -> Selection:
        kind = self._kind()
        if kind == "overview":
            return Selection.overview(level=self._level())
        if kind == "node":
            text = self.query_one("#export-depth", Input).value.strip()
            try:
                depth = int(text)
            except ValueError:
                raise InputError(f"depth {text!r} is not a number") from None
            if depth < 0:
                raise InputError(f"depth must be 0 or more, got {depth}")
            consumers = self.query_one("#export-consumers", Checkbox).value
            return Selection.of_node(self.node_id, depth, consumers=consumers)
        scope = self.query_one("#export-scope", Input).value.strip()
        if not scope:
            raise InputError("give a scope, e.g. pos3.layer0.attn.head1")
        return Selection.of_scope(scope, level=self._level())

    def _path_and_format(self) -> tuple[Path, str]:
        """The file to write and its format (the extension's); InputError marking the File field."""
        text = self.query_one("#export-path", Input).value.strip()
        try:
            if not text:
                raise InputError("give a file to write, e.g. ./head.svg")
            path = Path(text).expanduser()
            fmt = format_for_file(path, self._format())
            check_writable(path)
        except InputError as e:
            field, reason = field_hint(e)
            raise FieldError(field or "export-path", reason) from None
        return path, fmt

    # -- exporting -----------------------------------------------------------------------

    @on(Button.Pressed, "#export-button")
    @on(Input.Submitted)
    def action_export(self) -> None:
        """Read the form and render in a worker; a bad field is a notification."""
        try:
            selection = self._selection()
            path, fmt = self._path_and_format()
        except InputError as e:
            self._show_error(*reversed(field_hint(e)))
            return
        title = self.query_one("#export-title", Input).value.strip() or None
        theme = str(self.query_one("#export-theme", Select).value)
        self.query_one("#export-button", Button).disabled = True
        self.query_one("#export-error", Label).update("")
        self.query(".-invalid").remove_class("-invalid")
        self._export_in_thread(selection, path, fmt, theme, title)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export_in_thread(
        self, selection: Selection, path: Path, fmt: str, theme: str, title: str | None
    ) -> None:
        """In a thread: build and render; report by message (never touching widgets)."""
        try:
            done = export(
                self.session,
                selection,
                path,
                fmt,
                max_nodes=self.max_nodes,
                highlight=self.node_id,
                theme=theme,
                title=title,
            )
        except InputError as e:
            message: Message = self.Failed(*reversed(field_hint(e)))
        except OSError as e:  # the reason, never a raw errno
            message = self.Failed(f"cannot export: {reason_of(e)}")
        except Exception as e:  # a bug in the export must not take the debugger down
            message = self.Failed(f"export failed: {type(e).__name__}: {e}")
        else:
            message = self.Finished(done)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        done = event.done
        nodes = "1 node" if done.nodes == 1 else f"{done.nodes:,} nodes"
        what = f"the overview ({done.summary()})" if done.overview else nodes
        if done.vector and not done.overview:
            what = done.summary()
        self.app.notify(f"Exported {what} to {done.path}", title="Export")
        self.dismiss(done.path)

    @on(Failed)
    def _failed(self, event: Failed) -> None:
        self.query_one("#export-button", Button).disabled = False
        self._show_error(event.reason, event.field)

    def _show_error(self, reason: str, field: str | None = None) -> None:
        """A notification, and the same line in the dialog (a toast may cover the buttons).

        The field to fix, if any, is marked and focused; the mark goes at the next try.
        """
        self.query_one("#export-error", Label).update(reason)
        if field is not None:
            widget = self.query_one(f"#{field}")
            widget.add_class("-invalid")
            widget.focus()
        self.notify(reason, title="Export failed", severity="error")

    @on(Button.Pressed, "#cancel-button")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "export")
        self.dismiss(None)
