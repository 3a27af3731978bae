"""Shape and dtype inference: losses written for one rank are checked at it, declared shapes
are probed for other sizes, unsupported dtypes are warnings, and a function that never runs
gets no verdict. Each test pairs the inferred case with one that must come out differently."""

from __future__ import annotations

import numpy as np
import pytest

from vae_spec import Convention, Target, TargetError, check, diagnose
from vae_spec.checks import Context
from vae_spec.engine.inference import infer_layout
from vae_spec.engine.layout import Axes
from vae_spec.frameworks.base import get_adapter

ARGS = ("x_recon", "x", "mu", "logvar")


def _kl_rows(mu, logvar, axis=1):
    return -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=axis)


def _bce(x_recon, x):
    return -(x * np.log(x_recon) + (1 - x) * np.log(1 - x_recon))


def flat_loss(x_recon, x, mu, logvar):  # sums over axis 1: written for (B, D)
    return np.mean(np.sum(_bce(x_recon, x), axis=1) + _kl_rows(mu, logvar))


def image_loss(x_recon, x, mu, logvar):  # sums over (1, 2, 3): written for images
    return np.mean(np.sum(_bce(x_recon, x), axis=(1, 2, 3)) + _kl_rows(mu, logvar))


def conv_latent_loss(x_recon, x, mu, logvar):  # a convolutional latent, summed over (1, 2, 3)
    return np.mean(np.sum(_bce(x_recon, x), axis=1) + _kl_rows(mu, logvar, axis=(1, 2, 3)))


def mnist_loss(x_recon, x, mu, logvar):  # hard-codes 784 data elements, as pytorch/examples
    bce = np.sum(_bce(x_recon.reshape(-1, 784), x.reshape(-1, 784)))
    return bce + np.sum(_kl_rows(mu, logvar))


def float32_only(x_recon, x, mu, logvar):  # raises on float64 inputs, as a float32 constant in TF does
    if x.dtype == np.float64:
        raise TypeError("expected a float tensor, got a double tensor")
    return flat_loss(x_recon, x, mu, logvar)


def always_raises(x_recon, x, mu, logvar):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


def layout_of(fn, **kwargs):
    target = Target(fn, framework="numpy", args=ARGS, likelihood="bernoulli-probs", **kwargs)
    return infer_layout(Context(target=target, adapter=get_adapter("numpy"),
                                dtypes=("float32", "float64")))


@pytest.mark.parametrize(("fn", "latent", "data"), [
    (flat_loss, "(B, d)", "(B, D)"),
    (image_loss, "(B, d)", "(B, C, H, W)"),
    (conv_latent_loss, "(B, C, H, W)", "(B, D)"),
])
def test_the_rank_a_loss_is_written_for_is_inferred(fn, latent, data):
    layout = layout_of(fn)
    assert layout.latent.family.words == latent and layout.data.family.words == data
    assert layout.latent.source == layout.data.source == "inferred"
    assert layout.dtypes == ("float32", "float64") and not layout.unsupported


def test_a_hard_coded_size_is_found_and_is_the_only_size():
    layout = layout_of(mnist_loss)
    assert layout.data.shape == (784,) and not layout.data.varies and not layout.data.free


def test_a_declared_shape_is_free_when_the_function_takes_other_sizes():
    assert layout_of(flat_loss, data_shape=(784,)).data.free
    assert not layout_of(mnist_loss, data_shape=(784,)).data.free
    assert not layout_of(mnist_loss, data_shape=(1, 28, 28)).data.free


def test_bumped_shapes_are_not_multiples_of_the_original():
    for shape in ((784,), (1, 28, 28), (28, 28, 1), (1,), (3, 1)):
        bumped = Axes(shape, "declared").bumped()
        assert len(bumped) == len(shape)
        assert np.prod(bumped) % np.prod(shape) != 0 or np.prod(shape) == 1


def test_inferred_image_losses_pass_check_and_vary_their_sizes():
    target = Target(image_loss, framework="numpy", args=ARGS, likelihood="bernoulli-probs")
    report = check(target, max_examples=10)
    by_name = {r.name: r for r in report.checks}
    assert by_name["data_scaling"].status == "pass" and by_name["latent_scaling"].status == "pass"
    assert "data (B, C, H, W) (inferred)" in report.to_text()


def test_a_fixed_size_skips_the_scaling_check_and_says_why():
    target = Target(mnist_loss, framework="numpy", args=ARGS, likelihood="bernoulli-probs",
                    convention=Convention(batch="sum"))
    report = check(target, max_examples=5, checks=("value", "data_scaling", "latent_scaling"))
    by_name = {r.name: r for r in report.checks}
    assert by_name["value"].status == "pass"
    assert by_name["data_scaling"].status == "skip"
    assert "only the data shape (784,)" in by_name["data_scaling"].message
    assert by_name["latent_scaling"].status == "pass"


def test_a_dtype_the_function_cannot_run_in_is_a_warning_and_left_out():
    layout = layout_of(float32_only)
    assert layout.dtypes == ("float32",)
    assert dict(layout.unsupported)["float64"].startswith("TypeError: expected a float tensor")
    target = Target(float32_only, framework="numpy", args=ARGS, likelihood="bernoulli-probs")
    report = check(target, max_examples=5)
    assert report.passed
    warning = next(r for r in report.checks if r.code == "dtype-unsupported")
    assert warning.severity == "warning" and "float64" in warning.message
    assert "dtype-unsupported" in diagnose(Target(float32_only, framework="numpy", args=ARGS)).codes
    # where it runs in every dtype there is no such warning
    assert not any(r.code == "dtype-unsupported" for r in check(
        Target(flat_loss, framework="numpy", args=ARGS, likelihood="bernoulli-probs"), max_examples=5).checks)


def test_a_function_that_never_runs_gets_no_verdict_from_check_or_diagnose():
    target = Target(always_raises, framework="numpy", args=ARGS, likelihood="bernoulli-probs")
    for run in (lambda: check(target, max_examples=5), lambda: diagnose(target)):
        with pytest.raises(TargetError, match="raised on every call, so it gets no verdict"):
            run()


@pytest.mark.framework("torch")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # numpy's ufuncs on torch tensors
def test_a_numpy_function_declared_as_torch_gets_the_framework_hint():
    target = Target(flat_loss, framework="torch", args=ARGS, likelihood="bernoulli-probs")
    with pytest.raises(TargetError) as raised:
        check(target, max_examples=5)
    assert "check --framework" in str(raised.value)
