"""The requirements questionnaire: load (YAML or JSON), validate, check against the knowledge base.

A questionnaire is the user's file, so every problem names the file, the line and the field, and
all problems are reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from advisor.kb.base import KnowledgeBase
from advisor.kb.ranking import TERMS, default_ranking
from advisor.problems import Problem, ProblemError, did_you_mean, display_path, json_path
from advisor.kb.schemas import schema, validate
from advisor.kb.yamlio import LineMap, describe_type, excerpt, line_of, load_yaml_file

# The input modality each task usually has, when the questionnaire does not say.
TASK_INPUT = {"keyword-spotting": "audio", "visual-wake-words": "image", "image-classification": "image",
              "gesture-recognition": "imu", "anomaly-detection": "vibration", "object-detection": "image",
              "regression": "timeseries",
              "other": "other"}
MODEL_SUFFIXES = {".tflite": "tflite", ".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".onnx": "onnx"}
TFLITE_IDENTIFIER = b"TFL3"
WEIGHT_KEYS = tuple(TERMS)  # the ranking terms (advisor.kb.ranking)


def _default(*path: str) -> Any:
    node = schema("requirements")
    for key in path:
        node = node["properties"][key]
    return node.get("default")


@dataclass(frozen=True)
class Requirements:
    """A validated questionnaire with every default filled in."""

    project: str
    task: str
    input_kind: str
    input_shape: tuple[int, ...]
    num_classes: int | None
    model_file: Path | None
    model_source: str  # reference | tflite | keras | h5 | savedmodel | onnx
    reference_model: str | None
    accuracy_target_pct: float
    max_accuracy_drop_pp: float
    latency_budget_ms: float  # 0.0 = none
    inferences_per_s: float
    ram_budget_kb: float  # 0.0 = the board's
    flash_budget_kb: float
    memory_margin_pct: float
    power_budget_mw: float
    battery_mah: float
    battery_v: float
    lifetime_days: float
    unit_cost_usd: float
    sensors: tuple[str, ...]  # on the board
    connectivity: tuple[str, ...]
    existing_board: str
    force_board: bool
    language: str
    os: str
    data: str
    deployment_units: int
    ota_updates: bool
    privacy_sensitive: bool
    team_ml_experience: str
    framework: str = ""  # the framework the team prefers or must use ('' = none)
    force_framework: bool = False
    framework_version: str = ""  # the release of that framework the team builds with ('' = unknown)
    post_training_only: bool = False  # retraining: false (the model may not be retrained)
    external_sensors: tuple[str, ...] = ()  # added off the board (shield, module): not required on it
    weights: dict[str, float] = field(default_factory=dict)
    file: str = ""

    def context(self) -> dict[str, Any]:
        """The ``req`` root of the rule context (numbers as doubles, see rule-context.schema.json)."""
        return {
            "task": self.task, "input_kind": self.input_kind, "num_classes": float(self.num_classes or 0),
            "model_source": self.model_source, "accuracy_target_pct": self.accuracy_target_pct,
            "max_accuracy_drop_pp": self.max_accuracy_drop_pp, "latency_budget_ms": self.latency_budget_ms,
            "inferences_per_s": self.inferences_per_s, "ram_budget_kb": self.ram_budget_kb,
            "flash_budget_kb": self.flash_budget_kb, "memory_margin_pct": self.memory_margin_pct,
            "power_budget_mw": self.power_budget_mw, "battery_mah": self.battery_mah,
            "lifetime_days": self.lifetime_days, "unit_cost_usd": self.unit_cost_usd,
            "sensors": list(self.sensors), "external_sensors": list(self.external_sensors),
            "connectivity": list(self.connectivity),
            "existing_board": self.existing_board, "force_board": self.force_board,
            "framework": self.framework, "force_framework": self.force_framework,
            "post_training_only": self.post_training_only,
            "language": self.language, "os": self.os, "data": self.data,
            "deployment_units": float(self.deployment_units), "ota_updates": self.ota_updates,
            "privacy_sensitive": self.privacy_sensitive, "team_ml_experience": self.team_ml_experience,
        }

    def with_context(self, overrides: dict[str, Any]) -> "Requirements":
        """A copy with ``req`` context fields replaced (used to try relaxations)."""
        names = {"unit_cost_usd", "ram_budget_kb", "flash_budget_kb", "latency_budget_ms", "power_budget_mw",
                 "lifetime_days", "max_accuracy_drop_pp", "sensors", "connectivity", "language", "os", "data",
                 "force_board", "existing_board", "memory_margin_pct", "framework", "force_framework",
                 "post_training_only", "external_sensors"}
        changes = {}
        for key, value in overrides.items():
            if key not in names:
                raise KeyError(key)
            changes[key] = tuple(value) if isinstance(value, list) else value
        return replace(self, **changes)


def load_requirements(path: Path | str, kb: KnowledgeBase) -> Requirements:
    """Read and check a questionnaire.

    Raises:
        ProblemError: every problem, each with file, line and field.
    """
    path = Path(path)
    data, lines, name = load_yaml_file(path, what="questionnaire")
    if not isinstance(data, dict):
        raise ProblemError([Problem(name, line_of(lines, ()), "$", "expected a mapping of questionnaire fields, "
                                    f"got {describe_type(data)}", "schema",
                                    "start from `tinyml-advisor init`, which writes a commented questionnaire")])
    problems = validate(data, "requirements", name, lines)
    if problems:
        raise ProblemError(problems)
    return from_mapping(data, kb, name, lines, path.parent)


def from_mapping(data: dict, kb: KnowledgeBase, name: str = "<requirements>", lines: LineMap | None = None,
                 base: Path | None = None) -> Requirements:
    """Build Requirements from schema-valid data; check ids, files and contradictions.

    Raises:
        ProblemError: unknown ids, unreadable model files, contradictory values.
    """
    lines = lines or {}
    base = base or Path.cwd()
    problems: list[Problem] = []

    def bad(path: tuple, message: str, hint: str = "") -> None:
        problems.append(Problem(name, line_of(lines, path), json_path(path), message, "requirements", hint))

    task = data["task"]
    model = data.get("model", {})
    hardware = data.get("hardware")
    power = data.get("power", {})
    memory = data.get("memory", {})
    accuracy = data.get("accuracy", {})
    framework = data.get("framework")
    if framework and framework["id"] not in kb.frameworks:
        bad(("framework", "id"), f"unknown framework {excerpt(framework['id'])}"
            f"{did_you_mean(framework['id'], kb.frameworks)}", "see `tinyml-advisor kb list frameworks`")
    if hardware and hardware["board"] not in kb.boards:
        bad(("hardware", "board"), f"unknown board {excerpt(hardware['board'])}{did_you_mean(hardware['board'], kb.boards)}",
            "see `tinyml-advisor kb list boards`")
    model_file, source = None, "reference"
    if "file" in model and "reference" in model:
        bad(("model",), "give either model.file or model.reference, not both")
    if "file" in model:
        model_file, source = _check_model_file(base / model["file"], bad)
    reference = model.get("reference")
    if reference is not None and reference not in kb.reference_models:
        bad(("model", "reference"), f"unknown reference model {excerpt(reference)}"
            f"{did_you_mean(reference, kb.reference_models)}",
            "allowed: " + ", ".join(sorted(kb.reference_models)))
    elif reference is not None and task not in kb.reference_models[reference].tasks:
        bad(("model", "reference"), f"reference model {excerpt(reference)} is for {', '.join(kb.reference_models[reference].tasks)},"
            f" not {task}")
    # Without a model file the estimates stand on a reference model, which profile.basis chooses for the
    # project (task, input shape, budgets); task: other (or a task without one) needs an input shape for that.
    has_refs = any(task in m.tasks for m in kb.reference_models.values())
    if reference is None and "file" not in model and not has_refs and not data.get("input", {}).get("shape") \
            and not problems:
        bad(("task",), f"the knowledge base has no reference model for task '{task}', so the estimates need "
            "the model or its input: give model.file, or input.shape (a reference model of the same input kind "
            "is then scaled to it)")
    for i, sensor in enumerate(data.get("external_sensors", ())):
        if sensor in data.get("sensors", ()):
            bad(("external_sensors", i), f"'{sensor}' is listed in sensors (on the board) and external_sensors; "
                "keep it in one of them")
    if "lifetime_days" in power and "battery_mah" not in power:
        bad(("power", "lifetime_days"), "a lifetime needs a battery: add power.battery_mah")
    if hardware and hardware.get("mode") == "force" and data.get("unit_cost_usd") is not None \
            and hardware["board"] in kb.boards and (kb.boards[hardware["board"]].price_usd or 0.0) > data["unit_cost_usd"]:
        board = kb.boards[hardware["board"]]
        bad(("unit_cost_usd",), f"the forced board {board.id} costs {board.price_usd:g} USD, over this ceiling")
    if problems:
        raise ProblemError(problems)
    ranking = default_ranking(kb)
    weights = {k: float(data.get("weights", {}).get(k, ranking.terms[k].weight)) for k in WEIGHT_KEYS}
    return Requirements(
        project=data["project"], task=task,
        input_kind=data.get("input", {}).get("kind", TASK_INPUT[task]),
        input_shape=tuple(data.get("input", {}).get("shape", ())),
        num_classes=data.get("num_classes"),
        model_file=model_file, model_source=source, reference_model=reference,
        accuracy_target_pct=float(accuracy.get("target_pct", 0.0)),
        max_accuracy_drop_pp=float(accuracy.get("max_drop_pp", _default("accuracy", "max_drop_pp"))),
        latency_budget_ms=float(data.get("latency_ms", 0.0)),
        inferences_per_s=float(data.get("inferences_per_s", _default("inferences_per_s"))),
        ram_budget_kb=float(memory.get("ram_kb", 0.0)), flash_budget_kb=float(memory.get("flash_kb", 0.0)),
        memory_margin_pct=float(memory.get("margin_pct", _default("memory", "margin_pct"))),
        power_budget_mw=float(power.get("budget_mw", 0.0)), battery_mah=float(power.get("battery_mah", 0.0)),
        battery_v=float(power.get("battery_v", _default("power", "battery_v"))),
        lifetime_days=float(power.get("lifetime_days", 0.0)),
        unit_cost_usd=float(data.get("unit_cost_usd", 0.0)),
        sensors=tuple(data.get("sensors", ())), connectivity=tuple(data.get("connectivity", ())),
        external_sensors=tuple(data.get("external_sensors", ())),
        existing_board=hardware["board"] if hardware else "",
        force_board=bool(hardware and hardware.get("mode", "prefer") == "force"),
        framework=framework["id"] if framework else "",
        force_framework=bool(framework and framework.get("mode", "prefer") == "force"),
        framework_version=framework.get("version", "") if framework else "",
        post_training_only=not data.get("retraining", _default("retraining")),
        language=data.get("language", _default("language")), os=data.get("os", _default("os")),
        data=data.get("data", _default("data")),
        deployment_units=int(data.get("deployment_units", _default("deployment_units"))),
        ota_updates=bool(data.get("ota_updates", False)),
        privacy_sensitive=bool(data.get("privacy_sensitive", False)),
        team_ml_experience=data.get("team_ml_experience", _default("team_ml_experience")),
        weights=weights, file=name,
    )


def with_model_file(req: Requirements, path: Path | str) -> Requirements:
    """``req`` with the model named on the command line (``--model``) in place of the questionnaire's.

    Raises:
        ProblemError: the file is missing, of an unknown type, or not what its suffix says.
    """
    path = Path(path)
    problems: list[Problem] = []

    def bad(_path: tuple, message: str, hint: str = "") -> None:
        problems.append(Problem(display_path(path), 0, "", message.replace("model file", "--model file"),
                                "requirements", hint))

    model_file, source = _check_model_file(path, bad)
    if problems:
        raise ProblemError(problems)
    return replace(req, model_file=model_file, model_source=source, reference_model=None)


def _check_model_file(path: Path, bad) -> tuple[Path | None, str]:
    where = ("model", "file")
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a name the file system cannot hold
        bad(where, f"not a usable file name: {exc}")
        return None, "reference"
    if not exists:
        bad(where, f"model file not found: {display_path(path)}")
        return None, "reference"
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            bad(where, f"{display_path(path)} is a folder without saved_model.pb, so not a SavedModel")
            return None, "reference"
        return path, "savedmodel"
    source = MODEL_SUFFIXES.get(path.suffix.lower())
    if source is None:
        bad(where, f"unknown model type '{path.suffix}'", "use .tflite, .onnx, .keras, .h5 or a SavedModel folder")
        return None, "reference"
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        bad(where, f"cannot read {display_path(path)}: {exc.strerror}")
        return None, "reference"
    if source == "tflite" and head[4:8] != TFLITE_IDENTIFIER:
        bad(where, f"{display_path(path)} is not a TFLite flatbuffer (no 'TFL3' identifier)")
        return None, "reference"
    if source == "h5" and head != b"\x89HDF\r\n\x1a\n":
        bad(where, f"{display_path(path)} is not an HDF5 file")
        return None, "reference"
    if source == "keras" and head[:2] != b"PK":
        bad(where, f"{display_path(path)} is not a .keras archive (not a zip file)")
        return None, "reference"
    return path, source

