"""Writing questionnaires: the commented template (`init`) and the interactive interview (`ask`)."""

from __future__ import annotations

from typing import Callable

import yaml

from advisor.questionnaire.requirements import TASK_INPUT
from advisor.kb.schemas import schema

TEMPLATE = """\
# tinyml-advisor requirements questionnaire (schema: schemas/requirements.schema.json)
# Only `project` and `task` are required; delete or comment out what you do not know.
# Sizes are KiB (1 KB = 1024 bytes). Run: tinyml-advisor advise {file}

project: {project}
task: {task}                 # {tasks}

input:
  kind: {kind}                  # {kinds}
  # shape: [49, 10, 1]          # input tensor shape without the batch axis

# num_classes: 12               # 0 for regression and anomaly scores

# model:                        # leave out: the task's reference model from the knowledge base
#   file: model.tflite          # .tflite, .onnx, .keras, .h5 or a SavedModel folder, relative to this file
#   reference: ds-cnn-kws       # see `tinyml-advisor kb list reference-models`

accuracy:
  # target_pct: 90              # accuracy the deployed model must reach
  max_drop_pp: 2                # largest acceptable drop from compression, percentage points

# latency_ms: 200               # budget per inference
inferences_per_s: 1             # how often the model runs on average

memory:
  # ram_kb: 128                 # RAM the ML part may use (default: all the board's SRAM)
  # flash_kb: 512               # flash the ML part may use (default: all the board's flash)
  margin_pct: 20                # headroom kept free on top of the model's need

power:
  # budget_mw: 5                # average power budget
  # battery_mah: 1000           # battery capacity
  battery_v: 3.7
  # lifetime_days: 365          # required battery lifetime (needs battery_mah)

# unit_cost_usd: 25             # board price ceiling per device

sensors: []                     # {sensors}
external_sensors: []            # sensors added off the board (shield, module, I2S/PDM part): not required on it
connectivity: []                # {connectivity}

# hardware:                     # an existing board to reuse
#   board: arduino-nano-33-ble-sense
#   mode: prefer                # prefer: rank it higher; force: only this board

# framework:                    # a framework or toolchain the team uses (vendor SDK, course, product)
#   id: tflite-micro            # see `tinyml-advisor kb list frameworks`
#   mode: prefer                # prefer: its stacks rank first when one is feasible; force: only this one
#   version: "9.1.0"            # the release you build with: latency uses its figures where known

retraining: true                # false: the model may not be retrained (fixed pre-trained model):
                                # only post-training recipes such as int8 post-training quantization

language: cpp                   # {languages}
os: baremetal                   # {oses}
data: labelled                  # none | representative (unlabelled sample) | labelled (training set)
deployment_units: 100
ota_updates: false
privacy_sensitive: false
team_ml_experience: some        # none | some | expert

weights:                        # how much each objective counts when ranking (0 = ignore)
  cost: 1
  energy: 1
  latency: 1
  accuracy: 1
  maturity: 1                   # framework maintenance status and community
  reuse: 1                      # staying on the existing board and framework
"""


def _enum(*path: str) -> list[str]:
    node = schema("requirements")
    for key in path:
        node = node["properties"][key]
    return list(node.get("enum") or node["items"]["enum"])


def template(file: str, project: str = "My TinyML project", task: str = "keyword-spotting") -> str:
    """The commented questionnaire for ``task``."""
    return TEMPLATE.format(file=file, project=yaml.safe_dump(project, default_style=None).strip()
                           .removesuffix("...").strip(), task=task, kind=TASK_INPUT[task],
                           tasks=" | ".join(_enum("task")), kinds=" | ".join(_enum("input", "kind")),
                           sensors=", ".join(_enum("sensors")), connectivity=", ".join(_enum("connectivity")),
                           languages=" | ".join(_enum("language")), oses=" | ".join(_enum("os")))


Prompt = Callable[..., object]


def interview(prompt: Prompt, echo: Callable[[str], None], valid_board: Callable[[str], str],
              valid_framework: Callable[[str], str] | None = None) -> dict:
    """Ask the questions through ``prompt`` (typer.prompt's signature) and return the questionnaire data.

    Args:
        prompt: asks one question (text, default=..., type=...) and returns the answer.
        echo: tells the user why an answer was not accepted; the question is then asked again.
        valid_board: returns "" for a known board id, else what is wrong with it.
        valid_framework: the same for framework ids (None: the framework question is not asked).
    """
    def choice(text: str, options: list[str], default: str) -> str:
        while True:
            answer = str(prompt(f"{text} [{'/'.join(options)}]", default=default)).strip()
            if answer in options:
                return answer
            echo(f"'{answer}' is not one of: {', '.join(options)}")

    def many(text: str, options: list[str]) -> list[str]:
        while True:
            answer = str(prompt(f"{text} (comma-separated: {', '.join(options)}; empty for none)", default=""))
            items = [a.strip() for a in answer.split(",") if a.strip()]
            bad = [i for i in items if i not in options]
            if not bad:
                return items
            echo(f"unknown: {', '.join(bad)}")

    def number(text: str, default: float, minimum: float = 0.0) -> float:
        while True:
            value = prompt(text, default=default, type=float)
            if value >= minimum:
                return value
            echo(f"must be at least {minimum:g}")

    data: dict = {"project": str(prompt("Project name", default="My TinyML project"))}
    data["task"] = choice("Task", _enum("task"), "keyword-spotting")
    data["input"] = {"kind": choice("Input", _enum("input", "kind"), TASK_INPUT[data["task"]])}
    classes = int(number("Number of classes (0 for regression/anomaly)", 2))
    data["num_classes"] = classes
    drop = number("Largest acceptable accuracy drop from compression, points", 2.0)
    data["accuracy"] = {"max_drop_pp": drop}
    latency = number("Latency budget per inference, ms (0 = none)", 0.0)
    if latency:
        data["latency_ms"] = latency
    data["inferences_per_s"] = number("Inferences per second", 1.0, 0.001)
    memory = {k: v for k, v in (("ram_kb", number("RAM budget for ML, KB (0 = the board's)", 0.0)),
                                ("flash_kb", number("Flash budget for ML, KB (0 = the board's)", 0.0))) if v}
    if memory:
        data["memory"] = memory
    battery = number("Battery capacity, mAh (0 = mains powered)", 0.0)
    if battery:
        data["power"] = {"battery_mah": battery}
        lifetime = number("Required battery lifetime, days (0 = none)", 0.0)
        if lifetime:
            data["power"]["lifetime_days"] = lifetime
    cost = number("Unit cost ceiling, USD (0 = none)", 0.0)
    if cost:
        data["unit_cost_usd"] = cost
    data["sensors"] = many("Sensors the board must carry", _enum("sensors"))
    external = many("Sensors added off the board (shield, module)",
                    [s for s in _enum("sensors") if s not in data["sensors"]])
    if external:
        data["external_sensors"] = external
    data["connectivity"] = many("Connectivity the board must have", _enum("connectivity"))
    while True:
        board = str(prompt("Existing board to reuse (empty for none)", default="")).strip()
        if not board:
            break
        problem = valid_board(board)
        if not problem:
            data["hardware"] = {"board": board, "mode": choice("Use it how", ["prefer", "force"], "prefer")}
            break
        echo(problem)
    while valid_framework is not None:
        fw = str(prompt("Framework or toolchain the team uses (empty for none)", default="")).strip()
        if not fw:
            break
        problem = valid_framework(fw)
        if not problem:
            data["framework"] = {"id": fw, "mode": choice("Use it how", ["prefer", "force"], "prefer")}
            version = str(prompt("Its release, e.g. 9.1.0 (empty if unknown)", default="")).strip()
            if version and all(part.isdigit() for part in version.split(".")) and version.count(".") <= 3:
                data["framework"]["version"] = version
            elif version:
                echo(f"'{version}' is not a release number like 9.1.0: left out")
            break
        echo(problem)
    if choice("May the model be retrained or fine-tuned", ["yes", "no"], "yes") == "no":
        data["retraining"] = False
    data["language"] = choice("Application language", _enum("language"), "cpp")
    data["os"] = choice("Operating system", _enum("os"), "baremetal")
    data["data"] = choice("Data available", _enum("data"), "labelled")
    return data


def dump(data: dict) -> str:
    """YAML for a questionnaire written by `ask`, with a header saying how to use it."""
    header = "# Written by `tinyml-advisor ask`; edit freely (schema: schemas/requirements.schema.json).\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
