"""Training and sampling: microgpt's floats and names exactly, resuming, and interruptions."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest
import reference_microgpt as ref

from engine import train as train_module
from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.config import GPTConfig
from engine.errors import InputError
from engine.model import GPT
from engine.train import (
    ADAM,
    HeldSignals,
    Trainer,
    check_temperature,
    sample,
    sample_names,
    shuffled,
)
from engine.train_section import (
    decode_random_state,
    encode_random_state,
    read_train_section,
    train_section,
)
from engine.workspace import Workspace, fresh, from_checkpoint, to_checkpoint

# Names written for these tests (not microgpt's file): short, long, repeated letters.
NAMES = """emma olivia ava isabella sophia mia amelia harper evelyn abigail emily ella
elizabeth camila luna sofia avery mila aria scarlett penelope layla chloe victoria
madison eleanor grace nora riley zoey hannah hazel lily ellie violet lillian zoe
stella aurora natalie emilia everly leah aubrey willow addison lucy audrey bella
nova brooklyn paisley savannah claire skylar isla genesis naomi elena caroline
eliana anna maya valentina ruby kennedy ivy ariana aaliyah cora madelyn alice
kinsley hailey gabriella allison gianna serenity samantha sarah autumn quinn eva
piper sophie sadie delilah josephine nevaeh adeline arya emery lydia clara vivian
madeline peyton julia rylee brielle reagan natalia jade athena maria leilani
everleigh liliana melanie mackenzie hadley raelynn kaylee rose arianna isabelle
melody eliza lyla katherine aubree adalynn kylie faith mary margaret ximena iris
alexandra jasmine charlie amaya taylor isabel ashley khloe ryleigh alexa amara
valeria andrea parker norah eden elliana brianna emersyn valerie anastasia eloise
emerson cecilia remi josie alina reese bailey lucia adalyn molly ayla sara daisy
london jordyn esther genevieve harmony annabelle alyssa ariel aliyah londyn juliana
morgan summer juliette trinity callie sienna blakely alaia kayla teagan alaina
brynlee finley catalina sloane rachel lilly ember kimberly juniper sawyer
christopherson""".split()

TINY = GPTConfig(n_layer=1, n_embd=8, n_head=2, block_size=8)
TWO_LAYERS = GPTConfig(n_layer=2, n_embd=8, n_head=2, block_size=6)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROGPT_TUI_OFFLINE", "1")


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


def reference_run(config: GPTConfig, seed: int, num_steps: int, num_samples: int = 20):
    return ref.train(
        NAMES,
        seed=seed,
        num_steps=num_steps,
        n_layer=config.n_layer,
        n_embd=config.n_embd,
        n_head=config.n_head,
        block_size=config.block_size,
        num_samples=num_samples,
    )


def floats(state_dict) -> dict[str, list[list[float]]]:
    return {name: [[p.data for p in row] for row in mat] for name, mat in state_dict.items()}


def start(
    names_file: Path, config: GPTConfig, seed: int, num_steps: int
) -> tuple[Workspace, Trainer]:
    ws = fresh(seed=seed, data=str(names_file), config=config)
    return ws, Trainer(ws.model, ws.tokenizer, ws.docs, num_steps)


# --- microgpt, exactly ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("config", "seed", "steps"), [(TINY, 42, 30), (TWO_LAYERS, 7, 8)])
def test_losses_weights_and_samples_equal_the_reference(names_file, config, seed, steps):
    # GIVEN the same seed, data and config as a plain microgpt run
    ws, trainer = start(names_file, config, seed, steps)
    # WHEN training and then sampling from the same random stream
    results = trainer.run()
    samples = sample_names(ws.model, ws.tokenizer, 20)
    # THEN every float and every name is microgpt's
    losses, ref_samples, ref_state_dict, uchars = reference_run(config, seed, steps)
    assert [r.loss for r in results] == losses
    assert [r.step for r in results] == list(range(1, steps + 1))
    assert [r.lr for r in results] == [0.01 * (1 - s / steps) for s in range(steps)]
    assert ws.tokenizer.vocab == "".join(uchars)
    assert ws.model.to_floats() == floats(ref_state_dict)
    assert samples == ref_samples
    assert all(p.grad == 0 for p in ws.model.params)


@pytest.mark.slow
def test_default_config_first_steps_equal_the_reference(names_file):
    ws, trainer = start(names_file, GPTConfig(), 42, 3)
    results = trainer.run()
    ours = sample_names(ws.model, ws.tokenizer, 3)
    losses, samples, state_dict, _ = reference_run(GPTConfig(), 42, 3, num_samples=3)
    assert [r.loss for r in results] == losses
    assert ws.model.to_floats() == floats(state_dict)
    assert ours == samples


def test_first_step_on_microgpts_names_file_has_loss_3_3660():
    names = Path(__file__).resolve().parents[2] / "shared" / "data" / "names.txt"
    if not names.is_file():
        pytest.skip(f"microgpt's names file is not at {names}")
    ws = fresh(seed=42, data=str(names))
    trainer = Trainer(ws.model, ws.tokenizer, ws.docs, 1000)
    (first,) = trainer.run(should_stop=_stop_after(1))
    assert f"{first.loss:.4f}" == "3.3660"


def _stop_after(n: int):
    calls = iter(range(10**9))
    return lambda: next(calls) >= n


def test_sampling_at_other_temperatures_matches_the_reference_formula(names_file):
    ws = fresh(seed=3, data=str(names_file), config=TINY)
    state = random.getstate()
    ours = [sample(ws.model, ws.tokenizer, t) for t in (0.2, 1.0, 2.5)]
    random.setstate(state)
    # the reference's sampler, written out: the same draws from the same stream
    sd = {n: [[ref.Value(x) for x in row] for row in m] for n, m in ws.model.to_floats().items()}
    theirs = []
    for t in (0.2, 1.0, 2.5):
        keys, values = [[]], [[]]
        token_id, chars = ws.tokenizer.BOS, []
        for pos_id in range(TINY.block_size):
            logits = ref.gpt(sd, 1, TINY.n_head, token_id, pos_id, keys, values)
            probs = ref.softmax([lg / t for lg in logits])
            weights = [p.data for p in probs]
            token_id = random.choices(range(ws.tokenizer.vocab_size), weights=weights)[0]
            if token_id == ws.tokenizer.BOS:
                break
            chars.append(ws.tokenizer.uchars[token_id])
        theirs.append("".join(chars))
    assert ours == theirs


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), float("-inf")])
def test_bad_temperatures_are_refused(bad):
    with pytest.raises(InputError, match="temperature"):
        check_temperature(bad)


def test_a_temperature_too_small_to_compute_is_an_input_error(names_file):
    ws = fresh(seed=3, data=str(names_file), config=TINY)
    with pytest.raises(InputError, match="too small"):
        sample(ws.model, ws.tokenizer, 1e-320)


# --- resuming ---------------------------------------------------------------------------


def test_checkpoint_round_trip_then_resume_equals_uninterrupted_training(names_file, tmp_path):
    steps = 16
    # GIVEN an uninterrupted run
    ws_a, trainer_a = start(names_file, TINY, 5, steps)
    losses_a = [r.loss for r in trainer_a.run()]
    samples_a = sample_names(ws_a.model, ws_a.tokenizer, 10)
    # WHEN a second run stops after 6 steps, is saved, loaded and resumed
    ws_b, trainer_b = start(names_file, TINY, 5, steps)
    losses_b = [r.loss for r in trainer_b.run(should_stop=_stop_after(6))]
    assert trainer_b.step == 6
    section = train_section(
        trainer_b, seed=5, data="names.txt", fingerprint="x", num_docs=len(NAMES)
    )
    path = tmp_path / "c.json"
    save_checkpoint(path, to_checkpoint(ws_b, section))
    random.seed(12345)  # anything in between moves the global stream
    ws_c = from_checkpoint(path)
    state, adam = read_train_section(ws_c.train_state, len(ws_c.model.params))
    assert adam == ADAM and state.step == 6 and state.num_steps == steps
    docs = shuffled(NAMES, ws_c.train_state["seed"])
    assert docs == ws_b.docs
    trainer_c = Trainer(ws_c.model, ws_c.tokenizer, docs, steps, state=state, adam=adam)
    random.setstate(decode_random_state(ws_c.train_state["random_state"]))
    results = trainer_c.run()
    # THEN it ends exactly where the uninterrupted run ended
    assert [r.step for r in results] == list(range(7, steps + 1))
    assert losses_b + [r.loss for r in results] == losses_a
    assert ws_c.model.to_floats() == ws_a.model.to_floats()
    assert sample_names(ws_c.model, ws_c.tokenizer, 10) == samples_a


def test_resuming_with_a_longer_schedule_stretches_the_learning_rate(names_file):
    ws, trainer = start(names_file, TINY, 5, 4)
    trainer.run()
    longer = Trainer(ws.model, ws.tokenizer, ws.docs, 10, state=trainer.state)
    results = longer.run()
    assert [r.step for r in results] == [5, 6, 7, 8, 9, 10]
    assert [r.lr for r in results] == [0.01 * (1 - s / 10) for s in range(4, 10)]


def test_random_state_round_trips_through_json():
    random.seed(99)
    random.gauss(0, 1)  # leaves gauss_next set
    state = random.getstate()
    assert state[2] is not None
    import json

    assert decode_random_state(json.loads(json.dumps(encode_random_state()))) == state


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: None,
        lambda s: {**s, "internal": s["internal"][:-1]},
        lambda s: {**s, "internal": [-1] + s["internal"][1:]},
        lambda s: {**s, "internal": s["internal"][:-1] + [625]},
        lambda s: {**s, "gauss_next": "x"},
        lambda s: {**s, "version": 99},
        lambda s: {k: v for k, v in s.items() if k != "version"},
    ],
)
def test_a_damaged_random_state_is_an_input_error(damage):
    with pytest.raises(InputError, match="its random state"):
        decode_random_state(damage(encode_random_state()))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.pop("step"), 'no "step"'),
        (lambda t: t.update(step=-1), "step"),
        (lambda t: t.update(step=9, num_steps=4), "past its num_steps"),
        (lambda t: t.update(num_steps=0), "num_steps"),
        (lambda t: t["optimizer"].update(name="sgd"), "not Adam"),
        (lambda t: t["optimizer"]["m"].pop(), "Adam m"),
        (lambda t: t["optimizer"]["v"].__setitem__(0, -1.0), "Adam v"),
        (lambda t: t["optimizer"]["m"].__setitem__(3, "x"), "Adam m"),
        (lambda t: t["optimizer"].update(lr=None), "Adam lr"),
    ],
)
def test_a_damaged_train_section_is_an_input_error(names_file, damage, message):
    ws, trainer = start(names_file, TINY, 5, 4)
    section = train_section(trainer, seed=5, data=None, fingerprint="x", num_docs=1)
    damage(section)
    with pytest.raises(InputError, match=message):
        read_train_section(section, len(ws.model.params))


# --- stopping and interruptions -----------------------------------------------------------


def test_request_stop_ends_the_run_at_a_step_boundary(names_file):
    ws, trainer = start(names_file, TINY, 5, 10)
    seen = []

    def on_step(result):
        seen.append(result.step)
        if result.step == 3:
            trainer.request_stop()

    trainer.run(on_step=on_step)
    assert seen == [1, 2, 3] and trainer.step == 3


def test_ctrl_c_during_a_step_discards_it(names_file, monkeypatch):
    # GIVEN a run whose 4th forward pass is interrupted
    ws, trainer = start(names_file, TINY, 5, 10)
    calls = []
    real = train_module.document_loss

    def interrupted(model, tokens):
        calls.append(1)
        loss = real(model, tokens)
        if len(calls) == 4:
            loss.backward()  # even with gradients half-way to the update
            raise KeyboardInterrupt
        return loss

    monkeypatch.setattr(train_module, "document_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    # THEN the model is exactly that of step 3, with no gradients left over
    assert trainer.step == 3
    assert all(p.grad == 0 for p in ws.model.params)
    # (the same 3 steps of a 10-step schedule, uninterrupted; the schedule's length
    # matters, so this is compared with the engine, itself checked against the reference)
    ws_ref, ref_trainer = start(names_file, TINY, 5, 10)
    ref_trainer.run(should_stop=_stop_after(3))
    assert ws.model.to_floats() == ws_ref.model.to_floats()
    assert trainer.state.m == ref_trainer.state.m and trainer.state.v == ref_trainer.state.v


def test_ctrl_c_during_the_update_is_held_back_until_it_is_done():
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    done = []
    with HeldSignals() as held:
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the rest of the update")
    assert done == ["the rest of the update"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        held.deliver()
    held.deliver()  # once only


def test_ctrl_c_held_back_in_an_update_is_raised_after_that_steps_report(names_file, monkeypatch):
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    # GIVEN a Ctrl-C that arrives while step 2 updates the parameters
    ws, trainer = start(names_file, TINY, 5, 10)

    class CtrlCInUpdate(HeldSignals):
        def __enter__(self):
            held = super().__enter__()
            if trainer.step == 1:
                os.kill(os.getpid(), signal.SIGINT)
            return held

    monkeypatch.setattr(train_module, "HeldSignals", CtrlCInUpdate)
    reported = []
    # WHEN training
    with pytest.raises(KeyboardInterrupt):
        trainer.run(on_step=lambda r: reported.append(r.step))
    # THEN step 2 completed and was reported before the interrupt
    assert trainer.step == 2 and reported == [1, 2]


def test_trainer_refuses_impossible_runs(names_file):
    ws = fresh(seed=1, data=str(names_file), config=TINY)
    with pytest.raises(InputError):
        Trainer(ws.model, ws.tokenizer, [], 10)
    with pytest.raises(InputError):
        Trainer(ws.model, ws.tokenizer, ws.docs, 0)


def test_the_default_model_is_microgpts_own_final_model():
    from engine.workspace import default_model_path

    path = default_model_path()
    if not path.is_file():
        pytest.skip("the default model has not been generated")
    ckpt = load_checkpoint(path)
    assert ckpt.config == GPTConfig()
    train = ckpt.train
    assert train["step"] == train["num_steps"] == 1000
    assert train["seed"] == 42 and train["data"] == "names.txt"
    assert train["num_docs"] == 32033
    assert f"{train['last_loss']:.4f}" == "2.6497"
    model = GPT.from_floats(ckpt.config, ckpt.state_dict)
    assert len(model.params) == 4192


# --- divergence and SIGTERM (issue 13) ------------------------------------------------------


@pytest.mark.parametrize("grad", [float("inf"), 1e200])
def test_a_step_that_would_make_a_weight_non_finite_is_not_taken(names_file, monkeypatch, grad):
    # GIVEN a run whose 3rd backward pass leaves one gradient at inf (or one whose
    # square overflows)
    ws, trainer = start(names_file, TINY, 5, 10)
    real, calls = train_module.document_loss, []

    def document_loss(model, tokens):
        calls.append(1)
        loss = real(model, tokens)
        if len(calls) != 3:
            return loss

        class Loss:  # the loss, whose backward pass leaves one odd gradient
            data = loss.data

            def backward(self):
                loss.backward()
                model.params[7].grad = grad

        return Loss()

    monkeypatch.setattr(train_module, "document_loss", document_loss)
    with pytest.raises(train_module.Diverged, match="diverged at step 3") as raised:
        trainer.run()
    # THEN the model, the moments and the step are those of step 2, with no grads left
    assert raised.value.step == 3 and trainer.step == 2
    ws_ref, ref_trainer = start(names_file, TINY, 5, 10)
    ref_trainer.run(should_stop=_stop_after(2))
    assert ws.model.to_floats() == ws_ref.model.to_floats()
    assert trainer.state.m == ref_trainer.state.m and trainer.state.v == ref_trainer.state.v
    assert all(p.grad == 0 for p in ws.model.params)


def test_sigterm_during_the_update_is_held_back_too():
    if os.name != "posix":
        pytest.skip("needs POSIX signals")
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with HeldSignals() as held:
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == []  # held
        held.deliver()
        assert received == [signal.SIGTERM]  # delivered to the handler it displaced
    finally:
        signal.signal(signal.SIGTERM, previous)
