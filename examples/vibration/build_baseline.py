"""Build the float baseline of the vibration example: data.npz and model.keras (default: ./build/).

    python examples/vibration/build_baseline.py [OUT_DIR] [--seed N]
"""

from pathlib import Path

from advisor.run.datasets import baseline_script

baseline_script("vibration", Path(__file__).parent / "build")
