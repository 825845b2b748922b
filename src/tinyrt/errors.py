"""The errors a user can cause. Each message is one sentence saying what was wrong and what to do."""


class Error(Exception):
    """Base of every user-facing tinyrt error; the CLI prints its message and exits non-zero.

    ``cli`` is the same sentence for the command line, naming the flag (``--skip strip``) where the
    message names the Python keyword (``skip='strip'``); the CLI prints it instead when given.
    """

    cli = None

    def __init__(self, *args, cli: str | None = None):
        super().__init__(*args)
        self.cli = cli


class ModelError(Error):
    """A model (IR) is malformed: shape mismatch, missing or non-finite weights, unknown layer."""


class FormatError(Error):
    """A file could not be read as the format it claims to be."""


class UnsupportedError(Error):
    """A layer, option or object tinyrt cannot convert."""


class InputError(Error):
    """Audio or arguments given to a model are wrong: shape, sample rate, NaN."""


class BuildError(Error):
    """Generated code could not be compiled or loaded."""


class DependencyError(Error):
    """An optional package needed for the requested job is not installed."""


class AssumptionWarning(UserWarning):
    """tinyrt assumed something a file does not say (a format's conventional sample rate); the CLI prints it."""
