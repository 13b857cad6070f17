"""Hugging Face Hub: publish checkpoints with model cards (``push``), fetch them by ``hf-hub:`` id (``pull``).

A repo holds the checkpoint folder layout of :mod:`weightspace.checkpoint` plus ``eval_results.json`` and a
``README.md`` model card. Importing this package is cheap; ``huggingface_hub`` is imported by the modules
that talk to the Hub.
"""

EVAL_RESULTS_NAME = "eval_results.json"
README_NAME = "README.md"
# Added to the uploaded copy of weightspace.json so every pull can be verified, merged or not.
WEIGHTS_SHA_KEY = "weights_sha256"
