"""The `chargen` command: a thin Click layer that reads options, calls core, echoes results.

Commands live in one module per area and register on the group when imported here. Only this
package imports click; TensorFlow is imported inside commands so `chargen --help` stays fast.
"""

from chargen.cli import (  # noqa: F401
    autoencoder_cmds,
    autoencoder_trained,
    corpus_cmds,
    inspect_cmds,
    sample_cmd,
    train_cmd,
)
from chargen.cli.base import main

__all__ = ["main"]
