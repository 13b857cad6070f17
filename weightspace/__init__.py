"""weightspace: weight-space methods for CLIP-based open-vocabulary action recognition.

Importing this package is cheap (no torch); heavy modules are imported where used.
"""

__version__ = "0.1.0"
