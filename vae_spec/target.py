"""Target: a user's callable, how to call it, and what it claims to compute."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import math
import pathlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from . import calls, vocabulary
from .declaration import TargetError
from .vocabulary import CANONICAL_ARGS, DATA_ARGS, NON_ARRAY_ARGS
from .frameworks.base import DTYPES, framework_of
from .spec.likelihoods import parse_likelihood
from .spec.objective import Convention

#: what a target can compute (the records in vae_spec.vocabulary say what each term needs and has)
TERMS = vocabulary.TERMS
DETERMINISTIC_TERMS = vocabulary.DETERMINISTIC_TERMS


@dataclass(frozen=True)
class Target:
    """A user function and its claim.

    ``args`` lists the function's positional parameters as canonical names, or maps the
    function's parameter names to canonical names (called by keyword); left out, the roles are
    read from the parameter names where each names one (``x_hat``, ``z_mean``, ``log_var``:
    see :mod:`vae_spec.example_call`), else x_recon, x, mu, logvar in order. An entry may nest a
    dict or a tuple of canonical names, passed as such (:mod:`vae_spec.calls`). ``kwargs``
    are fixed keyword arguments added to every call; ``call(fn, inputs)``, when given,
    makes the call itself from the canonical ``inputs`` (``args`` then lists the canonical
    names it uses). ``example`` holds one real call's inputs by canonical name (see
    :meth:`from_example`); every check runs on it besides the cases it draws. ``data_shape`` and
    ``latent_shape`` fix the trailing shapes (batch excluded) that cases are drawn with.
    Terms: ``kl``, ``reconstruction``, ``loss`` (negative ELBO), ``elbo``, ``mc_kl`` and
    ``mc_loss`` (given a sample ``z``), ``iwae`` (the negative IWAE bound; ``x_recon`` and ``z``
    carry K samples on the axis after the batch: (B, K, ...)), ``sampler`` (returns z from
    ``mu`` and the scale, and ``eps`` if bound) and ``stochastic_loss`` (a loss that samples z
    inside; its mean over calls must be the negative ELBO).
    ``dtypes`` are the floating dtypes to check in (default: float32, and float64 where the
    framework computes in it). ``device`` places every input there (``"cuda"``, ``"gpu"``;
    default: the framework's). ``likelihood`` may be left out for :func:`diagnose`, which
    infers it; :func:`check` needs it for every term with a reconstruction.
    """

    fn: Callable
    framework: str = "numpy"
    term: str = "loss"
    args: tuple[str, ...] | Mapping[str, str] | None = None
    likelihood: str | None = None
    posterior: str | None = None
    convention: Convention = field(default_factory=Convention)
    data_shape: tuple[int, ...] | None = None
    latent_shape: tuple[int, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    device: str | None = None
    name: str | None = None
    kwargs: Mapping[str, object] | None = None
    call: Callable | None = field(default=None, repr=False)
    example: Mapping[str, object] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not callable(self.fn):
            raise TargetError(f"fn: expected a callable, got {type(self.fn).__name__}")
        try:
            framework_of(self.framework)
        except ValueError as exc:
            raise TargetError(str(exc)) from None
        if self.term not in TERMS:
            raise TargetError(f"term: unknown term {self.term!r}; expected one of {', '.join(TERMS)}")
        if self.args is None:
            object.__setattr__(self, "args", _args_from_signature(self.fn, self.call))
        object.__setattr__(self, "args", _normalize_args(self.args))
        if self.kwargs is not None and not isinstance(self.kwargs, Mapping):
            raise TargetError(f"kwargs: expected a mapping of keyword to value, got {self.kwargs!r}")
        if self.call is not None and not callable(self.call):
            raise TargetError(f"call: expected a callable call(fn, inputs), got {type(self.call).__name__}")
        object.__setattr__(self, "posterior", _resolve_posterior(self.posterior, self.canonical_args))
        if self.likelihood is not None:
            try:
                parse_likelihood(self.likelihood)
            except ValueError as exc:
                raise TargetError(f"likelihood: {exc}") from None
        if not isinstance(self.convention, Convention):
            raise TargetError(
                f"convention: expected a vae_spec.Convention, got {type(self.convention).__name__}"
            )
        object.__setattr__(self, "data_shape", _shape("data_shape", self.data_shape))
        object.__setattr__(self, "latent_shape", _shape("latent_shape", self.latent_shape))
        if self.dtypes is not None:
            dtypes = (self.dtypes,) if isinstance(self.dtypes, str) else tuple(self.dtypes)
            unknown = [dtype for dtype in dtypes if dtype not in DTYPES]
            if unknown:
                raise TargetError(f"dtypes: unknown dtype {unknown[0]!r}; expected any of {', '.join(DTYPES)}")
            object.__setattr__(self, "dtypes", dtypes)
        self._check_required_args()
        if self.name is None:
            object.__setattr__(self, "name", calls.readable_name(self.fn))

    def __repr__(self) -> str:
        """The name and what it claims, short enough for a test id or a traceback's arguments."""
        return f"Target({self.name!r}, framework={self.framework!r}, term={self.term!r})"

    @classmethod
    def from_example(cls, fn, *tensors, **named) -> "Target":
        """The target of one real call of ``fn`` (:mod:`vae_spec.example_call`).

        ``named`` holds tensors (by parameter or canonical name) and any keyword of Target
        (``likelihood``, ``convention``, ``args``, ``framework``, ...). The framework, the
        roles, the term, the shapes and the device are inferred; the values become a case.
        """
        from .example_call import from_example

        keywords = {f.name for f in fields(cls)} - {"fn", "example"}
        declared = {k: named.pop(k) for k in list(named) if k in keywords}
        return from_example(fn, tensors, named, **declared)

    # -- what the engine asks of a target -------------------------------------------------
    @property
    def canonical_args(self) -> tuple[str, ...]:
        """The canonical names the function takes, in call order."""
        return calls.leaves(self.args)

    @property
    def array_args(self) -> tuple[str, ...]:
        """The canonical float-array inputs (every bound input but a random key)."""
        return tuple(n for n in self.canonical_args if n not in NON_ARRAY_ARGS)

    @property
    def data_args(self) -> tuple[str, ...]:
        """The bound inputs shaped like the data."""
        return tuple(n for n in self.array_args if n in DATA_ARGS)

    @property
    def latent_args(self) -> tuple[str, ...]:
        """The bound inputs shaped like the latent."""
        return tuple(n for n in self.array_args if n not in DATA_ARGS)

    @property
    def uses_likelihood(self) -> bool:
        return self.computes.likelihood

    @property
    def computes(self) -> vocabulary.Term:
        """What the declared term is: its inputs, parts, sign and whether it is deterministic."""
        return vocabulary.TERM[self.term]

    @property
    def has_prior(self) -> bool:
        return "prior_mu" in self.canonical_args or "prior_logvar" in self.canonical_args

    def bind(self, inputs: Mapping[str, object]) -> Callable[..., object]:
        """A function of canonical keyword arguments that calls ``fn`` as declared."""
        fn, args, fixed, hook = self.fn, self.args, dict(self.kwargs or {}), self.call
        if hook is not None:
            def call(**canonical):
                return hook(fn, calls.Inputs(canonical))
        elif isinstance(args, Mapping):
            def call(**canonical):
                return fn(**{user: calls.build(s, canonical) for user, s in args.items()}, **fixed)
        else:
            def call(**canonical):
                return fn(*(calls.build(s, canonical) for s in args), **fixed)
        return call

    def _check_required_args(self):
        have = set(self.canonical_args)
        for needed in self.computes.inputs(self.posterior):
            if needed not in have:
                raise TargetError(
                    f"args: term {self.term!r} needs the input {needed!r}, which args does not "
                    f"bind (args binds {', '.join(self.canonical_args) or 'nothing'})"
                )
        if self.uses_likelihood and self.likelihood is not None:
            learned = parse_likelihood(self.likelihood).learned
            if learned and learned not in have:
                raise TargetError(
                    f"args: likelihood {self.likelihood!r} needs the input {learned!r}, which "
                    "args does not bind"
                )
        if "key" in have and self.computes.deterministic:
            sampling = ", ".join(t for t in TERMS if t not in DETERMINISTIC_TERMS)
            raise TargetError(f"args: a random 'key' is only for the terms {sampling}, not {self.term!r}")
        if ("prior_mu" in have) != ("prior_logvar" in have):
            raise TargetError("args: a learned prior needs both 'prior_mu' and 'prior_logvar'")
        self._check_signature()

    def _check_signature(self):
        if self.call is not None:
            return  # the hook makes the call; its first run will tell
        try:
            signature = inspect.signature(self.fn)
        except (TypeError, ValueError):
            return  # builtins and some callables have no signature; calls will tell
        fixed = dict(self.kwargs or {})
        try:
            if isinstance(self.args, Mapping):
                signature.bind(**{user: None for user in self.args}, **fixed)
            else:
                signature.bind(*self.args, **fixed)
        except TypeError as exc:
            raise TargetError(
                f"args: {self.name or calls.readable_name(self.fn)} cannot be called with "
                f"the call {calls.expression(self.args)}: {exc}"
            ) from None


#: the args of a function whose parameter names say nothing: the classic loss(recon_x, x, mu, logvar)
DEFAULT_ARGS = ("x_recon", "x", "mu", "logvar")


def _args_from_signature(fn, hook) -> tuple[str, ...]:
    """args left out: the roles the parameter names give (``def loss(x, x_hat, z_mean, z_log_var)``
    reads as x, x_recon, mu, logvar), else the classic order x_recon, x, mu, logvar."""
    from .example_call import roles_from_signature

    return (None if hook is not None else roles_from_signature(fn)) or DEFAULT_ARGS


def _normalize_args(args):
    try:
        return calls.normalize(args, lambda name: name in CANONICAL_ARGS)
    except calls.ArgsError as exc:
        hint = f"; expected any of {', '.join(CANONICAL_ARGS)}" if str(exc).startswith("unknown canonical") else ""
        raise TargetError(f"args: {exc}{hint}") from None


def _resolve_posterior(posterior, names) -> str:
    given = [p for p in vocabulary.POSTERIOR if p in names]
    if posterior is None:
        if len(given) > 1:
            raise TargetError(
                f"posterior: args bind several scale inputs ({', '.join(given)}); declare which "
                "one parameterizes q(z|x)"
            )
        return given[0] if given else "logvar"
    if posterior not in vocabulary.POSTERIOR:
        raise TargetError(
            f"posterior: unknown parameterization {posterior!r}; expected one of {', '.join(vocabulary.POSTERIOR)}"
        )
    if given and posterior not in given:
        raise TargetError(
            f"posterior: declared {posterior!r} but args bind {', '.join(given)}; rename the "
            f"argument to {posterior!r} or declare posterior={given[0]!r}"
        )
    return posterior


def _shape(name, shape):
    if shape is None:
        return None
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TargetError(f"{name}: expected a tuple of positive integers, got {shape!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise TargetError(f"{name}: expected a non-empty tuple of positive integers, got {shape!r}")
    if math.prod(shape) > 1_000_000:
        raise TargetError(f"{name}: {shape} has more than 10^6 elements per example")
    return shape


def load_callable(spec: str, base: str | pathlib.Path | None = None) -> Callable:
    """Resolve ``module:attr`` or ``path/to/file.py:attr`` to the object it names.

    A file path is read relative to ``base`` (default: the working directory); a module is
    imported with ``base`` on ``sys.path`` for the import only. Raises TargetError with the
    reason: no colon, module or file not found, the module raising on import, or the
    attribute missing.
    """
    base = pathlib.Path.cwd() if base is None else pathlib.Path(base)
    location, colon, attr = spec.rpartition(":")
    if not (colon and location and attr):
        raise TargetError(f"target {spec!r}: expected 'module:attr' or 'path/to/file.py:attr'")
    if location.endswith(".py") or "/" in location or "\\" in location:
        module = _import_file(spec, base / location)
    else:
        with _on_path(base):
            try:
                module = importlib.import_module(location)
            except ModuleNotFoundError as exc:
                raise TargetError(f"target {spec!r}: no module named {exc.name!r}") from None
            except Exception as exc:
                raise TargetError(f"target {spec!r}: importing {location} raised {type(exc).__name__}: {exc}") from exc
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"target {spec!r}: {location} has no attribute {attr!r}") from None
    return obj


def _import_file(spec: str, path: pathlib.Path):
    if not path.is_file():
        raise TargetError(f"target {spec!r}: no file {path}")
    module_name = f"_vae_spec_target_{path.stem}_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        with _on_path(path.parent):  # the file's own sibling imports
            loader_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise TargetError(f"target {spec!r}: importing {path} raised {type(exc).__name__}: {exc}") from exc
    return module


@contextlib.contextmanager
def _on_path(directory: pathlib.Path):
    """``directory`` importable for the duration of the block, and not after."""
    entry, added = str(directory), str(directory) not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)
