"""The deploy verb: models to a target from ``tinyrt.deploy.TARGETS``."""
from __future__ import annotations

from ..deploy import TARGETS


def cmd_deploy(args) -> int:
    """Deploy the models to the target and print what was written and built."""
    from ..deploy import deploy
    result = deploy(args.target, args.models, args.output, name=args.name, build=not args.no_build)
    print(result.summary())
    return 0


def add_parsers(sub) -> None:
    """Add the deploy verb to the command's subparsers."""
    targets = "; ".join(f"{name}: {description}" for name, (_, _, description) in TARGETS.items())
    s = sub.add_parser("deploy", help="turn models into something that builds and runs on a target",
                       description=f"Targets: {targets}.")
    s.add_argument("target", choices=tuple(TARGETS))
    s.add_argument("models", nargs="+", help="model files (.tinyrt or any format tinyrt reads)")
    s.add_argument("-o", "--output", required=True, help="folder to write")
    s.add_argument("--name", default="models", help="project name: lib<name>.a, <name>_run (default models)")
    s.add_argument("--no-build", action="store_true", help="write the files without building them")
    s.set_defaults(func=cmd_deploy)
