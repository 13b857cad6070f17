"""User-facing errors: one line that names the file, key or option at fault."""


class WeightspaceError(Exception):
    """Bad input or a failed operation that the CLI reports as a one-line message (exit code 1)."""


class CheckpointError(WeightspaceError):
    """A checkpoint cannot be read or does not fit the others (keys, shapes, dtypes)."""


class ConfigError(WeightspaceError):
    """A recipe, suite or option value is invalid."""


class OutputError(WeightspaceError):
    """An output cannot be written where asked, or may not be replaced (weightspace did not write it)."""
