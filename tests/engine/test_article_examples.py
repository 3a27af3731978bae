"""The seed article's three Keras/TensorFlow losses, declared as the ELBO, each fail ``check``.

Each loss returns ``keras.losses.mse(x, x_decoded_mean)`` (a (B,) vector: the squared error
averaged over the data elements) plus a KL scalar, and Keras averages the vector over the batch,
so the declaration is the per-example negative ELBO (batch "none") with a unit-variance
Gaussian decoder. What each departure must trip:

* all three: the mse is a mean over data elements (``data_scaling``: recon-data-mean), and the
  value differs from the ELBO's even where the KL is 0 (``value``, named by the report's
  findings, recon-data-mean among them, as diagnose names it);
* Examples 1 and 2: ``tf.reduce_mean`` averages the KL over the latent dimensions
  (``latent_scaling``: kl-latent-mean) and over the batch, so each example's loss depends on
  the other examples (``batch_consistency``); a repeated or reordered batch has the same
  mean KL, so ``batch_scaling`` and ``batch_permutation`` pass;
* Example 3: ``tf.reduce_sum`` sums the KL over the batch, so a batch of R copies of one
  example carries R times its KL (``batch_scaling`` and ``batch_consistency``:
  batch-mismatch), while the sum over latent dimensions is right (``latent_scaling`` passes).
"""

from __future__ import annotations

import pytest

from vae_spec import ConformanceError, Convention, Target, check

pytestmark = pytest.mark.framework("tensorflow")

ARGS = {"x": "x", "x_decoded_mean": "x_recon", "z_mean": "mu", "z_log_var": "logvar"}
EXAMPLES = ("example1_vae_loss", "example2_vae_loss_incorrect", "example3_vae_loss_dimension_error")
MAX_EXAMPLES = 10
ALWAYS_PASS = ("returns_array", "dtype", "finite")


def article_target(name):
    from vae_spec.examples import article

    return Target(getattr(article, name), framework="tensorflow", term="loss", args=ARGS,
                  likelihood="gaussian", convention=Convention(batch="none"))


@pytest.fixture(scope="module")
def reports():
    """Each example's report, from the ConformanceError that check raises."""
    out = {}
    for name in EXAMPLES:
        with pytest.raises(ConformanceError) as raised:
            check(article_target(name), max_examples=MAX_EXAMPLES)
        out[name] = raised.value.report
    return out


def results(report):
    return {result.name: result for result in report.checks}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_failure_has_a_counterexample_and_a_repro(reports, name):
    report = reports[name]
    assert not report.passed and report.failures
    for result in report.failures:
        assert result.status == "fail", result.message  # no check crashed
        assert result.counterexample["inputs"].keys() == {"x", "x_recon", "mu", "logvar"}
        assert "example" in result.repro


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_loss_runs_and_keeps_its_inputs(reports, name):
    by_name = results(reports[name])
    for check_name in ALWAYS_PASS:
        assert by_name[check_name].status == "pass", by_name[check_name].message
    # TensorFlow tensors cannot be modified in place: the check says so instead of passing
    assert by_name["no_mutation"].status == "skip" and "immutable" in by_name["no_mutation"].message


@pytest.mark.parametrize("name", EXAMPLES)
def test_mse_is_a_data_mean_and_not_the_gaussian_log_likelihood(reports, name):
    by_name = results(reports[name])
    assert by_name["data_scaling"].status == "fail"
    assert by_name["data_scaling"].code == "recon-data-mean"
    assert by_name["value"].status == "fail"
    named = {f.code for f in reports[name].findings}
    assert "recon-data-mean" in named and by_name["value"].code in named
    assert by_name["value"].margin > 1


@pytest.mark.parametrize("name", EXAMPLES)
def test_keras_mse_is_checked_on_the_flat_data_it_is_written_for(reports, name):
    # mse reduces the last axis only, so the loss is written for (B, D) data: the inferred
    # layout, where its output has the declared shape
    report = reports[name]
    assert report.layout_data["data"]["rank"] == "(B, D)"
    assert report.layout_data["data"]["source"] == "inferred"
    assert results(report)["shape"].status == "pass"


@pytest.mark.parametrize("name", EXAMPLES[:2])
def test_reduce_mean_averages_the_kl_over_latent_dimensions_and_the_batch(reports, name):
    by_name = results(reports[name])
    latent = by_name["latent_scaling"]
    assert latent.status == "fail" and latent.code == "kl-latent-mean"
    assert "behaves as a mean" in latent.message
    assert by_name["batch_consistency"].status == "fail"
    assert by_name["batch_consistency"].code == "batch-mismatch"
    # the batch mean of identical or reordered examples is unchanged
    assert by_name["batch_scaling"].status == "pass"
    assert by_name["batch_permutation"].status == "pass"


def test_example_3_sums_the_kl_over_the_batch(reports):
    by_name = results(reports[EXAMPLES[2]])
    for check_name in ("batch_scaling", "batch_consistency"):
        assert by_name[check_name].status == "fail", by_name[check_name].message
        assert by_name[check_name].code == "batch-mismatch"
    assert "repeated" in by_name["batch_scaling"].message
    # summed over latent dimensions, as the ELBO is
    assert by_name["latent_scaling"].status == "pass"


def test_the_gradient_is_judged_only_once_the_value_conforms(reports):
    """Each example's value departs, so its gradient (which departs with it) adds nothing."""
    for name in EXAMPLES:
        gradient = results(reports[name])["gradient"]
        assert gradient.status == "skip" and "value departs" in gradient.message
