"""False alarms of the statistical checks over many seeds, and their power on biased variants.

Runs the stochastic_mean check (a correct torch loss that samples z inside) and the
sampler_distribution and sampler_gradient checks (a correct torch sampler) under seeds
0..N-1, counting failures (each check's false-failure probability is at most 1e-6, so the
expected count is below 1e-4 for 20 seeds), then the same checks on biased variants, which
must fail under every seed.

    python benchmarks/statistical_audit.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import time

import torch

from vae_spec import Target, check


def sampler(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def sampler_sigma_is_variance(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)


def sampler_uniform_noise(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * (torch.rand_like(mu) * 2 - 1) * 3**0.5


def stochastic_loss(x_recon, x, mu, logvar):
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    bce = torch.nn.functional.binary_cross_entropy(x_recon, x, reduction="none").flatten(1).sum(1)
    log_q = (-0.5 * (z - mu) ** 2 * torch.exp(-logvar) - 0.5 * logvar).flatten(1).sum(1)
    log_p = (-0.5 * z**2).flatten(1).sum(1)
    return (bce + log_q - log_p).mean()


def stochastic_loss_q_at_mu(x_recon, x, mu, logvar):
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    bce = torch.nn.functional.binary_cross_entropy(x_recon, x, reduction="none").flatten(1).sum(1)
    log_q = (-0.5 * logvar).flatten(1).sum(1)
    log_p = (-0.5 * z**2).flatten(1).sum(1)
    return (bce + log_q - log_p).mean()


CASES = [
    ("correct sampler", sampler, "sampler", ("mu", "logvar"), ("sampler_distribution", "sampler_gradient"), True),
    ("correct stochastic loss", stochastic_loss, "stochastic_loss", ("x_recon", "x", "mu", "logvar"),
     ("stochastic_mean",), True),
    ("sampler with sigma = exp(logvar)", sampler_sigma_is_variance, "sampler", ("mu", "logvar"),
     ("sampler_distribution",), False),
    ("sampler with uniform noise", sampler_uniform_noise, "sampler", ("mu", "logvar"),
     ("sampler_distribution",), False),
    ("stochastic loss with log q at mu", stochastic_loss_q_at_mu, "stochastic_loss",
     ("x_recon", "x", "mu", "logvar"), ("stochastic_mean",), False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    options = parser.parse_args()
    print(f"| case | checks | should pass | failures over {options.seeds} seeds | seconds |")
    print("| --- | --- | --- | ---: | ---: |")
    for name, fn, term, args, checks, correct in CASES:
        target = Target(fn, framework="torch", term=term, args=args, likelihood="bernoulli-probs")
        start = time.perf_counter()
        failures = sum(
            not check(target, seed=seed, checks=checks, raise_on_failure=False).passed
            for seed in range(options.seeds)
        )
        print(f"| {name} | {', '.join(checks)} | {'yes' if correct else 'no'} | {failures} | "
              f"{time.perf_counter() - start:.1f} |")


if __name__ == "__main__":
    main()
