"""The objective: conventions, the (negative) ELBO, its Monte Carlo form given z, the IWAE bound."""

from __future__ import annotations

from dataclasses import dataclass

from . import _validate

_DATA = ("sum", "mean")
_LATENT = ("sum", "mean")
_BATCH = ("mean", "sum", "none")


@dataclass(frozen=True)
class Convention:
    """How a loss reduces and weights its terms.

    loss = scale * reduce_batch_b( reduce_data_k NLL_bk + beta * reduce_latent_j KL_bj )

    The ELBO is data="sum", latent="sum", beta=1; batch "mean" or "sum", any positive
    ``scale`` and ``constants=False`` (normalizing constants dropped) are legal conventions.
    """

    data: str = "sum"
    latent: str = "sum"
    batch: str = "mean"
    beta: float = 1.0
    scale: float = 1.0
    constants: bool = True

    def __post_init__(self):
        for field, allowed in (("data", _DATA), ("latent", _LATENT), ("batch", _BATCH)):
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(
                    f"Convention.{field}: {value!r} is not one of {', '.join(allowed)}"
                )
        object.__setattr__(self, "beta", _validate.positive_number("Convention.beta", self.beta)
                           if self.beta != 0 else 0.0)
        object.__setattr__(self, "scale", _validate.positive_number("Convention.scale", self.scale))
        if not isinstance(self.constants, bool):
            raise ValueError(f"Convention.constants: expected True or False, got {self.constants!r}")

    @property
    def is_elbo(self) -> bool:
        """True when the convention differs from the ELBO only by legal choices."""
        return self.data == "sum" and self.latent == "sum" and self.beta == 1.0

    def as_dict(self) -> dict:
        return {
            "data": self.data, "latent": self.latent, "batch": self.batch,
            "beta": self.beta, "scale": self.scale, "constants": self.constants,
        }
