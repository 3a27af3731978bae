"""Target validation and load_callable: every declaration that cannot be checked is refused
with a TargetError that names the field to change."""

from __future__ import annotations

import textwrap

import pytest

from vae_spec import Convention, Target, TargetError
from vae_spec.target import CANONICAL_ARGS, TERMS, load_callable


def loss(x_recon, x, mu, logvar):
    return 0.0


def kl(mu, logvar):
    return 0.0


def make(fn=loss, **kwargs):
    kwargs.setdefault("likelihood", "bernoulli-logits")
    return Target(fn, **kwargs)


def test_target_error_is_a_value_error():
    assert issubclass(TargetError, ValueError)


def test_a_valid_declaration_normalizes_its_fields():
    target = make(args="x_recon, x, mu, logvar", data_shape=784, dtypes="float32")
    assert target.args == ("x_recon", "x", "mu", "logvar")
    assert target.data_shape == (784,)
    assert target.dtypes == ("float32",)
    assert target.posterior == "logvar"
    assert target.name == f"{__name__}:loss"


def test_keyword_args_bind_by_the_function_parameter_names():
    def user(recon, data, mean, log_variance):
        return (recon, data, mean, log_variance)

    target = make(user, args={"recon": "x_recon", "data": "x", "mean": "mu", "log_variance": "logvar"})
    call = target.bind({})
    assert call(x_recon=1, x=2, mu=3, logvar=4) == (1, 2, 3, 4)
    assert target.canonical_args == ("x_recon", "x", "mu", "logvar")


# -- args ------------------------------------------------------------------------------------
def test_unknown_canonical_name():
    with pytest.raises(TargetError, match=r"^args: unknown canonical name 'log_var'"):
        make(args=("x_recon", "x", "mu", "log_var"))


def test_a_name_bound_twice():
    with pytest.raises(TargetError, match=r"^args: mu bound more than once"):
        make(lambda a, b, c, d: 0, args=("x_recon", "mu", "mu", "logvar"))


def test_args_that_are_not_names():
    with pytest.raises(TargetError, match=r"^args: expected a tuple of names or a mapping"):
        make(args=3)


@pytest.mark.parametrize(("term", "args", "missing"), [
    ("loss", ("x_recon", "x", "mu"), "logvar"),
    ("loss", ("x_recon", "mu", "logvar"), "x"),
    ("kl", ("mu",), "logvar"),
    ("reconstruction", ("x",), "x_recon"),
    ("mc_kl", ("mu", "logvar"), "z"),
])
def test_missing_argument_for_the_term(term, args, missing):
    with pytest.raises(TargetError, match=rf"^args: term '{term}' needs the input '{missing}'"):
        make(lambda *a: 0, term=term, args=args)


def test_learned_likelihood_needs_its_decoder_input():
    with pytest.raises(TargetError, match=r"^args: likelihood 'gaussian-learned' needs the input 'dec_logvar'"):
        make(likelihood="gaussian-learned")


def test_learned_prior_needs_both_inputs():
    with pytest.raises(TargetError, match=r"^args: a learned prior needs both"):
        make(lambda *a: 0, term="kl", args=("mu", "logvar", "prior_mu"))


# -- the claim -------------------------------------------------------------------------------
def test_unknown_framework():
    with pytest.raises(TargetError, match=r"^framework: unknown framework 'mxnet'"):
        make(framework="mxnet")


def test_unknown_term():
    with pytest.raises(TargetError, match=r"^term: unknown term 'kld'; expected one of " + ", ".join(TERMS)):
        make(term="kld")


def test_unknown_likelihood():
    with pytest.raises(TargetError, match=r"^likelihood: .*'poisson'"):
        make(likelihood="poisson")


def test_unknown_posterior():
    with pytest.raises(TargetError, match=r"^posterior: unknown parameterization 'precision'"):
        make(posterior="precision")


def test_posterior_conflicting_with_the_bound_scale_input():
    with pytest.raises(TargetError, match=r"^posterior: declared 'logvar' but args bind logstd"):
        make(args=("x_recon", "x", "mu", "logstd"), posterior="logvar")


def test_several_scale_inputs_need_a_declared_posterior():
    with pytest.raises(TargetError, match=r"^posterior: args bind several scale inputs \(logvar, std\)"):
        make(lambda *a: 0, args=("x_recon", "x", "mu", "logvar", "std"))


def test_the_posterior_follows_the_bound_scale_input():
    assert make(args=("x_recon", "x", "mu", "std")).posterior == "std"


def test_convention_must_be_a_convention():
    with pytest.raises(TargetError, match=r"^convention: expected a vae_spec.Convention, got dict"):
        make(convention={"batch": "sum"})


def test_unknown_dtype():
    with pytest.raises(TargetError, match=r"^dtypes: unknown dtype 'float8'"):
        make(dtypes=("float32", "float8"))


# -- the function ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [3, "module:loss", None])
def test_fn_not_callable(fn):
    with pytest.raises(TargetError, match=r"^fn: expected a callable, got "):
        Target(fn, likelihood="bernoulli-logits")


def test_signature_mismatch_positional():
    with pytest.raises(TargetError, match=r"^args: .*kl cannot be called with the call fn\(x_recon, x, mu, logvar\)"):
        make(kl, args=("x_recon", "x", "mu", "logvar"))


def test_args_left_out_are_read_from_the_parameter_names():
    def named(x, x_hat, z_mean, z_log_var):
        return 0.0

    def unnamed(a, b, c, d):
        return 0.0

    assert make(named).args == ("x", "x_recon", "mu", "logvar")
    assert make(unnamed).args == ("x_recon", "x", "mu", "logvar")  # the classic order
    assert make(kl, term="kl").args == ("mu", "logvar")


def test_signature_mismatch_keywords():
    with pytest.raises(TargetError, match=r"^args: .*kl cannot be called with the call fn\(mean=mu, logvar=logvar\)"):
        make(kl, term="kl", args={"mean": "mu", "logvar": "logvar"})


def test_a_callable_without_a_signature_is_accepted():
    # builtins may have no inspectable signature; calling them will tell
    target = Target(max, term="kl", args=("mu", "logvar"))
    assert target.fn is max


# -- shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["data_shape", "latent_shape"])
@pytest.mark.parametrize(("shape", "reason"), [
    ((), "a non-empty tuple of positive integers"),
    ((3, 0), "a non-empty tuple of positive integers"),
    ((-1,), "a non-empty tuple of positive integers"),
    ("abc", "a tuple of positive integers"),
    ((1001, 1001), "more than 10\\^6 elements"),
])
def test_bad_shapes(field, shape, reason):
    with pytest.raises(TargetError, match=rf"^{field}: .*{reason}"):
        make(**{field: shape})


# the contract's canonical names (README)
CONTRACT_NAMES = ("x", "x_recon", "mu", "logvar", "logstd", "std", "var", "z", "eps",
                  "prior_mu", "prior_logvar", "dec_logvar", "dec_logscale")


def test_every_contract_name_is_canonical():
    assert set(CONTRACT_NAMES) <= set(CANONICAL_ARGS)


def test_the_contract_names_bind_together():
    # one scale input at a time: a kl target that also takes every non-scale name
    names = ("mu", "logvar") + tuple(n for n in CONTRACT_NAMES
                                     if n not in ("mu", "logvar", "logstd", "std", "var"))
    target = Target(lambda *a: 0, term="kl", args=names)
    assert target.canonical_args == names


def test_convention_is_kept():
    convention = Convention(batch="sum", beta=2.0)
    assert make(convention=convention).convention is convention


# -- load_callable ---------------------------------------------------------------------------
def test_load_module_attribute():
    assert load_callable("tests.meta.test_target:loss") is loss


def test_load_nested_attribute():
    assert load_callable("vae_spec.target:Target.bind") is Target.bind


def test_load_without_colon():
    with pytest.raises(TargetError, match=r"expected 'module:attr' or 'path/to/file.py:attr'"):
        load_callable("vae_spec.target.Target")


@pytest.mark.parametrize("spec", [":loss", "vae_spec.target:"])
def test_load_with_an_empty_side(spec):
    with pytest.raises(TargetError, match=r"expected 'module:attr'"):
        load_callable(spec)


def test_load_missing_module():
    with pytest.raises(TargetError, match=r"no module named 'no_such_module_for_vae_spec'"):
        load_callable("no_such_module_for_vae_spec:loss")


def test_load_missing_attribute():
    with pytest.raises(TargetError, match=r"vae_spec.target has no attribute 'no_such_loss'"):
        load_callable("vae_spec.target:no_such_loss")


def test_load_from_a_file(tmp_path):
    path = tmp_path / "user_loss.py"
    path.write_text("def vae_loss(a, b):\n    return a + b\n")
    fn = load_callable(f"{path}:vae_loss")
    assert fn(2, 3) == 5


def test_load_from_a_missing_file(tmp_path):
    with pytest.raises(TargetError, match=r"no file .*absent.py"):
        load_callable(f"{tmp_path / 'absent.py'}:vae_loss")


def test_load_from_a_file_that_raises_on_import(tmp_path):
    path = tmp_path / "broken_loss.py"
    path.write_text(textwrap.dedent("""
        raise RuntimeError("no GPU here")
    """))
    with pytest.raises(TargetError, match=r"importing .*broken_loss.py raised RuntimeError: no GPU here"):
        load_callable(f"{path}:vae_loss")


def test_load_from_a_file_without_the_attribute(tmp_path):
    path = tmp_path / "other_loss.py"
    path.write_text("def loss():\n    return 0\n")
    with pytest.raises(TargetError, match=r"has no attribute 'vae_loss'"):
        load_callable(f"{path}:vae_loss")


def test_loading_leaves_sys_path_as_it_was(tmp_path, monkeypatch):
    """A module beside the base and a file importing its sibling both load; sys.path after is
    the same list."""
    import sys

    (tmp_path / "helpers_for_vae_spec_test.py").write_text("SCALE = 3\n")
    (tmp_path / "module_for_vae_spec_test.py").write_text("def loss(a):\n    return a\n")
    (tmp_path / "uses_sibling.py").write_text(
        "import helpers_for_vae_spec_test\n\ndef loss(a):\n    return helpers_for_vae_spec_test.SCALE * a\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    before = list(sys.path)
    assert load_callable("module_for_vae_spec_test:loss")(2) == 2
    assert load_callable("uses_sibling.py:loss")(2) == 6
    assert sys.path == before


def test_a_module_resolves_from_the_declarations_base(tmp_path):
    import sys

    (tmp_path / "based_module_for_vae_spec_test.py").write_text("def loss(a):\n    return -a\n")
    before = list(sys.path)
    assert load_callable("based_module_for_vae_spec_test:loss", base=tmp_path)(1) == -1
    assert sys.path == before
