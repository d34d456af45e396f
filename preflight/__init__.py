"""tap-preflight: the pre-deploy quota gate for the TAP pipeline."""

__version__ = "0.1.0"
