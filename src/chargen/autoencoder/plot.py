"""The autoencoder's pictures: its character embeddings and the thought vectors of word pairs,
each projected to 2-D by PCA (matplotlib: the optional extra `plot`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chargen.autoencoder.reconstruct import Trained, encode, prepare_words
from chargen.autoencoder.words import FIRST_CHAR
from chargen.files import atomic_path
from chargen.tools.plot import _pyplot, pca_2d

EMBEDDING_PNG = "embedding.png"
THOUGHTS_PNG = "thoughts.png"


def plot_embedding(trained: Trained, out: Path) -> Path:
    """Every character of the vocabulary as a labelled point: frequent characters, which
    carry little information, sit near the origin."""
    plt = _pyplot()
    table = np.asarray(trained.parts.embedding.embeddings)[FIRST_CHAR:]
    xy = pca_2d(table)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.scatter(xy[:, 0], xy[:, 1], s=12, color="tab:blue")
    for (x, y), char in zip(xy, trained.vocab.chars, strict=True):
        ax.annotate(char, (x, y), fontsize=11, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set_title("character embeddings (PCA)")
    return _save(fig, plt, out / EMBEDDING_PNG)


def plot_thoughts(trained: Trained, pairs: list[tuple[str, str]], out: Path) -> Path:
    """Thought vectors of the pairs' words, with an arrow from each first word to its second:
    parallel arrows mean one offset stands for one change ("+s")."""
    plt = _pyplot()
    words = prepare_words(trained, [w for p in pairs for w in p], skip_unknown=False)
    xy = pca_2d(encode(trained, words))
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.scatter(xy[:, 0], xy[:, 1], s=12, color="tab:blue")
    for i, word in enumerate(words):
        ax.annotate(word, tuple(xy[i]), fontsize=10, xytext=(3, 3), textcoords="offset points")
    for i in range(0, len(words), 2):
        (x0, y0), (x1, y1) = xy[i], xy[i + 1]
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "tab:red"})
    ax.set_title("thought vectors (PCA), arrows from each pair's first word")
    return _save(fig, plt, out / THOUGHTS_PNG)


def _save(fig: object, plt: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[attr-defined]
    return path
