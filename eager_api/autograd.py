"""``backward``/``grad`` and the grad-mode switches, all over ``core.autodiff.gradients``."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Sequence

from core import autodiff, graph
from core.op import grad_mode
from core.op import set_grad_enabled as core_set_grad_enabled
from eager_api.tensor import Tensor, _T, ones_like, tensor


class _GradSwitch:
    """Context manager and decorator that sets grad mode, like ``torch.no_grad``."""

    enabled = False

    def __enter__(self) -> None:
        self._cm = grad_mode(self.enabled)
        self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with grad_mode(self.enabled):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradSwitch):
    enabled = False


class enable_grad(_GradSwitch):
    enabled = True


class set_grad_enabled(_GradSwitch):
    """Takes effect at once when called as a plain function, and restores on exit as a context manager."""

    def __init__(self, mode: bool) -> None:
        self.enabled = bool(mode)
        self._prev = core_set_grad_enabled(self.enabled)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        core_set_grad_enabled(self._prev)


_inference = threading.local()


def is_inference_mode_enabled() -> bool:
    return getattr(_inference, "enabled", False)


class inference_mode:
    """``torch.inference_mode``: no_grad plus a per-thread flag (``is_inference_mode_enabled``); a context
    manager and a decorator, with or without parentheses.  ``inference_mode(False)`` leaves grad mode alone.
    dualflow has no separate inference tensors: tensors made inside may later join autograd."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):                  # @torch.inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self._saved: list = []

    def __enter__(self) -> None:
        self._saved.append((is_inference_mode_enabled(), core_set_grad_enabled(False) if self.mode else None))
        _inference.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        inference, grad = self._saved.pop()
        _inference.enabled = inference
        if grad is not None:
            core_set_grad_enabled(grad)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(self.mode):
                return fn(*args, **kwargs)
        return wrapper


def to_dot(t: Tensor, title: str = "eager autograd graph") -> str:
    """Graphviz DOT text of the autograd graph that produced ``t`` (op names and shapes)."""
    from core.graphviz import to_dot as _to_dot
    if t.node is None:
        raise RuntimeError("to_dot: the tensor has no autograd graph (it is a leaf or was made under no_grad)")
    return _to_dot([t.node], title=title)


def _seeds(outputs: Sequence[Tensor], grad_outputs: Sequence[Any] | None) -> list:
    seeds = []
    for i, y in enumerate(outputs):
        if not y._current().requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if y.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(y)
        elif not isinstance(g, Tensor):
            g = tensor(g, dtype=y.dtype, device=y.device)
        if tuple(g.shape) != tuple(y.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and output[{i}] "
                               f"has a shape of {list(y.shape)}.")
        seeds.append(g)
    return seeds


def backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Any] | None = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(tensors)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    seeds = _seeds(tensors, grad_tensors)
    targets, seen = [], set()
    order = graph.toposort([t.node for t in tensors if t.node is not None])
    for node in order:
        for v in node.inputs:
            if v.node is None and v.requires_grad and id(v) not in seen:
                seen.add(id(v))
                targets.append(v)
        for i, t in (node.retained or {}).items():
            if t.node is node and t.index == i and id(t) not in seen:     # retain_grad of the tensor's current value
                seen.add(id(t))
                targets.append(t)
    for t in tensors:      # a leaf output receives its own seed
        if id(t) not in seen and t.node is None:
            seen.add(id(t))
            targets.append(t)
    keep = create_graph if retain_graph is None else retain_graph
    held = {id(_memory(s.array)) for s in seeds}

    def accumulate(i: int, g: Any) -> None:
        """Called by the reverse pass as soon as target i's gradient is final, so its hooks run mid-pass."""
        if g is None:
            return
        t = targets[i]
        if t.node is None and t._backward_hooks:        # a leaf's register_hook hooks, first
            g = autodiff.run_hooks(t._backward_hooks.values(), g)
        if t.grad is not None:
            # As PyTorch: in place unless recording, so a reference to .grad taken earlier sees the sum; with
            # create_graph a new tensor, whose graph leads back through both terms.
            if create_graph:
                t.grad = _T(t.grad + g)
            else:
                t.grad.add_(_T(g).detach())
        elif create_graph:
            t.grad = _T(g)
        else:
            g = _T(g).detach()
            # A gradient rule may pass one array to several inputs, or hand back a broadcast view; every
            # .grad must be its own writable array, as in PyTorch, so in-place updates stay local.
            if id(_memory(g.array)) in held or not g.array.flags.c_contiguous:
                g = _T(g.clone())
            held.add(id(_memory(g.array)))
            t.grad = g
        for hook in list(t.__dict__.get("_post_accumulate_grad_hooks", {}).values()):
            hook(t)

    # Only hooks need a gradient the moment it is final; without them the pass skips that bookkeeping.
    hooked = any(t.__dict__.get("_post_accumulate_grad_hooks") or t._backward_hooks for t in targets)
    outer, _pending.callbacks = getattr(_pending, "callbacks", None), []
    try:
        with grad_mode(create_graph):
            grads = autodiff.gradients(tensors, targets, seeds, retain_graph=keep, order=order,
                                       on_ready=accumulate if hooked else None)
            if not hooked:
                for i, g in enumerate(grads):
                    accumulate(i, g)
        queued = _pending.callbacks
        while queued:        # a callback may queue another
            queued.pop(0)()
    finally:
        _pending.callbacks = outer


# The callbacks queued during this thread's backward pass (a backward run inside a hook keeps its own).
_pending = threading.local()


def _queue_callback(fn: Callable[[], None]) -> None:
    """Run ``fn`` once the current backward pass has finished (PyTorch's
    ``Variable._execution_engine.queue_callback``); DDP waits for its all-reduces there."""
    if getattr(_pending, "callbacks", None) is None:
        raise RuntimeError("_queue_callback: no backward pass is running in this thread")
    _pending.callbacks.append(fn)


def _memory(a: Any) -> Any:
    """The array that owns ``a``'s memory."""
    while a.base is not None:
        a = a.base
    return a


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """``torch.autograd.grad``: gradients of outputs w.r.t. inputs, returned rather than accumulated."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [t._current() for t in ([inputs] if isinstance(inputs, Tensor) else inputs)]
    seeds = _seeds(outputs, grad_outputs if grad_outputs is None or isinstance(grad_outputs, (list, tuple))
                   else [grad_outputs])
    keep = create_graph if retain_graph is None else retain_graph
    with grad_mode(create_graph):
        grads = autodiff.gradients(outputs, inputs, seeds, retain_graph=keep)
        # A leaf's register_hook hooks see its gradient here too (a computed tensor's ran in the pass).
        grads = [autodiff.run_hooks(x._backward_hooks.values(), g)
                 if g is not None and x.node is None and x._backward_hooks else g
                 for x, g in zip(inputs, grads)]
    for i, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
    return tuple(None if g is None else (_T(g) if create_graph else _T(g).detach()) for g in grads)
