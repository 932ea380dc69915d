"""``torch.compile`` for the eager frontend: PyTorch's wrapper, arguments, checks and errors, around the model or
function as it is.

PyTorch's compile promises the eager values (to float rounding) and speed; dualflow's eager frontend has no
tracing compiler (its static frontend compiles whole graphs: ``core/passes``), so a compiled model here runs
its eager code, and what a user can observe of the wrapper is PyTorch's: a module comes back as an
``OptimizedModule`` holding it as ``_orig_mod`` (so ``state_dict`` keys gain the ``_orig_mod.`` prefix, the
well-known trap when a checkpoint moves between compiled and plain models), attributes read and written
through to it; a function comes back wrapped; ``disable=True`` returns the model itself.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from eager_api.nn.modules import Module

# PyTorch 2.13's modes and the backends ``torch._dynamo`` registers (``list_backends()`` and its debug ones).
MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
BACKENDS = ("inductor", "cudagraphs", "openxla", "tvm", "eager", "aot_eager", "aot_eager_decomp_partition")


class InvalidBackend(RuntimeError):
    """``torch._dynamo.exc.InvalidBackend``: a backend name no compiler is registered under."""


class OptimizedModule(Module):
    """A compiled module: the original one as ``_orig_mod``, called as it is; every other attribute is the
    original's, read and written through."""

    _opt_mod_attributes = frozenset({"_orig_mod", "dynamo_ctx", "_torchdynamo_orig_callable", "forward"})

    def __init__(self, mod: Module) -> None:
        super().__init__()
        self._modules["_orig_mod"] = mod
        # ``training`` is the original's (``eval()`` here sets it there, as PyTorch's wrapper does)
        del self.__dict__["training"]

    def __getattr__(self, name: str) -> Any:
        if name == "_orig_mod":
            return self._modules["_orig_mod"]
        return getattr(self._modules["_orig_mod"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            super().__setattr__(name, value)
        else:
            setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            super().__delattr__(name)
        else:
            delattr(self._orig_mod, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._orig_mod(*args, **kwargs)


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,  # noqa: A001
            backend: str | Callable = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False) -> Any:
    """PyTorch's ``torch.compile``: the arguments checked as there, then the model wrapped (see the module's
    docstring); without ``model``, a decorator doing so."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if isinstance(backend, str) and backend not in BACKENDS:
        raise InvalidBackend(f"Invalid backend: {backend!r}, see `torch._dynamo.list_backends()` for available "
                             "backends.")
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model)

    @functools.wraps(model)
    def compiled(*args: Any, **kwargs: Any) -> Any:
        return model(*args, **kwargs)
    return compiled
