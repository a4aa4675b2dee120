"""Line numbers survive loading."""

from __future__ import annotations

import pytest

from advisor.problems import ProblemError
from advisor.kb.yamlio import line_of, load_yaml_text

TEXT = """\
id: x
mcu:
  part: P
  cores:
    - {core: cortex-m4f, count: 1}
    - core: cortex-m0plus
      count: 1
list: [a, b]
"""


def test_line_map_points_at_keys_and_items():
    data, lines = load_yaml_text(TEXT, "f.yaml")
    assert data["mcu"]["cores"][1]["core"] == "cortex-m0plus"
    assert lines[("id",)] == 1
    assert lines[("mcu",)] == 2
    assert lines[("mcu", "part")] == 3
    assert lines[("mcu", "cores", 0)] == 5
    assert lines[("mcu", "cores", 1, "count")] == 7
    assert line_of(lines, ("mcu", "cores", 1, "clock_mhz")) == 6
    assert line_of(lines, ("nothing", "here")) == 1


def test_python_tags_are_refused():
    with pytest.raises(ProblemError, match="invalid YAML"):
        load_yaml_text("x: !!python/object/apply:os.system ['true']\n", "f.yaml")


def test_empty_document_is_none():
    assert load_yaml_text("", "f.yaml")[0] is None
