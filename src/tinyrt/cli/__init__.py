"""The `tinyrt` command: one verb per job, mirroring the Python API.

Each module here adds its verbs with ``add_parsers(sub)``; lists of engines, export formats and
deploy targets come from the registries (``tinyrt.backends.ENGINES``/``EXPORTERS``,
``tinyrt.deploy.TARGETS``), never from copies kept here. A user error raises a ``tinyrt.Error``:
``main`` prints its one sentence and returns 2, without a traceback.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import AssumptionWarning, Error
from ..version import __version__
from . import bench, classic, deploy, live, models, replay, training
from . import classify as classify_verbs

VERBS = (models, classic, training, bench, deploy, live, replay, classify_verbs)


def one_line(text: str) -> str:
    """Return text with control characters (newlines, carriage returns, escapes) shown escaped, on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one sentence, like every other tinyrt error."""

    def error(self, message: str):
        """Print the mistake in one line and exit with status 2."""
        self.exit(2, f"tinyrt: error: {self.prog}: {one_line(message)}; see {self.prog} --help.\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `tinyrt` command."""
    p = Parser(prog="tinyrt", description="Small ML models into hard real-time audio loops.")
    p.add_argument("--version", action="version", version=f"tinyrt {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verbs in VERBS:
        verbs.add_parsers(sub)
    return p


def main(argv=None) -> int:
    """Run the command line; user errors print one sentence and return a non-zero exit code."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, *rest, **kw):  # what tinyrt assumed: one line, like its errors
            if issubclass(category, AssumptionWarning):
                print(f"tinyrt: warning: {one_line(message)}", file=sys.stderr)
            else:
                shown(message, category, *rest, **kw)
        warnings.showwarning = show
        warnings.simplefilter("default", AssumptionWarning)
        return _run(args)


def _run(args) -> int:
    try:
        return args.func(args)
    except Error as exc:  # the command-line spelling of the sentence when it has one (--skip strip, not skip='strip')
        print(f"tinyrt: error: {one_line(exc.cli or exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinyrt: interrupted.", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
