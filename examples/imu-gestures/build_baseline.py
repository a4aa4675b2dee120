"""Build the float baseline of the imu-gestures example: data.npz and model.keras (default: ./build/).

    python examples/imu-gestures/build_baseline.py [OUT_DIR] [--seed N]
"""

from pathlib import Path

from advisor.run.datasets import baseline_script

baseline_script("imu-gestures", Path(__file__).parent / "build")
