"""Search profiles: how many cases each check draws, and whether the search is derandomized.

``vae-dev`` is fast, ``vae-ci`` (the default) is derandomized for reproducible CI runs, and
``vae-thorough`` draws many cases and also checks the compiled function. The same names are registered as hypothesis settings
profiles (not loaded), for tests that use hypothesis directly.
"""

from __future__ import annotations

PROFILES = {
    "vae-dev": {"max_examples": 15, "derandomize": False, "compile": False},
    "vae-ci": {"max_examples": 40, "derandomize": True, "compile": False},
    "vae-thorough": {"max_examples": 400, "derandomize": False, "compile": True},
}
DEFAULT_PROFILE = "vae-ci"


def resolve(profile: str | None) -> dict:
    """The settings of a named profile; ValueError naming the known ones otherwise."""
    name = profile or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(f"profile: unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def register_hypothesis_profiles() -> None:
    """Register the profiles with hypothesis (without loading any).

    Hypothesis calls this through its ``hypothesis`` entry point when it is imported, so the
    import of hypothesis happens here, not at module level (that would be circular).
    """
    from hypothesis import HealthCheck, settings

    for name, values in PROFILES.items():
        settings.register_profile(
            name, max_examples=values["max_examples"], derandomize=values["derandomize"],
            deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow],
        )
