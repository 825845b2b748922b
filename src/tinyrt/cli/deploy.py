"""The deploy verb: models to a target from ``tinyrt.deploy.TARGETS``."""
from __future__ import annotations

from ..deploy import TARGETS
from ..errors import InputError


def cmd_deploy(args) -> int:
    """Deploy the models to the target and print what was written and built."""
    from ..deploy import deploy
    options = {k: v for k, v in (("flash", args.flash), ("ram", args.ram)) if v is not None}  # cortex-m budgets
    if options and not args.target.startswith("cortex-m"):
        raise InputError(f"--flash and --ram are budgets of the cortex-m targets; {args.target} takes neither.")
    result = deploy(args.target, args.models, args.output, name=args.name, build=not args.no_build, **options)
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
    # cortex-m4 / cortex-m7 only: a real microcontroller's memory budget instead of the QEMU board's
    s.add_argument("--flash", type=int, help="cortex-m*: flash budget in bytes (default: the QEMU board's 4 MB)")
    s.add_argument("--ram", type=int, help="cortex-m*: RAM budget in bytes (default: the QEMU board's 4 MB)")
    s.set_defaults(func=cmd_deploy)
