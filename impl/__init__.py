"""The built-in reference reverse-mode engine."""
