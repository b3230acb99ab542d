"""Floating-point numerics: rounding-error bounds, exact steps and moved points, blocked products.

Every bound is derived from the sizes and the unit roundoff; none is a free tolerance.
"""
