"""microgpt's training loop (Adam, one document per step) and its sampler, untraced.

Training and sampling do exactly what microgpt's script does, float for float, so
the same seed and data give the same losses and the same names:

    for step in range(num_steps):
        loss = document_loss(docs[step % len(docs)])  # forward
        loss.backward()                               # backward
        lr_t = lr * (1 - step / num_steps)            # linear decay to 0
        Adam update of every parameter, bias correction with step + 1; p.grad = 0

Training draws no random numbers: after initialisation the global `random` stream
is only used by sampling. A checkpoint's "train" section (`engine.train_section`)
keeps what is needed to go on exactly where a run stopped: the step counter and the
schedule's length, Adam's moments, and `random.getstate()`.

Resuming. `step` counts completed steps and `num_steps` is the length of the
learning-rate schedule (microgpt's `num_steps`). A run always trains the global
steps `step, step + 1, ..., num_steps - 1` with `lr_t = lr * (1 - s / num_steps)`
and bias correction `s + 1`, where `s` is the global step. So a run of 1000 steps
that stopped after 400 and resumes with `num_steps=1000` does the remaining 600
steps exactly as the uninterrupted run would have: same floats, same samples.
Resuming with a larger `num_steps` goes on training on the next documents with the
schedule stretched to the new length (the learning rate jumps up to
`lr * (1 - step / num_steps)` and decays to 0 again); Adam's moments carry over.
"""

from __future__ import annotations

import math
import random
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.capture import paused_gc
from engine.data import Tokenizer
from engine.errors import InputError
from engine.model import GPT, document_loss, softmax
from engine.value import Value

DEFAULT_TEMPERATURE = 0.5  # microgpt's: in (0, 1], "creativity" of the samples


@dataclass(frozen=True)
class Adam:
    """microgpt's optimiser hyper-parameters."""

    lr: float = 0.01  # initial learning rate, decayed linearly to 0 over num_steps
    beta1: float = 0.85  # decay of the first moment (mean of the gradient)
    beta2: float = 0.99  # decay of the second moment (mean of the squared gradient)
    eps: float = 1e-8  # keeps the update finite where the second moment is ~0


ADAM = Adam()


@dataclass(frozen=True)
class StepResult:
    """What one training step reports: its number (1-based, as microgpt prints it)."""

    step: int  # 1..num_steps: the global step just completed
    loss: float  # the document loss before the update
    lr: float  # the learning rate used for the update


class Diverged(InputError):
    """Training met a non-finite loss or weight at `step`; the model is the step before's."""

    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"training diverged at step {step}: {what}")
        self.step = step


@dataclass
class TrainState:
    """Where training is: steps completed, the schedule's length, Adam's moments."""

    step: int  # completed steps; the next step trains on docs[step % len(docs)]
    num_steps: int  # microgpt's num_steps: the learning rate reaches 0 there
    m: list[float] = field(default_factory=list)  # first moments, one per parameter
    v: list[float] = field(default_factory=list)  # second moments, one per parameter


class Trainer:
    """microgpt's training loop over `docs` (already shuffled), one document per step.

    Given a saved `state`, training goes on from `state.step`, with `num_steps` as
    the schedule's new length. `run()` trains up to `num_steps`; `on_step` is called
    after each completed step, and `request_stop()` (or `should_stop` returning True)
    ends the run at the next step boundary. A KeyboardInterrupt during a step's
    forward or backward pass discards that step (its partial gradients are cleared),
    and the parameter update holds Ctrl-C and SIGTERM back until the step is done
    and reported. A step whose loss, or whose updated weights or moments, are not
    finite raises `Diverged` and is not taken. Whenever `run()` raises, the model
    and `state` are exactly those of the last completed step, ready to be saved.
    """

    def __init__(
        self,
        model: GPT,
        tokenizer: Tokenizer,
        docs: Sequence[str],
        num_steps: int,
        *,
        state: TrainState | None = None,
        adam: Adam = ADAM,
    ) -> None:
        if not docs:
            raise InputError("there are no documents to train on")
        n_params = len(model.params)
        if state is None:
            state = TrainState(0, num_steps, [0.0] * n_params, [0.0] * n_params)
        else:
            state.num_steps = num_steps
        if len(state.m) != n_params or len(state.v) != n_params:
            raise InputError(
                f"the optimizer state has {len(state.m)} moments for {n_params} parameters"
            )
        if num_steps <= 0:
            raise InputError(f"the number of steps must be positive, got {num_steps}")
        if state.step > num_steps:
            raise InputError(f"already at step {state.step}, past num_steps={num_steps}")
        self.model = model
        self.tokenizer = tokenizer
        self.docs = list(docs)
        self.state = state
        self.adam = adam
        self._stop = False

    @property
    def step(self) -> int:
        """Completed steps."""
        return self.state.step

    @property
    def num_steps(self) -> int:
        return self.state.num_steps

    def lr_at(self, step: int) -> float:
        """The learning rate of global step `step` (0-based): linear decay to 0."""
        return self.adam.lr * (1 - step / self.state.num_steps)

    def request_stop(self) -> None:
        """Stop at the next step boundary (safe to call from another thread)."""
        self._stop = True

    def run(
        self,
        on_step: Callable[[StepResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[StepResult]:
        """Train until `num_steps` or a stop request; the steps done, in order.

        A Ctrl-C or SIGTERM during a step's update or its `on_step` is held back
        and delivered after both, so whatever `on_step` records (a log line) covers every
        completed step, and a completed step is always recorded.
        """
        self._stop = False
        done: list[StepResult] = []
        while self.state.step < self.state.num_steps:
            if self._stop or (should_stop is not None and should_stop()):
                break
            loss = self._forward_backward()
            with HeldSignals() as held:
                result = self._update(loss)
                done.append(result)
                if on_step is not None:
                    on_step(result)
            held.deliver()
        return done

    def _forward_backward(self) -> Value:
        """The loss of this step's document, with every parameter's grad (interruptible)."""
        tokens = self.tokenizer.encode(self.docs[self.state.step % len(self.docs)])
        try:
            with paused_gc():  # the graph has no cycles: refcounting frees it
                loss = document_loss(self.model, tokens)
                loss.backward()
        except BaseException:
            self._discard_step()  # no partial gradients left behind
            raise
        if not math.isfinite(loss.data):
            self._discard_step()
            raise Diverged(self.state.step + 1, f"the loss is {loss.data}")
        return loss

    def _update(self, loss: Value) -> StepResult:
        """microgpt's Adam update from the grads `loss.backward()` left; the step is done.

        The new moments and weights are computed first and kept only if every one is
        finite: a diverging step raises `Diverged` and leaves the last finite state.
        """
        state, adam = self.state, self.adam
        step = state.step
        lr_t = self.lr_at(step)
        beta1, beta2, eps_adam = adam.beta1, adam.beta2, adam.eps
        params = self.model.params
        m, v, data = list(state.m), list(state.v), [p.data for p in params]
        try:
            for i, p in enumerate(params):
                m[i] = beta1 * m[i] + (1 - beta1) * p.grad
                v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
                m_hat = m[i] / (1 - beta1 ** (step + 1))
                v_hat = v[i] / (1 - beta2 ** (step + 1))
                data[i] -= lr_t * m_hat / (v_hat**0.5 + eps_adam)
            finite = all(map(math.isfinite, data)) and all(map(math.isfinite, v + m))
        except (OverflowError, ZeroDivisionError):
            finite = False
        if not finite:
            self._discard_step()
            raise Diverged(step + 1, "a weight or Adam moment would become inf or nan")
        state.m[:], state.v[:] = m, v
        for p, x in zip(params, data):
            p.data = x
            p.grad = 0
        state.step = step + 1
        return StepResult(step + 1, loss.data, lr_t)

    def _discard_step(self) -> None:
        """Forget this step's gradients: the model stays that of the last completed step."""
        for p in self.model.params:
            p.grad = 0


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # what a step's update holds back


class HeldSignals:
    """Holds Ctrl-C (SIGINT) and SIGTERM back during a block; `deliver()` then acts on one.

    Only the main thread receives signals, so elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.held: list[int] = []  # the signals received in the block, in order
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in HELD_SIGNALS:
                self.previous[signum] = signal.signal(signum, self._hold)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _hold(self, signum: int, frame: Any) -> None:
        self.held.append(signum)

    def deliver(self) -> None:
        """Act on the first held signal as the handler it displaced does (once).

        The handlers are back in place, so the signal is simply raised again: Python's
        default for SIGINT raises KeyboardInterrupt, the system's for SIGTERM ends the
        process, and a handler the program installed runs.
        """
        if not self.held:
            return
        signum, self.held = self.held[0], []
        signal.raise_signal(signum)


# --- sampling -----------------------------------------------------------------------------


def check_temperature(temperature: float) -> float:
    if not (isinstance(temperature, int | float) and math.isfinite(temperature)):
        raise InputError(f"temperature must be a finite number > 0, got {temperature!r}")
    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature!r}")
    return float(temperature)


def sample(model: GPT, tokenizer: Tokenizer, temperature: float = DEFAULT_TEMPERATURE) -> str:
    """One document, exactly as microgpt samples it, drawing from the global `random`.

    Starting from BOS, each position's logits are divided by the temperature, the
    next token is drawn with `random.choices` from their softmax, and sampling stops
    at BOS or after block_size tokens.
    """
    check_temperature(temperature)
    n_layer, block_size = model.config.n_layer, model.config.block_size
    vocab_size, BOS = tokenizer.vocab_size, tokenizer.BOS
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    token_id = BOS
    chars = []
    try:
        with paused_gc():
            for pos_id in range(block_size):
                logits = model.gpt(token_id, pos_id, keys, values)
                probs = softmax([l / temperature for l in logits])  # noqa: E741
                token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
                if token_id == BOS:
                    break
                chars.append(tokenizer.uchars[token_id])
    except (OverflowError, ValueError, ZeroDivisionError):
        raise InputError(
            f"temperature {temperature!r} is too small: the probabilities overflow"
        ) from None
    return "".join(chars)


def sample_names(
    model: GPT, tokenizer: Tokenizer, num: int, temperature: float = DEFAULT_TEMPERATURE
) -> list[str]:
    """`num` samples in a row, as microgpt's inference loop draws them."""
    return [sample(model, tokenizer, temperature) for _ in range(num)]


def shuffled(docs: Sequence[str], seed: int) -> list[str]:
    """The documents in the order microgpt trains on: `random.seed(seed); shuffle(docs)`."""
    docs = list(docs)
    random.Random(seed).shuffle(docs)
    return docs
