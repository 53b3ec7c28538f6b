"""Pictures of a run: loss curves, and a 2-D PCA map of the learned character embeddings.

matplotlib is the optional extra `plot`; it is imported only here, with the Agg backend, so
plotting works on a headless machine.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chargen.errors import UsageProblem
from chargen.files import atomic_path
from chargen.runs.rundir import RunDir, read_metrics

LOSS_PNG = "loss.png"
EMBEDDING_PNG = "embedding.png"


def _pyplot():  # noqa: ANN202 - matplotlib's module type
    try:
        import matplotlib
    except ImportError:
        raise UsageProblem("plotting needs matplotlib: pip install 'chargen[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pca_2d(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Project rows onto their first two principal components (zero-padded if rank < 2)."""
    if not np.isfinite(vectors).all():
        raise UsageProblem("the embeddings are not finite numbers (did training diverge?)")
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords


def plot_losses(run: RunDir, out: Path) -> Path:
    """Train and validation loss per step in nats, with bits per character on the right axis."""
    rows = read_metrics(run)
    if not rows:
        raise UsageProblem(f"{run.metrics} has no finished epoch to plot")
    plt = _pyplot()
    # steps, not epochs: --eval-every adds rows inside an epoch
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(steps, [r["train_loss"] for r in rows], marker="o", label="train")
    ax.plot(steps, [r["val_loss"] for r in rows], marker="o", label="validation")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (nats per character)")
    bits = ax.secondary_yaxis(
        "right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2))
    )
    bits.set_ylabel("bits per character")
    ax.set_title(f"{run.path.name}: loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return out


def plot_embedding(
    weights: npt.NDArray[np.floating], chars: list[str], title: str, out: Path
) -> Path:
    """Each character at its PCA position, labelled by itself (whitespace spelled out)."""
    plt = _pyplot()
    coords = pca_2d(np.asarray(weights, dtype=np.float64))
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(coords[:, 0], coords[:, 1], s=8, alpha=0.3)
    for (x, y), c in zip(coords, chars, strict=True):
        label = {"\n": "\\n", " ": "space", "\t": "\\t"}.get(c, c)
        ax.annotate(label, (x, y), fontsize=9, ha="center", va="center")
    ax.set_title(f"{title}: character embeddings (PCA)")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return out


def plot_run(run: RunDir, out_dir: Path | None = None) -> list[Path]:
    """loss.png and embedding.png for a run (into the run directory unless `out_dir`)."""
    from chargen.tools.export import load_run_model

    target = out_dir if out_dir is not None else run.path
    written = [plot_losses(run, target / LOSS_PNG)]
    model, vocab = load_run_model(run)
    weights = model.get_layer("embedding").get_weights()[0]
    written.append(
        plot_embedding(weights, list(vocab.chars), run.path.name, target / EMBEDDING_PNG)
    )
    return written
