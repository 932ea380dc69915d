"""Load weights saved by the Keras-style static frontend into an eager module of the same architecture."""
from __future__ import annotations

import collections
import os

from core import checkpoint, interop
from eager_api.nn.modules import Module
from eager_api.tensor import tensor


def state_dict_from_keras(path: str | os.PathLike, module: Module) -> "collections.OrderedDict":
    """A state dict for ``module`` from ``Model.save_weights`` output, converted to NCHW/OIHW layouts.

    Weights are matched in order (Keras layer order = the module's parameter/buffer order).
    """
    tree, frontend = checkpoint.load_tree(path)
    if frontend != "keras":
        raise checkpoint.CheckpointError(f"{os.fspath(path)!r} was not written by keras Model.save_weights "
                                         f"(frontend {frontend!r})")
    values = interop.convert(list(tree["weights"].values()), tree["layouts"], "to_torch")
    keys = [k for k in module.state_dict() if not k.endswith("num_batches_tracked")]
    if len(keys) != len(values):
        raise ValueError(f"state_dict_from_keras: the checkpoint has {len(values)} weights but "
                         f"{type(module).__name__} has {len(keys)} parameters and buffers")
    return collections.OrderedDict((k, tensor(v, dtype=v.dtype)) for k, v in zip(keys, values))
