"""Child process: ``python -m advisor.profile.convert_main MODEL OUT.tflite`` converts a Keras model to int8.

Exit 0 with OUT written; exit 2 with the problems as one JSON line on stdout (bad model); anything else
(a native crash of the converter) is reported by the parent.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from advisor.files import atomic_write
    from advisor.problems import ProblemError
    from advisor.profile.model import convert_keras

    model, out = Path(argv[0]), Path(argv[1])
    try:
        data = convert_keras(model)
    except ProblemError as exc:
        print(json.dumps([dataclasses.asdict(p) for p in exc.problems]))
        return 2
    atomic_write(out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
