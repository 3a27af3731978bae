"""Framework adapters behind one protocol; a framework is imported only when asked for."""

from vae_spec.frameworks.base import (
    FRAMEWORKS,
    Adapter,
    AdapterTypeError,
    FrameworkNotInstalled,
    get_adapter,
    is_installed,
)

__all__ = [
    "FRAMEWORKS",
    "Adapter",
    "AdapterTypeError",
    "FrameworkNotInstalled",
    "get_adapter",
    "is_installed",
]
