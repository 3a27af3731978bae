"""The mutation self-test: buggy losses the checks must catch, correct ones they must pass.

``vae-spec selftest`` runs :func:`run_selftest` over :data:`~vae_spec.selftest.corpus.ENTRIES`.
"""
