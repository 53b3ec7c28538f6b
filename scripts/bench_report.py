"""The benchmark's readable table: every figure, then each ratio against its target."""

from __future__ import annotations

from typing import Any

SECTIONS = ("train", "sample", "quality", "prepare", "memory", "gpu")
TARGETS = {  # ratio name -> minimum, from the project's performance goals
    "train_vs_tutorial": 50.0,
    "train_vs_torch": 1.0,
    "sample_1_vs_naive": 1000.0,
    "sample_64_vs_1": 30.0,
    "numpy_1_vs_naive": 1000.0,
    "numpy_64_vs_matmul_bound": 0.8,
    "prepare_mb_per_s": 80.0,
}


def format_table(results: dict[str, Any]) -> str:
    """A readable summary: every measured figure, then each ratio against its target."""
    lines = [f"{'measure':44} {'value':>14}"]
    for section in SECTIONS:
        data = results.get(section)
        if not isinstance(data, dict):
            continue
        for key, value in _flatten(data, section):
            if key.endswith(".tail") or isinstance(value, list):
                continue
            text = f"{value:14,.2f}" if isinstance(value, float) else f"{value!s:>14}"
            lines.append(f"{key:44} {text}")
    lines += quality_table(results.get("quality"))
    lines.append("")
    lines.append(f"{'target':44} {'reached':>14} {'goal':>8}  ok")
    missed = False
    for name, goal in TARGETS.items():
        value = _find(results, name)
        if value is not None:
            ok = "yes" if value >= goal else "NO"
            missed = missed or value < goal
            # two decimals: a ratio of 1.04 against a goal of 1 must not read as 1.0
            lines.append(f"{name:44} {value:14,.2f} {goal:8,.{0 if goal >= 1 else 1}f}  {ok}")
    if missed:
        lines.append("")
        lines.append("Why a target is missed: docs/performance.md, 'Where the targets stand'.")
    return "\n".join(lines)


def quality_table(quality: Any) -> list[str]:
    """Val nats and bits per character of each system, and its curve point by point."""
    if not isinstance(quality, dict) or "val_nats" not in quality:
        return []
    curves = quality.get("curves", {})
    lines = ["", f"{'system':14} {'val nats':>9} {'val bits':>9}  bits/char at each point (s)"]
    for name, bits in sorted(quality["val_bpc"].items(), key=lambda kv: kv[1]):
        curve = " ".join(f"{b:.2f}@{t:.0f}" for t, b in curves.get(name, []))
        lines.append(f"{name:14} {quality['val_nats'][name]:9.3f} {bits:9.3f}  {curve}")
    return lines


def _flatten(data: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            items += _flatten(value, name)
        else:
            items.append((name, value))
    return items


def _find(results: dict[str, Any], name: str) -> float | None:
    if name == "prepare_mb_per_s":
        return results.get("prepare", {}).get("mb_per_s")
    for section in ("train", "sample"):
        value = results.get(section, {}).get("ratios", {}).get(name)
        if value is not None:
            return float(value)
    return None
