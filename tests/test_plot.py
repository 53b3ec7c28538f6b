"""`chargen plot`: PCA coordinates and the two PNGs it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.tools.plot import pca_2d

PNG = b"\x89PNG\r\n\x1a\n"


def test_pca_keeps_the_main_directions() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)) * np.array([10.0, 3.0, 0.01])
    coords = pca_2d(points)
    assert coords.shape == (50, 2)
    assert np.allclose(coords.mean(axis=0), 0.0)
    variances = coords.var(axis=0)
    assert variances[0] > variances[1] > 0
    assert np.isclose(variances.sum(), points.var(axis=0)[:2].sum(), rtol=0.05)
    assert pca_2d(np.ones((4, 1))).shape == (4, 2)


def test_plot_writes_two_pngs(runner: CliRunner, trained_run, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs"
    result = runner.invoke(main, ["plot", "--run", str(trained_run.path), "--out-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote {out / 'loss.png'}\nwrote {out / 'embedding.png'}\n"
    for name in ("loss.png", "embedding.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    assert sorted(p.name for p in out.iterdir()) == ["embedding.png", "loss.png"]
