"""Build the float baseline for this example: writes data.npz and model.keras (default: ./build/).

    python examples/digits/build_baseline.py [OUT_DIR] [--seed N]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from advisor.datasets import build_example  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).parent / "build")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
model, data = build_example("digits", args.out, args.seed)
print(f"{model}\n{data}")
