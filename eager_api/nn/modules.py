"""``torch.nn`` modules: parameter/buffer/submodule registration, state dicts, and the CNN layers."""
from __future__ import annotations

import collections
import math
import numbers
import sys
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy

from core.device import Device
from core.errors import ShapeError
from eager_api.autograd import no_grad
from eager_api.nn import functional as F
from eager_api.nn.functional import _pair
from eager_api.nn import init
from eager_api.tensor import (Tensor, _check_grad_dtype, cat, empty, float16, float32, float64, full, ones, stack,
                              tensor, zeros)
from eager_api.utils.hooks import BackwardHook, RemovableHandle


# Hooks every module call runs before its own, by handle id (``register_module_forward_hook`` and friends).
_global_forward_pre_hooks: "collections.OrderedDict[int, Callable]" = collections.OrderedDict()
_global_forward_hooks: "collections.OrderedDict[int, Callable]" = collections.OrderedDict()
_global_forward_hooks_with_kwargs: "collections.OrderedDict[int, bool]" = collections.OrderedDict()
_global_forward_hooks_always_called: "collections.OrderedDict[int, bool]" = collections.OrderedDict()
_global_backward_pre_hooks: "collections.OrderedDict[int, Callable]" = collections.OrderedDict()
_global_backward_hooks: "collections.OrderedDict[int, Callable]" = collections.OrderedDict()

# Each Module's hook tables (attributes named as PyTorch's).
_HOOK_TABLES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
                "_forward_hooks_always_called", "_backward_pre_hooks", "_backward_hooks")


def _add_hook(hooks: "collections.OrderedDict[int, Callable]", hook: Callable[..., Any], prepend: bool = False,
              flags: Sequence[tuple[dict, bool]] = ()) -> RemovableHandle:
    """Register ``hook`` in ``hooks`` (first of them with ``prepend``) and its id in each flag table whose flag
    is set (``with_kwargs``, ``always_call``); the handle removes it from all of them."""
    handle = RemovableHandle(hooks, extra_dict=[table for table, _ in flags])
    hooks[handle.id] = hook
    for table, on in flags:
        if on:
            table[handle.id] = True
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``Module.register_forward_pre_hook`` for every module, run before each module's own."""
    return _add_hook(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable[..., Any], *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """``Module.register_forward_hook`` for every module, run before each module's own."""
    return _add_hook(_global_forward_hooks, hook, flags=[(_global_forward_hooks_with_kwargs, with_kwargs),
                                                         (_global_forward_hooks_always_called, always_call)])


def register_module_full_backward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``Module.register_full_backward_pre_hook`` for every module, run before each module's own."""
    return _add_hook(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``Module.register_full_backward_hook`` for every module, run before each module's own."""
    return _add_hook(_global_backward_hooks, hook)


def register_module_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    raise NotImplementedError("register_module_backward_hook (PyTorch's deprecated non-full backward hook) is not "
                              "implemented in dualflow: use register_module_full_backward_hook")


class _IncompatibleKeys(collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns; printed as PyTorch prints it when every key matched."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _typename(value: Any) -> str:
    """A value's type as ``torch.typename`` words it in PyTorch's assignment errors ('torch.FloatTensor', 'int')."""
    if isinstance(value, Tensor):
        return value.type()
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class Parameter(Tensor):
    """A leaf tensor that a Module registers as trainable."""

    _op_result = Tensor     # ``p * 2`` is a plain Tensor, as in PyTorch (a Module would register it otherwise)

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        data = empty(0) if data is None else data
        _check_grad_dtype(data.dtype, requires_grad)
        return cls._wrap(data.array, tuple(data.shape), data.dtype, data.device, requires_grad=requires_grad)

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models, as ``torch.nn.Module``."""

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        # names in _buffers that state_dict leaves out (register_buffer(..., persistent=False))
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        # Hooks by handle id, in calling order, and the ids of those taking kwargs or always called (PyTorch's).
        for table in _HOOK_TABLES:
            object.__setattr__(self, table, collections.OrderedDict())

    def __setattr__(self, name: str, value: Any) -> None:
        # PyTorch's rules: a Parameter or a Module (re)registers the name as one; otherwise the table the name is
        # already registered in decides what it takes (a parameter only None, a buffer any tensor or None), so
        # ``self.ema = self.ema * 0.9 + x`` keeps a buffer a buffer. Setting a registered name keeps its place in
        # its table, and with it the order of state_dict() and named_parameters().
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._unregister(name, self.__dict__, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._unregister(name, self.__dict__, self._parameters, self._buffers)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _unregister(self, name: str, *tables: dict) -> None:
        """Drop ``name`` from ``tables`` (and from the non-persistent buffers) before it is registered anew."""
        for table in tables:
            table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_new_name(self, name: Any, kind: str, table: dict) -> None:
        """PyTorch's checks on a name about to be registered in ``table``: a string without dots, not empty, and
        not already an attribute of another sort (a plain attribute, or registered in another table)."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\"")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in table:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter; a non-persistent one is moved by ``.to()`` and
        listed by ``buffers()`` but left out of ``state_dict()`` (and not expected by ``load_state_dict``)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_new_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_new_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        self._parameters[name] = param

    def add_module(self, name: str, module: "Module | None") -> None:
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_new_name(name, "module", self._modules)
        self._modules[name] = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    # True from the registration of a hook on this module until a call finds all its hook tables empty.  The fast
    # path reads this one attribute instead of PyTorch's four tables: on a class with __getattr__ every attribute
    # read costs ~65 ns, and four of them were 6% of a small Linear's call.
    _may_have_hooks = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._may_have_hooks or _global_forward_hooks or _global_forward_pre_hooks or _global_backward_hooks
                or _global_backward_pre_hooks):
            return self.forward(*args, **kwargs)
        if not (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks):
            object.__setattr__(self, "_may_have_hooks", False)      # all removed since
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """PyTorch's ``_call_impl``: forward pre-hooks (global ones first) may replace the arguments, forward hooks
        the result; full backward hooks wrap the positional tensor inputs and the outputs (``BackwardHook``).  If
        anything raises, the forward hooks registered with ``always_call`` that have not run yet still run (with
        the result so far, None), their own errors turned into warnings, and the error goes on."""
        result = None
        called_always = set()
        try:
            backward_pre_hooks = [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
            backward_hooks = [*_global_backward_hooks.values(), *self._backward_hooks.values()]
            for hook_id, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    out = hook(self, args, kwargs)
                    if out is not None:
                        if not (isinstance(out, tuple) and len(out) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {out}.")
                        args, kwargs = out
                else:
                    out = hook(self, args)
                    if out is not None:
                        args = out if isinstance(out, tuple) else (out,)
            bw_hook = None
            if backward_hooks or backward_pre_hooks:
                bw_hook = BackwardHook(self, backward_hooks, backward_pre_hooks)
                args = bw_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called:
                    called_always.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
                    out = hook(self, args, kwargs, result)
                else:
                    out = hook(self, args, result)
                if out is not None:
                    result = out
            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", UserWarning, stacklevel=3)
                result = bw_hook.setup_output_hook(result)
            return result
        except Exception:
            for scope, table, always, with_kwargs in (
                    ("global module", _global_forward_hooks, _global_forward_hooks_always_called, {}),
                    ("module", self._forward_hooks, self._forward_hooks_always_called,
                     self._forward_hooks_with_kwargs)):
                for hook_id, hook in list(table.items()):
                    if hook_id not in always or hook_id in called_always:
                        continue
                    try:
                        out = hook(self, args, kwargs, result) if hook_id in with_kwargs else hook(self, args, result)
                        if out is not None:
                            result = out
                    except Exception as e:
                        warnings.warn(f"{scope} forward hook with ``always_call=True`` raised an exception that was "
                                      f"silenced as another error was raised in forward: {e}", UserWarning,
                                      stacklevel=3)
            raise

    # ----- hooks -------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; what it returns (other than None) replaces the
        positional arguments, a non-tuple wrapped in one.  ``with_kwargs``: ``hook(module, args, kwargs)``, which
        may return ``(args, kwargs)``.  ``prepend``: run before the hooks registered so far.

            >>> lin = Linear(2, 1)
            >>> handle = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
            >>> lin(ones(1, 2)).item() == lin.bias.item()
            True
        """
        object.__setattr__(self, "_may_have_hooks", True)
        return _add_hook(self._forward_pre_hooks, hook, prepend, [(self._forward_pre_hooks_with_kwargs, with_kwargs)])

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``); what it returns (other than None) replaces the output.  ``always_call``: run it even when
        the call raises.  ``prepend``: run before the hooks registered so far.

            >>> lin, seen = Linear(2, 3), []
            >>> with lin.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape))):
            ...     _ = lin(ones(4, 2))
            >>> _ = lin(ones(4, 2))      # the handle removed the hook on leaving the block
            >>> seen
            [(4, 3)]
        """
        object.__setattr__(self, "_may_have_hooks", True)
        return _add_hook(self._forward_hooks, hook, prepend, [(self._forward_hooks_with_kwargs, with_kwargs),
                                                              (self._forward_hooks_always_called, always_call)])

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs are computed (None
        for an output no gradient reached, or one that is not a tensor); a tuple it returns replaces
        grad_output."""
        object.__setattr__(self, "_may_have_hooks", True)
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. the module's positional inputs
        are computed; a tuple it returns replaces grad_input (see ``eager_api.utils.hooks.BackwardHook`` for
        what the entries hold).  Where no input requires grad it is called with grad_input all None, as soon as
        grad_output is known."""
        object.__setattr__(self, "_may_have_hooks", True)
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        raise NotImplementedError("Module.register_backward_hook (PyTorch's deprecated non-full backward hook) is not "
                                  "implemented in dualflow: use register_full_backward_hook")

    # ----- traversal ---------------------------------------------------------------
    # As PyTorch's: a module or tensor reached by several names (Sequential(a, a), a tied weight) is listed once,
    # under the first name, unless remove_duplicate=False. state_dict() is the exception: it saves every name.
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named(self, table: str, prefix: str, recurse: bool,
               remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mp, m in mods:
            for k, t in getattr(m, table).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield (f"{mp}.{k}" if mp else k), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ----- modes and devices -------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        # Through each child's own train(), as PyTorch: a subclass that overrides it (a frozen BatchNorm that stays
        # in eval mode) is honoured however its parent is switched.
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move parameters and buffers to a device and/or cast them to a floating dtype; as PyTorch, a dtype casts
        only the floating-point (and complex) ones: integer buffers (BatchNorm's num_batches_tracked, indices)
        keep theirs."""
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, Device)):
                device = a
            elif not isinstance(a, bool):       # a bool is PyTorch's positional non_blocking
                dtype = a
        if dtype is not None:
            dtype = numpy.dtype(dtype)
            if dtype.kind not in "fc":
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                                f"dtype=torch.{dtype}")
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None:
                        continue
                    cast = dtype if t.dtype.kind in "fc" else None
                    moved = t.detach().to(device=device, dtype=cast)
                    if moved.array is t.array:
                        continue
                    # Move in place so optimizers holding these parameters keep working.
                    t.array, t.device, t.dtype = moved.array, moved.device, moved.dtype
                    t._vc[0] += 1
                    if t.grad is not None:
                        t.grad = t.grad.to(device=device, dtype=cast)
        return self

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Module":
        return self.to("cuda" if device is None else f"cuda:{device}")

    def double(self) -> "Module":
        return self.to(float64)

    def float(self) -> "Module":
        return self.to(float32)

    def half(self) -> "Module":
        return self.to(float16)

    def apply(self, fn: Any) -> "Module":
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----- state -------------------------------------------------------------------
    def _state_entries(self, prefix: str) -> Iterator[tuple[str, Tensor]]:
        """What state_dict() saves, in PyTorch's order: each module's parameters, then its persistent buffers,
        then its children's; a module reached by several names is saved under each (PyTorch does not dedup
        here, so a checkpoint of Sequential(a, a) has both '0.weight' and '1.weight')."""
        for k, p in self._parameters.items():
            if p is not None:
                yield prefix + k, p
        for k, b in self._buffers.items():
            if b is not None and k not in self._non_persistent_buffers_set:
                yield prefix + k, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_entries(f"{prefix}{name}.")

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> "collections.OrderedDict[str, Tensor]":
        out = collections.OrderedDict() if destination is None else destination
        for k, t in self._state_entries(prefix):
            out[k] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> _IncompatibleKeys:
        own = dict(self._state_entries(""))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        # As PyTorch: entries that fit are copied even when others fail; the error lists every problem.
        errors = []
        with no_grad():
            for k, t in own.items():
                if k not in state_dict:
                    continue
                src = state_dict[k]
                if not isinstance(src, Tensor):
                    errors.append(f'While copying the parameter named "{k}", expected torch.Tensor or Tensor-like '
                                  f"object from checkpoint but received {type(src)}")
                elif tuple(src.shape) != tuple(t.shape):
                    errors.append(f"size mismatch for {k}: copying a param with shape {list(src.shape)} from "
                                  f"checkpoint, the shape in current model is {list(t.shape)}.")
                else:
                    t.copy_(src)
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing ----------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            for k, m in modules[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):        # as PyTorch: a Sequential of the slice, under the original names
            return Sequential(collections.OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, m: Module) -> "Sequential":
        self.add_module(str(len(self)), m)
        return self


class ModuleList(Module):
    def __init__(self, modules: Any = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, m: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class _NamedTable:
    """Read access by name to one of a Module's tables (``_table``), for ModuleDict and ParameterDict."""

    _table = "_modules"

    def __getitem__(self, name: str) -> Any:
        return getattr(self, self._table)[name]

    def __contains__(self, name: str) -> bool:
        return name in getattr(self, self._table)

    def __len__(self) -> int:
        return len(getattr(self, self._table))

    def __iter__(self) -> Iterator[str]:
        return iter(getattr(self, self._table))

    def keys(self) -> Any:
        return getattr(self, self._table).keys()

    def values(self) -> Any:
        return getattr(self, self._table).values()

    def items(self) -> Any:
        return getattr(self, self._table).items()


class ModuleDict(_NamedTable, Module):
    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        self.update(modules or {})

    def update(self, modules: Any) -> None:
        for name, m in (modules.items() if hasattr(modules, "items") else modules):
            self.add_module(name, m)

    def __setitem__(self, name: str, m: Module) -> None:
        self.add_module(name, m)


def _param(*shape: int, device: Any = None, dtype: Any = None) -> Parameter:
    return Parameter(empty(*shape, device=device, dtype=dtype))


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _param(out_features, in_features, device=device, dtype=dtype)
        if bias:
            self.bias = _param(out_features, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for the bias.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias, _layer="Linear")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not supported yet (only 'zeros')")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
        if padding == "same" and _pair(stride) != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation, self.groups = _pair(dilation), groups
        self.weight = _param(out_channels, in_channels // groups, *self.kernel_size, device=device, dtype=dtype)
        if bias:
            self.bias = _param(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(f"Conv2d: expected a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d: Given groups={self.groups}, weight of size {list(self.weight.shape)}, expected "
                             f"input{list(x.shape)} to have {self.in_channels} channels, but got {x.shape[1]} "
                             "channels instead")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(Module):
    """A 1-D convolution (weight (out, in / groups, k)), with PyTorch's initialisation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode={padding_mode!r} is not supported yet (only 'zeros')")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
        one = F._single
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = (one(kernel_size, "Conv1d"),), (one(stride, "Conv1d"),)
        if padding == "same" and self.stride != (1,):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else (one(padding, "Conv1d"),)
        self.dilation, self.groups = (one(dilation, "Conv1d"),), groups
        self.weight = _param(out_channels, in_channels // groups, self.kernel_size[0], device=device, dtype=dtype)
        if bias:
            self.bias = _param(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = in_channels // groups * self.kernel_size[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class ConvTranspose2d(Module):
    """The transpose of Conv2d (weight (in, out / groups, kH, kW)), with PyTorch's initialisation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose2d')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.output_padding, self.dilation, self.groups = _pair(output_padding), _pair(dilation), groups
        self.weight = _param(in_channels, out_channels // groups, *self.kernel_size, device=device, dtype=dtype)
        if bias:
            self.bias = _param(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            # PyTorch's fan-in for a transposed weight is its dim 1 (out channels) times the kernel.
            fan_in = out_channels // groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}"
                + (f", groups={self.groups}" if self.groups != 1 else ""))


class MaxPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(MaxPool2d):
    def forward(self, x: Tensor) -> Any:
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(AvgPool2d):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        k = F._single(kernel_size, "AvgPool1d")
        super().__init__((k,), (k if stride is None else F._single(stride, "AvgPool1d"),),
                         (F._single(padding, "AvgPool1d"),), ceil_mode, count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _Pad(Module):
    """A padding layer: ``dims`` trailing dims, PyTorch's ``mode`` (and ``value`` for the constant ones)."""

    dims, mode = 2, "constant"

    def __init__(self, padding: Any, value: float | None = None) -> None:
        super().__init__()
        self.padding = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints, got {padding!r}")
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        if self.mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ZeroPad1d(_Pad):
    dims = 1

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_Pad):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ConstantPad1d(_Pad):
    dims = 1

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_Pad):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ReflectionPad1d(_Pad):
    dims, mode = 1, "reflect"


class ReflectionPad2d(_Pad):
    mode = "reflect"


class ReplicationPad1d(_Pad):
    dims, mode = 1, "replicate"


class ReplicationPad2d(_Pad):
    mode = "replicate"


class CircularPad1d(_Pad):
    dims, mode = 1, "circular"


class CircularPad2d(_Pad):
    mode = "circular"


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unflatten(Module):
    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Upsample(Module):
    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None) -> None:
        super().__init__()
        # kept as floats, as PyTorch keeps them (its repr shows scale_factor=2.0)
        if isinstance(scale_factor, tuple):
            scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor:
            scale_factor = float(scale_factor)
        else:
            scale_factor = None
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling with the corners aligned (PyTorch's legacy module)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Softmax2d(Module):
    """softmax over the channels of each location: dim -3 of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.dim()}D instead")
        return F.softmax(x, -3)




class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _InplaceActivation(Module):
    """An activation whose only argument is ``inplace``: ``fn`` is its functional form."""

    fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return type(self).fn(x, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    fn = staticmethod(F.relu)


class SiLU(_InplaceActivation):
    fn = staticmethod(F.silu)


class Mish(_InplaceActivation):
    fn = staticmethod(F.mish)


class Hardswish(_InplaceActivation):
    fn = staticmethod(F.hardswish)


class Hardsigmoid(_InplaceActivation):
    fn = staticmethod(F.hardsigmoid)


class SELU(_InplaceActivation):
    fn = staticmethod(F.selu)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class PReLU(Module):
    """x above 0, a * x below, with ``a`` learned: one for all channels, or one per channel (dim 1)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Threshold(Module):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class CELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Shrink(Module):
    fn: Any = None

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        return type(self).fn(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    fn = staticmethod(F.hardshrink)


class Softshrink(_Shrink):
    fn = staticmethod(F.softshrink)


class LogSigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)


class Softsign(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class Tanhshrink(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


class Softmin(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return F.softmin(x, self.dim)


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training, inplace=self.inplace)


class Embedding(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = _param(num_embeddings, embedding_dim, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, idx: Tensor) -> Tensor:
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class _NormBase(Module):
    """Batch and instance norm's parameters and running statistics (PyTorch's ``_NormBase``)."""

    def __init__(self, num_features: int, eps: float, momentum: float | None, affine: bool,
                 track_running_stats: bool, device: Any, dtype: Any, bias: bool) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    ranks: tuple = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}: expected input of shape {self.layout.format(self.num_features)}"
                             f", got {tuple(x.shape)}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if momentum is None:        # PyTorch: a cumulative average, each batch weighing 1 / batches so far
                momentum = 1.0 / float(self.num_batches_tracked.array)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum, self.eps)


class LayerNorm(Module):
    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = ((int(normalized_shape),) if isinstance(normalized_shape, int)
                                 else tuple(int(n) for n in normalized_shape))
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """``F.rms_norm`` over the trailing ``normalized_shape``, with a learned elementwise ``weight`` (ones)."""

    def __init__(self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = ((int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral)
                                 else tuple(normalized_shape))
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, device=device, dtype=dtype))
            self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_NormBase):
    """Each sample's channels normalized on their own (batch statistics even in eval mode unless
    ``track_running_stats``); ``rank`` the dims of a batched input (one fewer: one sample)."""

    rank = 4

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (self.rank - 1, self.rank):
            raise ValueError(f"expected {self.rank - 1}D or {self.rank}D input (got {x.ndim}D input)")
        one = x.ndim == self.rank - 1
        if one:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"expected input's size at dim=1 to match num_features ({self.num_features}), but got: "
                             f"{x.shape[1]}.")
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats, self.momentum, self.eps)
        return y.squeeze(0) if one else y


class InstanceNorm1d(_InstanceNorm):
    rank = 3


class InstanceNorm2d(_InstanceNorm):
    rank = 4


class BatchNorm1d(_BatchNorm):
    ranks = (2, 3)
    layout = "(N, {0}) or (N, {0}, L)"


class BatchNorm2d(_BatchNorm):
    ranks = (4,)
    layout = "(N, {0}, H, W)"


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction


class CrossEntropyLoss(_Loss):
    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, self.reduction, self.delta)


class KLDivLoss(_Loss):
    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, self.reduction, self.log_target)


class BCELoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class ParameterList(Module):
    """Parameters held in order (tensors become Parameters), registered as '0', '1', ... like PyTorch's."""

    def __init__(self, values: Any = None) -> None:
        super().__init__()
        for v in values or ():
            self.append(v)

    def append(self, value: Any) -> "ParameterList":
        self.register_parameter(str(len(self._parameters)), value if isinstance(value, Parameter) else
                                Parameter(value))
        return self

    def extend(self, values: Any) -> "ParameterList":
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, i: int) -> Parameter:
        return list(self._parameters.values())[i]

    def __setitem__(self, i: int, value: Any) -> None:
        self.register_parameter(str(range(len(self))[i]), value if isinstance(value, Parameter) else Parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())


class ParameterDict(_NamedTable, Module):
    """Parameters by name (tensors become Parameters) in insertion order; as PyTorch's, a plain dict is taken in
    sorted key order (an OrderedDict, a ParameterDict or a list of pairs in its own order)."""

    _table = "_parameters"

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self.update(parameters or {})

    def update(self, parameters: Any) -> None:
        if isinstance(parameters, (collections.OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif hasattr(parameters, "items"):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for name, p in pairs:
            self[name] = p

    def __setitem__(self, name: str, value: Any) -> None:
        self.register_parameter(name, value if isinstance(value, Parameter) else Parameter(value))

    def __delitem__(self, name: str) -> None:
        del self._parameters[name]


class AdaptiveMaxPool2d(Module):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(x, self.output_size)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) or (C, L) input."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, self.training, inplace=self.inplace)


class ChannelShuffle(Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class MarginRankingLoss(_Loss):
    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     self.reduction)


class CosineEmbeddingLoss(_Loss):
    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class PoissonNLLLoss(_Loss):
    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Any) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class Unfold(Module):
    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


# ----- recurrent layers ------------------------------------------------------------------------------------------
# Each step adds the hidden half to the input half, ``(h W_hh^T + b_hh) + (x W_ih^T + b_ih)``, in the order of
# ATen's CPU cells (RNN.cpp: ``linear_hh(hx).add_(linear_ih(input))``), so the sums round as PyTorch's do.

def _rnn_tanh_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                   b_hh: Tensor | None = None) -> Tensor:
    return (F.linear(h, w_hh, b_hh) + F.linear(x, w_ih, b_ih)).tanh()


def _rnn_relu_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                   b_hh: Tensor | None = None) -> Tensor:
    return (F.linear(h, w_hh, b_hh) + F.linear(x, w_ih, b_ih)).relu()


def _lstm_step(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
               b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    h, c = state
    i, f, g, o = (F.linear(h, w_hh, b_hh) + F.linear(x, w_ih, b_ih)).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> Tensor:
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    i_r, i_z, i_n = F.linear(x, w_ih, b_ih).chunk(3, 1)
    r = (h_r + i_r).sigmoid()
    z = (h_z + i_z).sigmoid()
    n = (i_n + h_n * r).tanh()            # b_hn sits inside the reset product, as in PyTorch
    return (h - n) * z + n                # ATen's (h - n) * z + n, not (1 - z) * n + z * h


_RNN_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "LSTM": _lstm_step, "GRU": _gru_step}
_RNN_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The recurrent stacks (PyTorch's ``RNNBase``): per layer and direction a ``weight_ih_l{k}``,
    ``weight_hh_l{k}`` (and ``bias_ih_l{k}``, ``bias_hh_l{k}``; ``_reverse`` for the backward direction), gates
    stacked along the rows, run one time step at a time; gradients flow through time by autograd.

        >>> import eager_api as torch
        >>> out, h_n = torch.nn.GRU(3, 4, num_layers=2)(torch.zeros(5, 2, 3))
        >>> tuple(out.shape), tuple(h_n.shape)
        ((5, 2, 4), (2, 2, 4))
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        # PyTorch's argument checks, in its order and words
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=3)
        for arg, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{arg} should be of type bool, got: {type(value).__name__}")
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{arg} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{arg} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size > 0:
            raise NotImplementedError(f"LSTM: proj_size={proj_size} (projected hidden states, weight_hr_l{{k}}) is "
                                      "not supported yet; only proj_size=0")
        if mode not in _RNN_GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _RNN_GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                shapes = [(gate_size, layer_input), (gate_size, hidden_size)] + [(gate_size,)] * (2 * bias)
                suffix = "_reverse" if direction == 1 else ""
                names = [f"{n}_l{layer}{suffix}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                for name, shape in zip(names, shapes):
                    setattr(self, name, _param(*shape, device=device, dtype=dtype))
                self._flat_weights_names.extend(names[:len(shapes)])
                self._all_weights.append(names[:len(shapes)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch packs the weights into one cuDNN buffer here; dualflow reads them one by one."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _name(self) -> str:
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _check_state(self, t: Tensor, expected: tuple[int, int, int], label: str) -> None:
        if tuple(t.shape) != expected:
            raise RuntimeError(f"{self._name()}: Expected {label} size {expected}, got {list(t.shape)}")

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        name, lstm = self._name(), self.mode == "LSTM"
        if not isinstance(input, Tensor) and hasattr(input, "batch_sizes"):
            raise NotImplementedError(f"{name}: PackedSequence input is not supported yet; pass a padded tensor "
                                      "(seq_len, batch, input_size) instead")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             f"{' tensor' if name == 'RNN' else ''} instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        states = None if hx is None else list(hx) if lstm else [hx]
        if states is not None:
            if lstm and len(states) != 2:
                raise RuntimeError(f"LSTM: lstm expects two hidden states (h_0, c_0), got {len(states)}")
            want = 3 if batched else 2
            if any(s.dim() != want for s in states):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                if lstm:
                    got = f"({states[0].dim()}-D, {states[1].dim()}-D) tensors"
                    raise RuntimeError(f"LSTM: For {kind} input, hx and cx should also be {want}-D but got {got}")
                raise RuntimeError(f"{name}: For {kind} input, hx should also be {want}-D but got "
                                   f"{states[0].dim()}-D tensor")
            if not batched:
                states = [s.unsqueeze(1) for s in states]
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(f"{name}: RNN input dtype (torch.{input.dtype}) does not match weight dtype "
                             f"(torch.{weight.dtype}). Convert input: input.to(torch.{weight.dtype}), or convert "
                             f"model: model.to(torch.{input.dtype})")
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, input.size(batch_dim), self.hidden_size)
        if states is None:
            states = [zeros(*expected, dtype=input.dtype, device=input.device) for _ in range(1 + lstm)]
        labels = ["hidden[0]", "hidden[1]"] if lstm else ["hidden"]
        for s, label in zip(states, labels):
            self._check_state(s, expected, label)
            if s.dtype != weight.dtype:
                raise RuntimeError(f"{name}: {label} state dtype {s.dtype} must match the weights' dtype "
                                   f"{weight.dtype} (PyTorch: mat1 and mat2 must have the same dtype)")
        if input.size(1 - batch_dim) == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN")
        output, finals = self._run((input.transpose(0, 1) if self.batch_first else input).unbind(0),
                                   [s.unbind(0) for s in states])
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output, finals = output.squeeze(batch_dim), [f.squeeze(1) for f in finals]
        return output, (tuple(finals) if lstm else finals[0])

    def _run(self, steps: Any, initial: list[tuple[Tensor, ...]]) -> tuple[Tensor, list[Tensor]]:
        """The stack over time-major steps: returns (output (T, B, D*H), [h_n] or [h_n, c_n]).

        Layers hand each other lists of per-step tensors rather than one (T, B, D*H) tensor: T slices of one tensor
        would each send back a full-size gradient, T^2 work through time."""
        step_fn, lstm = _RNN_STEPS[self.mode], self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in initial]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = [getattr(self, n) for n in self._all_weights[k]]
                state = tuple(s[k] for s in initial) if lstm else initial[0][k]
                ys: list[Tensor] = [None] * len(steps)
                for t in (range(len(steps)) if direction == 0 else reversed(range(len(steps)))):
                    state = step_fn(steps[t], state, *weights)
                    ys[t] = state[0] if lstm else state
                for acc, s in zip(finals, state if lstm else (state,)):
                    acc.append(s)
                outputs.append(ys)
            steps = outputs[0] if directions == 1 else [cat(list(pair), -1) for pair in zip(*outputs)]
            # between layers only (ATen: dropout on all but the last layer's output, in training); drawn per step,
            # the same distribution as ATen's one draw over the whole output
            if self.dropout and self.training and layer < self.num_layers - 1:
                steps = [F.dropout(s, self.dropout, True) for s in steps]
        return stack(steps, 0), [stack(f, 0) for f in finals]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for arg, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0),
                             ("bidirectional", False)):
            if getattr(self, arg) != default:
                s += f", {arg}={getattr(self, arg)}"
        return s


def _only_lstm_projects(kwargs: dict, name: str) -> None:
    """RNN and GRU take ``**kwargs`` only to refuse ``proj_size`` with PyTorch's ValueError."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


class RNN(RNNBase):
    """Elman RNN, ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu), as ``torch.nn.RNN``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        _only_lstm_projects(kwargs, "RNN")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o stacked in that order; ``c' = f*c + i*g``, ``h' = o*tanh(c')``;
    forward returns ``(output, (h_n, c_n))``.  ``proj_size > 0`` raises NotImplementedError."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z, n stacked in that order; ``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``,
    ``h' = (1 - z)*n + z*h``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        _only_lstm_projects(kwargs, "GRU")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer (PyTorch's ``RNNCellBase``): ``weight_ih``, ``weight_hh`` and, with bias,
    ``bias_ih``, ``bias_hh``, all drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _param(num_chunks * hidden_size, input_size, device=device, dtype=dtype)
        self.weight_hh = _param(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype)
        if bias:
            self.bias_ih = _param(num_chunks * hidden_size, device=device, dtype=dtype)
            self.bias_hh = _param(num_chunks * hidden_size, device=device, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, step_fn: Any, input: Tensor, hx: Any, count: int) -> Any:
        """PyTorch's cell forward: dimension checks, unbatched inputs, zero states, ATen's size checks."""
        name = type(self).__name__
        states = None if hx is None else list(hx) if count == 2 else [hx]
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for i, s in enumerate(states or ()):
            if s.dim() not in (1, 2):
                label = f"hx[{i}]" if count == 2 else "hidden"
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if states is None:
            states = [zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)] * count
        elif not batched:
            states = [s.unsqueeze(0) for s in states]
        if len(states) != count:
            raise RuntimeError(f"{name}: lstm_cell expects two hidden states (h_0, c_0), got {len(states)}")
        if input.size(1) != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.size(1)} expected "
                               f"{self.input_size}")
        for i, s in enumerate(states):
            if s.size(0) != input.size(0):
                raise RuntimeError(f"{name}: Input batch size {input.size(0)} doesn't match hidden{i} batch size "
                                   f"{s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"{name}: hidden{i} has inconsistent hidden_size: got {s.size(1)}, expected "
                                   f"{self.hidden_size}")
        out = step_fn(input, tuple(states) if count == 2 else states[0], self.weight_ih, self.weight_hh,
                      self.bias_ih, self.bias_hh)
        if batched:
            return out
        return tuple(o.squeeze(0) for o in out) if count == 2 else out.squeeze(0)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu) for one step.

        >>> import eager_api as torch
        >>> tuple(torch.nn.RNNCell(3, 4)(torch.zeros(2, 3)).shape)
        (2, 4)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        # PyTorch accepts any nonlinearity at construction and refuses it here
        steps = {"tanh": _rnn_tanh_step, "relu": _rnn_relu_step}
        if self.nonlinearity not in steps:
            raise RuntimeError(f"RNNCell: Unknown nonlinearity: {self.nonlinearity}")
        return self._step(steps[self.nonlinearity], input, hx, 1)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        return self._step(_lstm_step, input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step: returns ``h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(_gru_step, input, hx, 1)


# ----- attention -------------------------------------------------------------------------------------------------
def _additive_mask(mask: Tensor | None, name: str, dtype: Any, owner: str = "MultiheadAttention") -> Tensor | None:
    """PyTorch's _canonical_mask: a boolean mask (True = masked out) as 0 / -inf in the query's dtype, a float
    mask as it is."""
    if mask is None or mask.dtype.kind == "f":
        return mask
    if mask.dtype != bool:
        raise AssertionError(f"{owner}: only bool and floating types of {name} are supported, got {mask.dtype}")
    return zeros(*mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))


class MultiheadAttention(Module):
    """PyTorch's multi-head attention: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E) packed in q, k, v order
    (``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when kdim or vdim differ from embed_dim), ``out_proj``
    a Linear; the arithmetic of ``F.multi_head_attention_forward`` (q scaled by 1/sqrt(head_dim) before the product
    when the weights are returned, scaled_dot_product_attention otherwise).

        >>> import eager_api as torch
        >>> x = torch.zeros(5, 2, 8)
        >>> out, w = torch.nn.MultiheadAttention(8, 2)(x, x, x)
        >>> tuple(out.shape), tuple(w.shape)
        ((5, 2, 8), (2, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                                 f"embed_dim={embed_dim} and num_heads={num_heads}")
        kw = dict(device=device, dtype=dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param(3 * embed_dim, embed_dim, **kw)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _param(embed_dim, embed_dim, **kw)
            self.k_proj_weight = _param(embed_dim, self.kdim, **kw)
            self.v_proj_weight = _param(embed_dim, self.vdim, **kw)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _param(3 * embed_dim, **kw)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = _param(1, 1, embed_dim, **kw)
            self.bias_v = _param(1, 1, embed_dim, **kw)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                      attn_mask: Tensor | None) -> bool:
        """PyTorch's _mha_shape_check; whether the inputs are batched."""
        if query.ndim not in (2, 3):
            raise AssertionError(f"MultiheadAttention: query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.ndim}-D query tensor")
        kind, want = ("batched (3-D)", 3) if query.ndim == 3 else ("unbatched (2-D)", 2)
        if key.ndim != want or value.ndim != want:
            raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected `key` and `value` to be "
                                 f"{want}-D but found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != want - 1:
            raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected `key_padding_mask` to be `None` "
                                 f"or {want - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.ndim}-D tensor instead")
        want_mask = (self.num_heads, query.shape[0], key.shape[0])
        if query.ndim == 2 and attn_mask is not None and attn_mask.ndim == 3 and tuple(attn_mask.shape) != want_mask:
            raise AssertionError(f"MultiheadAttention: Expected `attn_mask` shape to be {want_mask} but got "
                                 f"{tuple(attn_mask.shape)}")
        return query.ndim == 3

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The in-projection: self-attention as one linear over the packed weight, as PyTorch's
        _in_projection_packed does, otherwise one linear per input."""
        b_q, b_k, b_v = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None,) * 3
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, b_q), F.linear(key, self.k_proj_weight, b_k),
                    F.linear(value, self.v_proj_weight, b_v))
        if query is key and key is value:
            return F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, -1)
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        if (key_padding_mask is not None and attn_mask is not None
                and key_padding_mask.dtype != attn_mask.dtype):
            warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for "
                          "both instead.", stacklevel=2)
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = key_padding_mask.unsqueeze(0) if key_padding_mask is not None else None
        elif self.batch_first:
            # keep q is k is v when it holds: it selects the packed self-attention projection
            same_qk, same_kv = query is key, key is value
            query = query.transpose(1, 0)
            key = query if same_qk else key.transpose(1, 0)
            value = key if same_kv else value.transpose(1, 0)
        tgt_len, bsz, embed_dim = query.shape
        key_padding_mask = _additive_mask(key_padding_mask, "key_padding_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: Need attn_mask if specifying the is_causal hint. You may use the "
                               "Transformer module method `generate_square_subsequent_mask` to create this mask.")
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None      # PyTorch trusts the hint and lets SDPA build the causal mask
        else:
            attn_mask = _additive_mask(attn_mask, "attn_mask", query.dtype)
            is_causal = is_causal and key_padding_mask is None
        if embed_dim != self.embed_dim:
            raise AssertionError(f"MultiheadAttention: was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {embed_dim}")
        if self._qkv_same_embed_dim and tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"MultiheadAttention: key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if not self._qkv_same_embed_dim and tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"MultiheadAttention: key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
        q, k, v = self._project(query, key, value)
        src_len = k.shape[0]
        if attn_mask is not None:
            want = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * self.num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != want:
                raise RuntimeError(f"MultiheadAttention: The shape of the {attn_mask.ndim}D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be {want}.")
            attn_mask = attn_mask.unsqueeze(0) if attn_mask.ndim == 2 else attn_mask
        if self.bias_k is not None:
            k = cat([k, self.bias_k.repeat(1, bsz, 1)])
            v = cat([v, self.bias_v.repeat(1, bsz, 1)])
            attn_mask = F.pad(attn_mask, (0, 1)) if attn_mask is not None else None
            key_padding_mask = F.pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
        heads, head_dim = self.num_heads, self.head_dim
        q = q.reshape(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.reshape(k.shape[0], bsz * heads, head_dim).transpose(0, 1)
        v = v.reshape(v.shape[0], bsz * heads, head_dim).transpose(0, 1)
        if self.add_zero_attn:
            k = cat([k, zeros(bsz * heads, 1, head_dim, dtype=k.dtype)], dim=1)
            v = cat([v, zeros(bsz * heads, 1, head_dim, dtype=v.dtype)], dim=1)
            attn_mask = F.pad(attn_mask, (0, 1)) if attn_mask is not None else None
            key_padding_mask = F.pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
        src_len = k.shape[1]
        if key_padding_mask is not None:
            for axis, size in enumerate((bsz, src_len)):
                if key_padding_mask.shape[axis] != size:
                    raise AssertionError(f"MultiheadAttention: Expected key_padded_mask.shape[{axis}] to be {size}, "
                                         f"but got {key_padding_mask.shape[axis]}")
            spread = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, heads, -1, -1)
            spread = spread.reshape(bsz * heads, 1, src_len)
            attn_mask = spread if attn_mask is None else attn_mask + spread
        out, weights = self._attend(q, k, v, attn_mask, bsz, need_weights, is_causal)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).reshape(tgt_len, bsz, embed_dim)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(1, 0)
        if weights is None:
            return out, None
        weights = weights.reshape(bsz, heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights if batched else weights.squeeze(0)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, bsz: int, need_weights: bool,
                is_causal: bool) -> tuple[Tensor, Tensor | None]:
        """Attention over (bsz * heads, T, head_dim) heads: the output as (tgt_len * bsz, embed_dim) rows for the
        out-projection, and the weights (after dropout) when asked for."""
        heads, head_dim, tgt_len, src_len = self.num_heads, self.head_dim, q.shape[1], k.shape[1]
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            # PyTorch's order: q * sqrt(1/head_dim) first, then baddbmm(mask, q, k^T) = mask + q k^T
            scores = (q * math.sqrt(1.0 / float(head_dim))) @ k.transpose(-2, -1)
            weights = F.softmax(scores if attn_mask is None else attn_mask + scores, dim=-1)
            if dropout_p > 0.0:
                weights = F.dropout(weights, p=dropout_p)     # PyTorch returns the weights after the dropout
            return (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, self.embed_dim), weights
        if attn_mask is not None:
            attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
                attn_mask.reshape(bsz, heads, -1, src_len)      # -1: a key padding mask alone has one row
        out = F.scaled_dot_product_attention(q.reshape(bsz, heads, tgt_len, head_dim),
                                             k.reshape(bsz, heads, src_len, head_dim),
                                             v.reshape(bsz, heads, src_len, head_dim), attn_mask, dropout_p, is_causal)
        return out.permute(2, 0, 1, 3).reshape(tgt_len * bsz, self.embed_dim), None


# PyTorch spells the global hooks ``torch.nn.modules.module.register_module_forward_hook``: there ``module`` is the
# file of the ``nn.modules`` package that defines Module, here this one file is both.
module = sys.modules[__name__]
