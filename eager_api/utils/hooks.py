"""``torch.utils.hooks``: the handle every ``register_*hook`` returns, PyTorch's checks on a gradient a hook hands
back, and the machinery of ``nn.Module``'s full backward hooks (PyTorch's ``BackwardHook`` and
``BackwardHookFunction``)."""
from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable, Sequence

import core
from core.graph import Node, Value
from core.op import is_grad_enabled
from eager_api.tensor import Tensor, zeros


class RemovableHandle:
    """What ``register_*hook`` returns: ``remove()`` unregisters the hook, as does leaving a ``with`` block.

    The tables (OrderedDicts: a plain dict cannot be referenced weakly) are held weakly, as PyTorch holds them,
    so a handle kept around does not keep a dead module's or node's hooks alive.

        >>> import collections
        >>> table = collections.OrderedDict()
        >>> handle = RemovableHandle(table)
        >>> table[handle.id] = print
        >>> with handle:
        ...     len(table)
        1
        >>> len(table)
        0
    """

    next_id: int = 0

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = [extra_dict] if isinstance(extra_dict, dict) else (extra_dict or [])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            table = ref()
            if table is not None:
                table.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def check_grad(hook_name: str, new: Any, old: Value) -> Tensor:
    """``new``, a hook's replacement for the gradient ``old``, after PyTorch's checks (``check_variable_result``:
    the type, which names the device too, then the size)."""
    if not isinstance(new, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    was, got = Tensor._of(old).type(), new.type()
    if was != got:
        raise RuntimeError(f"hook '{hook_name}' has changed the type of value (was {was} got {got})")
    if tuple(new.shape) != tuple(old.shape):
        raise RuntimeError(f"hook '{hook_name}' has changed the size of value")
    return new


class TensorHook:
    """A ``Tensor.register_hook`` hook as the reverse pass calls it: a core value in, the user's hook called with a
    Tensor, its replacement checked."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable[[Tensor], Any]) -> None:
        self.hook = hook

    def __call__(self, g: Value) -> Tensor | None:
        g = Tensor._of(g)
        out = self.hook(g)
        return None if out is None else check_grad(getattr(self.hook, "__name__", "<unknown>"), out, g)


class BackwardHookFunction(core.Op):
    """The identity on the tensors of one module call that require grad, as one node, so that their gradients
    arrive together; its gradient rule hands them to ``on_grads`` (a ``BackwardHook`` method), which may
    replace them.  The outputs are copies (core's rule for a primitive that is not a view), where PyTorch's
    alias the inputs and refuse in-place writes into them."""

    name = "BackwardHookFunction"
    arg_names = ("input",)
    saves_inputs = False

    def __init__(self, on_grads: Callable[[Node, list], Sequence[Value | None]]) -> None:
        self.on_grads = on_grads

    def infer(self, *xs: Value) -> list:
        return [(x.shape, x.dtype) for x in xs]

    def forward(self, be: Any, *arrays: Any) -> tuple:
        return arrays

    def vjp(self, node: Node, grads: Sequence[Value | None], needs: Sequence[bool]) -> list:
        return [g if need else None for g, need in zip(self.on_grads(node, list(grads)), needs)]


_NO_INPUT_GRAD = ("Full backward hook is firing when gradients are computed with respect to module outputs since no "
                  "inputs require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                  "#torch.nn.Module.register_full_backward_hook for more details.")


class BackwardHook:
    """One module call's full backward hooks and pre-hooks, as PyTorch's ``torch.utils.hooks.BackwardHook``.

    The call's positional tensor inputs that require grad pass through one ``BackwardHookFunction`` node and its
    tensor outputs through another.  In backward the outputs' node comes first: it records grad_output (None
    for an output no gradient reached) and runs the pre-hooks, which may replace it.  The inputs' node then
    calls the hooks with grad_input, one entry per positional argument: the gradient for a tensor (zeros where
    none arrived, or the tensor does not require grad, as PyTorch materializes them), None for anything else;
    what the hooks return flows on.  Where no input requires grad, the outputs' node calls the hooks with
    grad_input all None, as PyTorch does.
    """

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = self.n_outputs = -1
        self.input_tensors_index: list[int] | None = None       # None: no input went through a node
        self._wrapped_inputs: list[int] = []
        self._wrapped_outputs: list[int] = []
        self._input_specs: dict[int, tuple] = {}         # position -> (shape, dtype, device), for zeros

    @staticmethod
    def _apply_on_tensors(on_grads: Callable, args: tuple) -> tuple[tuple, list[int] | None, list[int]]:
        """``args`` with its tensors that require grad replaced by the outputs of one hook node; the positions of
        all its tensors (None when no node was made: nothing requires grad, or grad mode is off) and of those
        replaced.  Unlike PyTorch, a tensor that does not require grad stays out of the node, so it stays out of
        autograd inside the module too."""
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        wrapped = [i for i in tensors if args[i].requires_grad]
        if not (wrapped and is_grad_enabled()):
            return args, None, []
        new = core.apply(BackwardHookFunction(on_grads), *[args[i] for i in wrapped])
        arg_list = list(args)
        for i, t in zip(wrapped, new if isinstance(new, tuple) else (new,)):
            arg_list[i] = t
        return (tuple(arg_list) if type(args) is tuple else type(args)(*arg_list)), tensors, wrapped

    def setup_input_hook(self, args: tuple) -> tuple:
        res, self.input_tensors_index, self._wrapped_inputs = self._apply_on_tensors(self._input_grads, args)
        self.n_inputs = len(args)
        self._input_specs = {i: (tuple(args[i].shape), args[i].dtype, args[i].device)
                             for i in self.input_tensors_index or ()}
        return res

    def setup_output_hook(self, result: Any) -> Any:
        outs = result if isinstance(result, tuple) else (result,)
        res, _, self._wrapped_outputs = self._apply_on_tensors(self._output_grads, outs)
        self.n_outputs = len(outs)
        return res if isinstance(result, tuple) else res[0]

    def _output_grads(self, node: Node, grads: list) -> list:
        """The outputs' node in backward: record grad_output, run the pre-hooks (and the hooks, where no input
        went through a node), and hand on the gradients for the module's outputs."""
        grad_outputs = [None] * self.n_outputs
        for i, g in zip(self._wrapped_outputs, grads):
            grad_outputs[i] = None if g is None else Tensor._of(g)
        self.grad_outputs = tuple(grad_outputs)
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(self.grad_outputs):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, got "
                                   f"{len(out)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = out
        local = self.grad_outputs
        if self.input_tensors_index is None:
            # Pointing at the user's ``.backward()``, as PyTorch's does (through vjp, the reverse pass, and
            # eager_api.autograd.backward).
            warnings.warn(_NO_INPUT_GRAD, UserWarning, stacklevel=7)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(el is None for el in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return [None if local[i] is None else check_grad("hook", local[i], v)
                for i, v in zip(self._wrapped_outputs, node.outputs)]

    def _input_grads(self, node: Node, grads: list) -> list:
        """The inputs' node in backward: call the hooks with grad_input and hand on what they return."""
        if self.grad_outputs is None:
            # The gradient reached the inputs without passing through the outputs (a double backward): as PyTorch,
            # no hook runs.
            return grads
        given = dict(zip(self._wrapped_inputs, grads))
        res = [None] * self.n_inputs
        for i, (shape, dtype, device) in self._input_specs.items():
            g = given.get(i)
            res[i] = zeros(shape, dtype=dtype, device=device) if g is None else Tensor._of(g)
        res = original = tuple(res)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, but "
                                   f"expected {len(res)}")
            res = out
        self.grad_outputs = None
        return [None if res[i] is None else check_grad("hook", res[i], original[i]) for i in self._wrapped_inputs]
