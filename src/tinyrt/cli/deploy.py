"""The deploy verb: models to a target from ``tinyrt.deploy.TARGETS``."""
from __future__ import annotations

from ..deploy import TARGETS
from ..errors import InputError
from .common import positive_int


def cmd_deploy(args) -> int:
    """Deploy the models to the target and print what was written and built."""
    from ..deploy import deploy
    options = _target_options(args)
    result = deploy(args.target, args.models, args.output, name=args.name, build=not args.no_build, **options)
    print(result.summary())
    return 0


# options only some targets take: {option: targets}
TARGET_OPTIONS = {"uri": ("lv2", "elk"), "arch": ("lv2",), "flash": ("cortex-m4", "cortex-m7"),
                  "ram": ("cortex-m4", "cortex-m7")}


def _target_options(args) -> dict:
    """Return the target options given on the command line, refusing one the target does not take."""
    options = {}
    for option, targets in TARGET_OPTIONS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if args.target not in targets:
            raise InputError(f"--{option} applies to the {' and '.join(targets)} targets, not {args.target}.")
        options[option] = value
    return options


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
    plugin = s.add_argument_group("plugin targets (lv2, elk)")
    plugin.add_argument("--uri", help="the plugin's URI (default urn:tinyrt:NAME)")
    plugin.add_argument("--arch", help="lv2: build the plugin for host (default), aarch64 (Pi 4 / Elk) or "
                                       "armhf (Bela)")
    mcu = s.add_argument_group("microcontroller targets (cortex-m4, cortex-m7)")
    mcu.add_argument("--flash", type=positive_int, help="flash budget in bytes (default: the QEMU board's 4 MB)")
    mcu.add_argument("--ram", type=positive_int, help="RAM budget in bytes (default: the QEMU board's 4 MB)")
    s.set_defaults(func=cmd_deploy)
