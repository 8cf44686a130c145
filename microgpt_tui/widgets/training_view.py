"""The training tab: what training did, from the checkpoint's history.

The loss of every step with its moving average, and a line at the step the model
is at; below, how one parameter's value moved over the snapshots the history
holds (`train --snapshot-every K`): the inspected parameter, or one typed in.
Plots are textual-plotext's; a model without a history (a fresh one, a version 1
checkpoint, a script's graph) says so instead.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual_plotext import PlotextPlot

from engine.errors import InputError
from engine.history import History, moving_average, parameter_index
from engine.model import GPT

WINDOW = 50  # steps in the moving average (fewer for a short history)


def window_for(steps: int) -> int:
    """The moving average's window: WINDOW, or a tenth of a short history (at least 1)."""
    return max(1, min(WINDOW, steps // 10))


class TrainingView(Vertical):
    """The loss curve, and one parameter's value over the history's snapshots."""

    DEFAULT_CSS = """
    TrainingView {
        background: $surface;
        & > #training-summary { height: auto; padding: 0 1; }
        & > #loss-plot { height: 1fr; min-height: 6; }
        & > #parameter-row { height: 1; padding: 0 1; }
        & > #parameter-row > Label { width: auto; color: $text-muted; }
        & > #parameter-row > Input { width: 28; }
        & > #parameter-note { height: auto; padding: 0 1; color: $text-muted; }
        & > #parameter-plot { height: 1fr; min-height: 6; }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.history: History | None = None
        self.model: GPT | None = None
        self.at_step: int | None = None  # the step the model is at
        self.parameter: str | None = None  # the parameter whose track is drawn

    def compose(self) -> ComposeResult:
        yield Static(id="training-summary")
        yield PlotextPlot(id="loss-plot")
        with Horizontal(id="parameter-row"):
            yield Label("parameter ")
            yield Input(placeholder="wte[4][0]", id="parameter-name", compact=True)
        yield Static(id="parameter-note")
        yield PlotextPlot(id="parameter-plot")

    # -- what the screen calls ---------------------------------------------------------------

    def show(self, history: History | None, model: GPT | None, at_step: int | None) -> None:
        """The history of `model` (None: there is none), which is at step `at_step`."""
        self.history, self.model, self.at_step = history, model, at_step
        self._draw_loss()
        self._draw_parameter()

    def follow(self, label: str | None) -> None:
        """Draw parameter `label` (the inspected one), unless it is None."""
        if label is None or label == self.parameter:
            return
        self.parameter = label
        self.query_one("#parameter-name", Input).value = label
        self._draw_parameter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.parameter = event.value.strip() or None
        self._draw_parameter()

    # -- drawing -------------------------------------------------------------------------------

    @property
    def summary(self) -> str:
        """The line above the plots (also what tests read)."""
        return str(self.query_one("#training-summary", Static).content)

    @property
    def note(self) -> str:
        return str(self.query_one("#parameter-note", Static).content)

    def _draw_loss(self) -> None:
        history, plot = self.history, self.query_one("#loss-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        summary = self.query_one("#training-summary", Static)
        if history is None or not history.loss:
            summary.update(
                "No training history: this model's checkpoint has none (a fresh model, a "
                "version 1 checkpoint, or a script's graph). `microgpt-tui train` keeps one."
            )
            plot.display = False
            return
        plot.display = True
        steps, loss = list(history.steps), history.loss
        window = window_for(len(loss))
        plt.plot(steps, loss, label="loss", marker="braille")
        plt.plot(steps, moving_average(loss, window), label=f"mean of {window}", marker="braille")
        at = self.at_step if self.at_step is not None else history.last_step
        plt.vline(at)
        plt.xlabel("step (the line: where the model is)")
        summary.update(
            f"The model is at step {at}. Loss {loss[0]:.4f} at step {history.first_step + 1} → "
            f"{loss[-1]:.4f} at step {history.last_step}; mean of the last {window}: "
            f"{sum(loss[-window:]) / window:.4f}. Learning rate {history.lr[0]:.4g} → "
            f"{history.lr[-1]:.4g}."
        )
        plot.refresh()

    def _draw_parameter(self) -> None:
        plot = self.query_one("#parameter-plot", PlotextPlot)
        note = self.query_one("#parameter-note", Static)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plot.display = False
        history, label = self.history, self.parameter
        if history is None or self.model is None:
            note.update("")
            return
        if not history.snapshot_steps:
            note.update(
                "The history holds no parameter values (train with --snapshot-every K to keep "
                "them), so how a parameter moved cannot be shown."
            )
            return
        if label is None:
            note.update("Inspect a parameter, or type its name and Enter, to see how it moved.")
            return
        try:
            index = parameter_index(self.model.state_dict, label)
        except InputError as error:
            note.update(str(error))
            return
        steps, values = history.track(index)
        note.update(
            f"{label}: {values[0]:+.6f} at step {steps[0]} → {values[-1]:+.6f} at step "
            f"{steps[-1]} ({len(steps)} snapshots, every {history.snapshot_every or '?'} steps)"
        )
        plot.display = True
        plt.plot(steps, values, label=label, marker="braille")
        plt.xlabel("step")
        plot.refresh()
