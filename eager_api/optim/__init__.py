"""``torch.optim``: SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop with PyTorch's
formulas and defaults.

Each ``step()`` runs the update primitive of ``core.ops.optim`` in place on the parameter buffers (no
autograd), through the same Executor and ``ApplyUpdates`` primitive as a TF1 session's train op; this module
only keeps PyTorch's names, defaults, argument checks and state layout.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable

import numpy

from core import errors as _errors
import backends
from core.executor import Executor
from core.graph import Node
from core.op import grad_mode
from core.ops import optim as optim_ops
from core.ops.state import ApplyUpdates
from core.program import Program, Step
from core.state import State
from backends.switches import switched_off
from eager_api.tensor import Tensor, float32, float64, get_default_dtype, tensor


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        self._core_state = State()      # refers to the parameters' buffers and to ``state``'s dicts
        self._programs: dict = {}       # backend -> (settings, Program)
        if isinstance(params, Tensor):      # list() would iterate its rows
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                            f"got {params.type()}")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own settings (the defaults fill in the rest); as PyTorch, a
        parameter may be in one group only."""
        params = group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          UserWarning, stacklevel=3)
        held = {id(p) for g in self.param_groups for p in g["params"]}      # by identity: == is elementwise
        if any(id(p) in held for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        g = dict(self.defaults)
        g.update(group)
        g["params"] = params
        self.param_groups.append(g)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array[...] = 0

    # PyTorch's state key for each slot of the update primitive, and whether the state counts steps.
    _slot_keys: dict[str, str] = {}
    _counts_steps = True
    # Whether step() runs the flat update (one call of the primitive over the gathered parameters of a dtype
    # and count; same bits either way, and DUALFLOW_FLAT_UPDATES=0 switches it off).  Measured inside seed-CNN
    # training steps, the gathering copies and the flat buffers' cold memory cost more than the calls they
    # save except for Adam (~13 passes per parameter, all in reused scratch): SGD's few passes made step()
    # slower, and so did RMSprop's, Adagrad's and Adadelta's fresh temporaries over a 200 KB flat buffer
    # (they step in scratch buffers since; not measured again, so they stay per parameter).
    _flat = False

    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient: a Program of ``ApplyUpdates`` steps (one per
        parameter group), run by core's Executor against this optimizer's State, as a TF1 session runs its
        train op.  The Program is cached while the groups' settings and the parameters with gradients stay
        the same; the learning rates are fed each step, so a scheduler changes nothing but a feed."""
        loss = None
        if closure is not None:
            with grad_mode(True):
                loss = closure()
        with grad_mode(False):
            by_device: dict = {}
            for i, group in enumerate(self.param_groups):
                params = [p for p in group["params"] if p.grad is not None]
                for p in params:
                    by_device.setdefault(p.device, {}).setdefault(i, []).append(p)
            for device, groups in by_device.items():
                self._run(backends.get_backend(device), groups)
        return loss

    def _run(self, be: Any, groups: dict[int, list]) -> None:
        """Feed the gradients and rates of ``groups`` (group index -> parameters) to their cached Program."""
        settings = tuple((i, self._settings(self.param_groups[i]), tuple(id(p) for p in ps))
                         for i, ps in groups.items())
        cached = self._programs.get(be)
        if cached is None or cached[0] != settings:
            cached = self._programs[be] = (settings, *self._program(groups), Executor(be, self._core_state))
        _, program, keeps, executor = cached
        st = self._core_state
        feeds = {}
        for i, ps in groups.items():
            feeds[("lr", i)] = self.param_groups[i]["lr"]
            for j, p in enumerate(ps):
                feeds[("grad", i, j)] = p.grad.array
                # The parameter keeps its own storage (and ``p.data = ...`` may have replaced it): the State
                # refers to the current buffer and to PyTorch's per-parameter state dict (``load_state_dict``
                # may have replaced it), never copies.  Keyed by position: hashing tensors costs more.
                st.attach((i, j), p.array)
                # Plain SGD keeps no state, and PyTorch then lists none for the parameter.
                st.attach_slots(i, (i, j), self.state.setdefault(p, {}) if keeps[i] else {})
        executor.run(program, feeds)
        for ps in groups.values():
            for p in ps:
                p._vc[0] += 1

    def _program(self, groups: dict[int, list]) -> tuple[Program, dict[int, bool]]:
        """The Program updating ``groups``, and for each group whether it keeps per-parameter state."""
        steps, fed, keeps = [], [], {}
        flat = self._flat and not switched_off("DUALFLOW_FLAT_UPDATES")
        for i, ps in groups.items():
            op = self._op(self.param_groups[i])
            keeps[i] = bool(op.slot_names) or self._counts_steps
            # The parameters own their buffers: the flat update gathers them (and packs only the state).
            apply_op = ApplyUpdates(self._updater(op), i, [(i, j) for j in range(len(ps))],
                                    flat=op if flat else None, gather=True, count=self._count(op),
                                    slot_keys=[self._slot_keys[n] for n in op.slot_names])
            ins = [("grad", i, j) for j in range(len(ps))] + [("lr", i)]
            steps.append(Step(Node(apply_op, ()), apply_op, ins))
            fed += ins
        return Program(steps, fed, [None] * len(steps)), keeps

    def _count(self, op: optim_ops._Update) -> Any:
        """The step count of one parameter (``ApplyUpdates``' ``count``): PyTorch keeps ``state['step']`` per
        parameter (one without a gradient on some step falls behind), so the optimizer-wide count is not used."""
        if self._counts_steps:
            def count(state: dict) -> int:
                step = state.get("step", 0)
                if not isinstance(step, Tensor):        # a number or array a user put there
                    step = state["step"] = _step(step)
                # In place and in the step's dtype, as PyTorch's ``step_t += 1``; through the 0-d view, as
                # ``State.tick``: a NumPy scalar sum stored back, a fraction of an in-place ufunc's cost.
                a = step.array
                a[()] = a[()] + 1
                return int(a[()])
            return count
        keys = [self._slot_keys[n] for n in op.slot_names]

        def first(state: dict) -> int:      # SGD keeps no count; its primitive only asks whether this is the first step
            return 1 if any(k not in state for k in keys) else 2
        return first

    def _updater(self, op: optim_ops._Update) -> Any:
        """The per-parameter update ``ApplyUpdates`` calls (at the parameter's own count ``t``, see ``_count``),
        making PyTorch's state entries on first use."""
        keys = [self._slot_keys[n] for n in op.slot_names]

        def update(be: Any, w: Any, g: Any, state: dict, t: int, lr: Any) -> None:
            for k, n in zip(keys, op.slot_names):
                if k not in state:
                    state[k] = be.xp.full_like(w, op.slot_init(n))
            op.forward(be, w, g, *[state[k] for k in keys], lr, t)
        return update

    def _settings(self, group: dict) -> tuple:
        """What the update primitive of ``group`` is made from: everything but the parameters and the rate."""
        return tuple(sorted((k, v) for k, v in group.items() if k not in ("params", "lr")))

    def _op(self, group: dict) -> optim_ops._Update:
        """The in-place update primitive for one parameter group's settings."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (_step(v) if k == "step" else v if isinstance(v, (int, float))
                                               else _host_copy(v)) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError("loaded state dict has a different number of parameter groups or parameters")
        for saved, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
            for i, p in zip(saved["params"], own["params"]):
                st = state_dict["state"].get(i)
                if st is not None:
                    be = backends.get_backend(p.device)
                    # A step saved as an int (before steps were tensors) loads as PyTorch's __setstate__ turns it.
                    self.state[p] = {k: (_step(v) if k == "step" else v if isinstance(v, (int, float))
                                         else be.asarray(_array(v))) for k, v in st.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _host_copy(a: Any) -> Any:
    """A host snapshot: later in-place updates of the optimizer state must not change it."""
    return numpy.array(backends.backend_of(a).to_host(a))


def _step(v: Any) -> Tensor:
    """``state['step']`` as PyTorch keeps it: a 0-d float tensor of its own (float64 under a float64 default
    dtype, else float32: ``_get_scalar_dtype``), from a step tensor (copied), a number or an array."""
    if isinstance(v, Tensor):
        return v.detach().clone()
    return tensor(float(v), dtype=float64 if get_default_dtype() == float64 else float32)


def _array(v: Any) -> Any:
    return v.array if isinstance(v, Tensor) else v


def _implementation(cls: str, differentiable: bool) -> None:
    """PyTorch's ``foreach``, ``fused`` and ``capturable`` choose how its step runs, not what it computes: taken
    and ignored (dualflow has one implementation).  ``differentiable=True`` makes the step part of the autograd
    graph, which dualflow's steps are not: refused rather than ignored."""
    if differentiable:
        raise NotImplementedError(f"optim.{cls}(differentiable=True): differentiating through an optimizer step is "
                                  "not implemented in dualflow")


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        _implementation("SGD", differentiable)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    _slot_keys = {"momentum": "momentum_buffer"}
    _counts_steps = False

    def _op(self, group):
        return optim_ops.SGD(group["momentum"], group["dampening"], group["nesterov"], group["weight_decay"],
                             group["maximize"], fma=True, inplace=True)


class Adam(Optimizer):
    """Adam as PyTorch computes it: eps added to sqrt(v_hat); weight_decay as L2 on the gradient."""

    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _implementation(type(self).__name__, differentiable)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameters: {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay or self.decoupled))

    _slot_keys = {"m": "exp_avg", "v": "exp_avg_sq", "vmax": "max_exp_avg_sq"}
    _flat = True

    def _op(self, group):
        b1, b2 = group["betas"]
        # A state dict saved before the flag existed holds no such key: the class decides then.
        decoupled = group.get("decoupled_weight_decay", self.decoupled)
        return optim_ops.Adam(b1, b2, group["eps"], group["weight_decay"], decoupled, group["amsgrad"],
                              group["maximize"], inplace=True)


class AdamW(Adam):
    """Adam with decoupled weight decay (w <- w - lr*wd*w before the Adam step): ``Adam`` with
    ``decoupled_weight_decay=True``, as in PyTorch."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         differentiable=differentiable)


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _implementation("RMSprop", differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    _slot_keys = {"ms": "square_avg", "mom": "momentum_buffer", "mg": "grad_avg"}

    def _op(self, group):
        return optim_ops.RMSprop(group["alpha"], group["eps"], group["momentum"], group["centered"],
                                 group["weight_decay"], group["maximize"], torch_kernel=True, inplace=True)


class Adagrad(Optimizer):
    """sum += g^2; w -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _implementation("Adagrad", differentiable)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps, maximize=maximize,
                                      initial_accumulator_value=initial_accumulator_value))

    _slot_keys = {"acc": "sum"}

    def _op(self, group):
        return optim_ops.Adagrad(group["eps"], group["lr_decay"], group["initial_accumulator_value"],
                                 group["weight_decay"], group["maximize"], torch_kernel=True, inplace=True)


class Adadelta(Optimizer):
    """v = rho v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) d^2; w -= lr d."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _implementation("Adadelta", differentiable)
        if not 0.0 <= lr or not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid learning rate {lr} or rho {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    _slot_keys = {"v": "square_avg", "u": "acc_delta"}

    def _op(self, group):
        return optim_ops.Adadelta(group["rho"], group["eps"], group["weight_decay"], group["maximize"],
                                  torch_kernel=True, inplace=True)


def _check_adam_like(lr: float, betas: tuple, eps: float, weight_decay: float) -> None:
    """PyTorch's argument checks of Adamax, NAdam and RAdam."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(b2 u, |g| + eps); w -= lr / (1 - b1^t) * m / u."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _implementation("Adamax", differentiable)
        _check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    _slot_keys = {"m": "exp_avg", "u": "exp_inf"}

    def _op(self, group):
        b1, b2 = group["betas"]
        return optim_ops.TorchAdamax(b1, b2, group["eps"], group["weight_decay"], group["maximize"], inplace=True)


class NAdam(Optimizer):
    """Adam with Nesterov momentum and PyTorch's momentum schedule (``momentum_decay``); the state's
    ``mu_product`` is the float32 product of the schedule's factors so far, as PyTorch's."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _implementation("NAdam", differentiable)
        _check_adam_like(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    _slot_keys = {"m": "exp_avg", "v": "exp_avg_sq"}

    def _op(self, group):
        b1, b2 = group["betas"]
        return optim_ops.TorchNAdam(b1, b2, group["eps"], group["weight_decay"], group["momentum_decay"],
                                    group["decoupled_weight_decay"], group["maximize"], inplace=True)

    def _updater(self, op: optim_ops._Update) -> Any:
        step = super()._updater(op)

        def update(be: Any, w: Any, g: Any, state: dict, t: int, lr: Any) -> None:
            step(be, w, g, state, t, lr)
            state["mu_product"] = numpy.array(op.mu_product(t))
        return update


class RAdam(Optimizer):
    """Rectified Adam: plain momentum steps while the variance estimate is unreliable (rho_t <= 5), then Adam
    scaled by the rectification term."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False) -> None:
        _implementation("RAdam", differentiable)
        _check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    _slot_keys = {"m": "exp_avg", "v": "exp_avg_sq"}

    def _op(self, group):
        b1, b2 = group["betas"]
        return optim_ops.RAdam(b1, b2, group["eps"], group["weight_decay"], group["decoupled_weight_decay"],
                               group["maximize"], inplace=True)


class Rprop(Optimizer):
    """Resilient backpropagation: per-weight step sizes grown by etas[1] while the gradient keeps its sign and
    shrunk by etas[0] when it flips (that step skipped), within ``step_sizes``; the sizes start at ``lr``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _implementation("Rprop", differentiable)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize))

    _slot_keys = {"prev": "prev", "size": "step_size"}

    def _op(self, group):
        (minus, plus), (lo, hi) = group["etas"], group["step_sizes"]
        return optim_ops.Rprop(minus, plus, lo, hi, group["maximize"], inplace=True)


from eager_api.optim import lr_scheduler  # noqa: E402  (torch.optim.lr_scheduler needs Optimizer, defined above)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
