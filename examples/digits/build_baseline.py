"""Build the float baseline of the digits example: data.npz and model.keras (default: ./build/).

    python examples/digits/build_baseline.py [OUT_DIR] [--seed N]
"""

from pathlib import Path

from advisor.run.datasets import baseline_script

baseline_script("digits", Path(__file__).parent / "build")
