"""`python -m tinyrt.cli`: the `tinyrt` command."""
import sys

from . import main

sys.exit(main())
