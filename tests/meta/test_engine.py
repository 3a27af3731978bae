"""The shared search: one set of cases for every check, shrinking per failing check, the memo."""

from __future__ import annotations

import numpy as np
import pytest

from vae_spec import Target, check
from vae_spec.checks._engine import SKIP, Context, Failure, Property, run, search, shrink
from vae_spec.frameworks import get_adapter
from vae_spec.runner import infer


def correct_loss(x_recon, x, mu, logvar):
    bce = np.logaddexp(0, x_recon) - x * x_recon
    kl = -0.5 * (1 + logvar - mu * mu - np.exp(logvar))
    return np.mean(bce.sum(axis=1) + kl.sum(axis=1))


def context(fn=correct_loss, max_examples=20, seed=0):
    target = Target(fn, framework="numpy", args=("x_recon", "x", "mu", "logvar"),
                    likelihood="bernoulli-logits")
    return Context(target=target, adapter=get_adapter("numpy"), dtypes=("float32", "float64"),
                   max_examples=max_examples, seed=seed)


def fails_from_batch_3(case):
    return Failure("B >= 3") if case.batch_size >= 3 else None


def test_every_property_sees_every_case_until_it_fails():
    seen = {"first": [], "second": []}

    def record(name):
        def holds(case):
            seen[name].append(case)
        return holds

    first, second = run(context(), [Property("first", "c", record("first")), Property("second", "c", record("second"))])
    assert first.status == second.status == "pass"
    assert len(seen["first"]) == len(seen["second"]) == first.examples > 20  # pinned cases + 20 drawn
    assert all(a is b for a, b in zip(seen["first"], seen["second"]))  # the same cases, in order


def test_a_failing_property_is_shrunk_alone_as_its_own_search_shrinks_it():
    """The shared search finds B >= 3; the search of that property alone shrinks it to B = 3,
    the minimal failing batch, whatever the other properties do."""
    ctx = context()
    shared, passing = run(ctx, [Property("fails", "c", fails_from_batch_3), Property("passes", "c", lambda case: None)])
    alone = shrink(context(), Property("fails", "c", fails_from_batch_3))
    assert shared.status == alone.status == "fail" and passing.status == "pass"
    assert np.asarray(shared.counterexample["inputs"]["mu"]).shape[0] == 3
    assert shared.counterexample == alone.counterexample


def test_a_property_off_the_pinned_cases_is_shrunk_alone_to_the_same_case():
    unpinned = Property("fails", "c", fails_from_batch_3, pinned=False)
    shared, _ = run(context(), [unpinned, Property("passes", "c", lambda case: None)])
    alone = shrink(context(), unpinned)
    assert shared.status == alone.status == "fail"
    assert shared.counterexample == alone.counterexample


def test_a_crashing_property_is_an_error_of_its_own_check_only():
    def crashes(case):
        raise ZeroDivisionError("a defect in the check")

    crashed, passing = run(context(), [Property("crashes", "c", crashes), Property("passes", "c", lambda case: None)])
    assert crashed.status == "error" and "ZeroDivisionError" in crashed.message
    assert passing.status == "pass"


def test_skipped_cases_are_not_counted_as_conforming():
    result, = run(context(), [Property("skips", "c", lambda case: SKIP)])
    assert result.status == "skip"


def test_the_function_is_called_once_per_distinct_input_and_dtype():
    calls = []

    def counted(x_recon, x, mu, logvar):
        calls.append(tuple((a.dtype.name, a.shape, a.tobytes()) for a in (x_recon, x, mu, logvar)))
        return correct_loss(x_recon, x, mu, logvar)

    ctx = context(counted)

    def calls_twice(case):
        inputs = ctx.round(case)
        first, second = ctx.call(inputs, case.dtype), ctx.call(inputs, case.dtype)
        assert np.array_equal(first.output, second.output)

    run(ctx, [Property("a", "c", calls_twice), Property("b", "c", calls_twice)])
    assert len(calls) == len(set(calls)) > 0


def test_a_random_target_is_called_afresh_every_time():
    ctx = context()
    ctx.target = Target(correct_loss, framework="numpy", term="stochastic_loss",
                        args=("x_recon", "x", "mu", "logvar"), likelihood="bernoulli-logits")
    assert not ctx.deterministic


@pytest.mark.framework("jax")
def test_a_function_that_compiles_per_shape_is_checked_on_one_bucket():
    """jax.jit traces once per new (shape, dtype): the traces are the compilations. Searched on
    the (B, d, D) = (3, 5, 7) bucket, with data and latent declared, the drawn cases run at B = 3
    with d in {5, 10} and D in {12, 24} (the doubled sizes of the scaling relations), and at
    B = 1 (the pinned cases and the single rows of the batch relations)."""
    import jax.numpy as jnp

    traced = set()

    def loss(x_recon, x, mu, logvar):
        traced.add((x.shape, mu.shape, str(x.dtype)))  # Python runs only while jax traces
        bce = -(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon))
        kl = 0.5 * (mu * mu + jnp.exp(logvar) - 1 - logvar)
        return jnp.mean(bce.sum(axis=1) + kl.sum(axis=1))

    target = Target(loss, framework="jax", args=("x_recon", "x", "mu", "logvar"),
                    likelihood="bernoulli-probs", data_shape=(12,), latent_shape=(5,))
    layout = infer(target)  # the probes of shape inference run at their own shapes
    traced.clear()
    report = check(target, layout=layout, raise_on_failure=False)
    assert report.passed, report.to_text()
    searched = {(x, mu) for x, mu, _ in traced}  # shapes the inference probes traced are cached
    bucket = {((1, 12), (1, 5)), ((3, 12), (3, 5)), ((3, 24), (3, 5)), ((3, 12), (3, 10))}
    assert searched <= bucket and len(searched) >= 3, searched


def test_a_seed_draws_the_same_cases_whatever_else_the_process_imported(tmp_path, monkeypatch):
    """Hypothesis draws numbers found in the source of local modules; a check must not, or its
    cases would change when a test module or the user's package is imported."""
    import importlib
    import sys

    def drawn():
        seen = []
        run(context(max_examples=30), [Property("record", "c", lambda case: seen.append(case))])
        return [(c.dtype, c.regime, tuple(v.tobytes() for v in c.inputs.values())) for c in seen]

    before = drawn()
    constants = ", ".join(f"{0.1 + 0.37 * k!r}" for k in range(200))
    (tmp_path / "module_full_of_constants.py").write_text(f"VALUES = [{constants}, 1e-3, 0.75, -2.5, 3e4]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("module_full_of_constants")
    try:
        assert drawn() == before
    finally:
        sys.modules.pop("module_full_of_constants", None)
