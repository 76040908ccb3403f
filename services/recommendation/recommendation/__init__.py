"""shopmesh recommendation service: product suggestions ranked by purchase counts (grpcio)."""

import os
import sys
from pathlib import Path

# The generated code is not an installed package: put gen/python on the path once, here, so
# every module can `from shop... import`. GEN_PYTHON_DIR overrides it (e.g. in a container).
_gen = os.environ.get("GEN_PYTHON_DIR") or str(Path(__file__).resolve().parents[3] / "gen" / "python")
if _gen not in sys.path:
    sys.path.insert(0, _gen)
