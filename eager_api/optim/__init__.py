"""``torch.optim``: SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta with PyTorch's formulas and defaults.

Updates run on backend arrays in place (no autograd), through the backend's
fused update kernels where it has them.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy

import backends
from core.op import grad_mode
from eager_api.tensor import Tensor


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        g = dict(self.defaults)
        g.update(group)
        g["params"] = list(group["params"])
        self.param_groups.append(g)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array[...] = 0

    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with grad_mode(True):
                loss = closure()
        with grad_mode(False):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    be = backends.get_backend(p.device)
                    state = self.state.setdefault(p, {})
                    self._update(be, p.array, p.grad.array, state, group)
                    p._vc[0] += 1
        return loss

    def _update(self, be: Any, w: Any, g: Any, state: dict, group: dict) -> None:
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
                    state[index[id(p)]] = {k: (_host_copy(v) if not isinstance(v, (int, float)) else v)
                                           for k, v in self.state[p].items()}
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
                    self.state[p] = {k: (v if isinstance(v, (int, float)) else be.asarray(_array(v)))
                                     for k, v in st.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _host_copy(a: Any) -> Any:
    """A host snapshot: later in-place updates of the optimizer state must not change it."""
    return numpy.array(backends.backend_of(a).to_host(a))


def _array(v: Any) -> Any:
    return v.array if isinstance(v, Tensor) else v


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, be, w, g, state, group):
        if group["maximize"]:
            g = -g
        mu = group["momentum"]
        if not mu:
            if group["weight_decay"]:
                g = g + group["weight_decay"] * w
            w -= group["lr"] * g
            return
        buf = state.get("momentum_buffer")
        first = buf is None
        if first:       # PyTorch's first step: the buffer is the gradient itself, without dampening
            buf = state["momentum_buffer"] = be.xp.zeros_like(w)
        be.momentum_update(w, g, buf, group["lr"], 0.0 if first else mu, 1.0 if first else 1 - group["dampening"],
                           mu if group["nesterov"] else 0.0, group["weight_decay"])


class Adam(Optimizer):
    """Adam as PyTorch computes it: eps added to sqrt(v_hat); weight_decay as L2 on the gradient."""

    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameters: {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _update(self, be, w, g, state, group):
        xp = be.xp
        if group["maximize"]:
            g = -g
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        b1, b2 = group["betas"]
        wd = group["weight_decay"]
        if wd and self.decoupled:
            w *= 1 - group["lr"] * wd
        elif wd:
            g = g + wd * w
        if not group["amsgrad"]:
            be.adam_update(w, g, state["exp_avg"], state["exp_avg_sq"], group["lr"], b1, b2, group["eps"],
                           state["step"])
            return
        # AMSGrad divides by the running maximum of the second moment (not fused: a rarely used variant).
        m, v, vmax, t = state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"], state["step"]
        be.adam_moments(g, m, v, b1, b2)
        xp.maximum(vmax, v, out=vmax)
        denom = xp.sqrt(vmax) / (1 - b2 ** t) ** 0.5 + group["eps"]
        w -= group["lr"] / (1 - b1 ** t) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (w <- w - lr*wd*w before the Adam step)."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _update(self, be, w, g, state, group):
        xp = be.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        a = group["alpha"]
        sq = state["square_avg"]
        sq *= a
        sq += (1 - a) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= a
            ga += (1 - a) * g
            avg = xp.sqrt(sq - ga * ga) + group["eps"]
        else:
            avg = xp.sqrt(sq) + group["eps"]
        if group["momentum"]:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            w -= group["lr"] * buf
        else:
            w -= group["lr"] * g / avg



class Adagrad(Optimizer):
    """sum += g^2; w -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps, maximize=maximize,
                                      initial_accumulator_value=initial_accumulator_value))

    def _update(self, be, w, g, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = be.xp.full_like(w, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        acc = state["sum"]
        acc += g * g
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        w -= clr * g / (be.xp.sqrt(acc) + group["eps"])


class Adadelta(Optimizer):
    """v = rho v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) d^2; w -= lr d."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, maximize: bool = False) -> None:
        if not 0.0 <= lr or not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid learning rate {lr} or rho {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, be, w, g, state, group):
        xp = be.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
            state["acc_delta"] = xp.zeros_like(w)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        rho, eps = group["rho"], group["eps"]
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * delta * delta
        w -= group["lr"] * delta


from eager_api.optim import lr_scheduler  # noqa: E402  (torch.optim.lr_scheduler needs Optimizer, defined above)
