"""Merge methods; importing this package registers each one (see ``weightspace.merge.registry``)."""

from weightspace.merge.methods import average, dare, gwa, iso, task_arith, ties, tsv_m, wise_ft  # noqa: F401
