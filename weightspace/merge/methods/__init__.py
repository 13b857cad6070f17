"""Merge methods; importing this package registers each one (see ``weightspace.merge.registry``)."""

from weightspace.merge.methods import average, dare, gwa, task_arith, ties, wise_ft  # noqa: F401
