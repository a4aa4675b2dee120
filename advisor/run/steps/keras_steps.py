"""Steps on the Keras model: load, prune, cluster, quantization-aware training, distillation (TFMOT)."""

from __future__ import annotations

import math

import numpy as np

from advisor.problems import Problem, ProblemError
from advisor.run.data import model_problems
from advisor.run.steps.runctx import RunContext, StepFailed, compile_for, fit, keras


def load_model(ctx: RunContext, params: dict) -> dict:
    """Load the float model through the safe loader (nothing from the file is run).

    Raises:
        ProblemError: (bad input, exit 2) not a Keras model, a Lambda or custom layer, or Keras cannot load it.
    """
    if ctx.model_path.suffix.lower() == ".onnx" and not ctx.model_path.is_dir():
        from advisor.run.steps.onnx_steps import load

        return load(ctx, params)
    from advisor.profile.keras_io import load_keras_model

    model = load_keras_model(ctx.model_path)
    ctx.model, ctx.teacher = model, model
    in_shape, out_shape = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    ctx.kind = "autoencoder" if in_shape == out_shape else "classification"
    problems = _shape_problems(ctx)
    if problems:
        raise ProblemError(problems)
    probe = ctx.data.get("x_test", ctx.data.get("x_train", ctx.data.get("x_rep")))
    if ctx.kind == "classification" and probe is not None:
        sums = model.predict(probe[:4], verbose=0).sum(axis=-1)
        ctx.from_logits = not np.allclose(sums, 1.0, atol=1e-3)
    return {"parameters": int(model.count_params()), "kind": ctx.kind, "input_shape": list(in_shape),
            "output_shape": list(out_shape)}


def _shape_problems(ctx: RunContext) -> list[Problem]:
    """Data that does not fit the model: wrong sample shapes, labels outside the classes."""
    classes = int(ctx.model.output_shape[-1]) if ctx.kind == "classification" else None
    return model_problems(ctx.data, ctx.data_name, tuple(ctx.model.input_shape[1:]), classes)


def _sparsity(model) -> float:
    kernels = [w for layer in model.layers for w in layer.get_weights() if w.ndim > 1]
    total = sum(w.size for w in kernels)
    return float(sum((w == 0).sum() for w in kernels) / total) if total else 0.0


def prune(ctx: RunContext, params: dict) -> dict:
    import tensorflow_model_optimization as tfmot

    x, _ = ctx.training()
    steps = math.ceil(len(x) / params["batch_size"]) * params["epochs"]
    schedule = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=params["target_sparsity"],
                                                    begin_step=0, end_step=max(steps - 1, 1), frequency=1)
    keras().utils.set_random_seed(ctx.seed)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(ctx.model, pruning_schedule=schedule)
    compile_for(pruned, ctx, params["learning_rate"])
    out = fit(pruned, ctx, params["epochs"], params["batch_size"], [tfmot.sparsity.keras.UpdatePruningStep()])
    ctx.model = tfmot.sparsity.keras.strip_pruning(pruned)
    return out | {"sparsity": round(_sparsity(ctx.model), 4)}


def cluster(ctx: RunContext, params: dict) -> dict:
    import tensorflow_model_optimization as tfmot

    keras().utils.set_random_seed(ctx.seed)
    clustering = tfmot.clustering.keras
    clustered = clustering.cluster_weights(
        ctx.model, number_of_clusters=params["clusters"],
        cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        preserve_sparsity=params["preserve_sparsity"])
    compile_for(clustered, ctx, params["learning_rate"])
    out = fit(clustered, ctx, params["epochs"], params["batch_size"])
    ctx.model = clustering.strip_clustering(clustered)
    distinct = max((len(np.unique(w)) for layer in ctx.model.layers for w in layer.get_weights() if w.ndim > 1),
                   default=0)
    return out | {"max_distinct_weights_per_kernel": int(distinct), "sparsity": round(_sparsity(ctx.model), 4)}


def qat(ctx: RunContext, params: dict) -> dict:
    import tensorflow_model_optimization as tfmot

    keras().utils.set_random_seed(ctx.seed)
    quant = tfmot.quantization.keras
    preserve = params["preserve"]
    try:
        if preserve == "none":
            model = quant.quantize_model(ctx.model)
        else:
            combine = tfmot.experimental.combine
            scheme = combine.Default8BitPrunePreserveQuantizeScheme() if preserve == "sparsity" else \
                combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity="sparsity" in preserve)
            model = quant.quantize_apply(quant.quantize_annotate_model(ctx.model), scheme)
    except (ValueError, RuntimeError) as exc:
        raise StepFailed(f"TFMOT cannot quantize this model: {str(exc).splitlines()[0]}") from None
    compile_for(model, ctx, params["learning_rate"])
    out = fit(model, ctx, params["epochs"], params["batch_size"])
    ctx.model = model
    return out


def _student(teacher, width: float):
    """The teacher's architecture with every hidden layer's filters/units scaled by ``width``."""
    k = keras()
    output_ids = {id(t) for t in teacher.outputs}
    outputs = {layer.name for layer in teacher.layers if id(layer.output) in output_ids}

    def clone(layer):
        config = layer.get_config()
        if layer.name not in outputs:
            for key in ("filters", "units"):
                if key in config:
                    config[key] = max(1, int(round(config[key] * width)))
        return layer.__class__.from_config(config)

    return k.models.clone_model(teacher, clone_function=clone)


def distill(ctx: RunContext, params: dict) -> dict:
    k = keras()
    k.utils.set_random_seed(ctx.seed)
    student = _student(ctx.teacher, params["width"])
    x, y = ctx.training()
    teacher_out = ctx.teacher.predict(x, verbose=0, batch_size=256)
    alpha, temperature = params["alpha"], params["temperature"]
    if ctx.kind == "autoencoder":
        target = alpha * x + (1 - alpha) * teacher_out
        student.compile(optimizer=k.optimizers.Adam(params["learning_rate"]), loss="mse")
    else:
        logits = teacher_out if ctx.from_logits else np.log(np.clip(teacher_out, 1e-8, 1.0))
        soft = np.exp((logits - logits.max(axis=1, keepdims=True)) / temperature)
        soft /= soft.sum(axis=1, keepdims=True)
        onehot = np.eye(teacher_out.shape[1], dtype=np.float32)[y.astype(int)]
        target = (alpha * onehot + (1 - alpha) * soft).astype(np.float32)
        student.compile(optimizer=k.optimizers.Adam(params["learning_rate"]),
                        loss=k.losses.CategoricalCrossentropy(from_logits=ctx.from_logits), metrics=["accuracy"])
    history = student.fit(x, target, epochs=params["epochs"], batch_size=params["batch_size"], shuffle=True,
                          verbose=0)
    ctx.model = student
    return {"teacher_parameters": int(ctx.teacher.count_params()), "student_parameters": int(student.count_params()),
            "final_loss": float(history.history["loss"][-1])}
