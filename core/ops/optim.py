"""Optimizer updates as primitives: one ``Op`` per algorithm, shared by ``torch.optim``, ``tf.train`` and Keras.

Each update takes ``(w, g, *slots, lr, step)`` and returns the new ``(w, *slots)``.  The learning rate and
the 1-based step count are inputs, not attributes, so a schedule (or a replayed graph) can feed them each
step.  Where PyTorch, TF1 and Keras compute differently, the difference is an attribute of the op
(epsilon inside or outside the square root, bias correction on the rate or on the moments, where the
rate enters a momentum buffer, initial accumulator values), so each frontend only picks its variant.

Aliasing rule: with ``inplace=False`` (the default, what ``core.apply`` needs) ``forward`` is pure and
returns fresh arrays.  With ``inplace=True`` it writes the results into the ``w`` and slot buffers it was
given and returns those same buffers; only a caller that owns them (the eager ``step()``, the session's
variables) may ask for that.  ``g`` is never written.

Example::

    op = SGD(momentum=0.9, inplace=True)
    buf, = op.init_slots(be, w)
    op.forward(be, w, g, buf, 0.1, 1)          # w and buf now hold the updated values
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from core.graph import Value
from core.op import Op, Spec


_PY_SCALARS = (float, int, bool)
_exact_cache: dict = {}


def _exact(x: Any, *scalars: Any) -> bool:
    """Whether ``x (op) c`` stays in ``x``'s dtype for every scalar ``c``: then an update may work in a scratch
    buffer of that dtype and round exactly where the plain expression rounds.  (A float64 rate tensor on
    float32 weights computes in float64, as the plain expression does.)

    NumPy 2 promotes by type alone (NEP 50: a Python scalar takes the array's dtype, a NumPy scalar or array
    its own), so the answer is remembered per (dtype, scalar types): ~1.5 us a small update otherwise."""
    key = (x.dtype, *[type(c) if type(c) in _PY_SCALARS else getattr(c, "dtype", None) for c in scalars])
    hit = _exact_cache.get(key)
    if hit is None:
        hit = all(numpy.result_type(x, c) == x.dtype for c in scalars)
        if None not in key:
            _exact_cache[key] = hit
    return hit


def _weak(c: Any, like: Any) -> Any:
    """``c``, a number derived from the step count, as the Python float it is on a host count would combine
    with ``like``: in ``like``'s dtype when that is an array or NumPy scalar (NEP 50: a Python scalar takes the
    array's dtype).  On a device count (a 0-d array, see ``_Update``) ``c`` is a float64 0-d array, which would
    otherwise promote ``like`` to float64."""
    if hasattr(c, "dtype") and hasattr(like, "dtype") and c.dtype != like.dtype:
        return c.astype(like.dtype)
    return c


def _tf1(w: Any, *xs: Any) -> list:
    """Hyperparameters as TF1's kernels see them: a Python number becomes a float32 tensor, then is cast to the
    variable's dtype (``w.dtype``); a tensor (a learning-rate variable, say) is cast to that dtype."""
    dt = w.dtype.type
    return [_weak(x, w) if hasattr(x, "dtype") else dt(numpy.float32(x)) for x in xs]


def _torch_grad(be: Any, w: Any, g: Any, maximize: bool, weight_decay: float) -> Any:
    """PyTorch's gradient for an update: negated to maximize, then ``grad.add(param, alpha=wd)``, one fused
    multiply-add on the CPU (new arrays; g untouched)."""
    if maximize:
        g = -g
    if weight_decay:
        g = be.fma(w, weight_decay, g, be.empty(g.shape, g.dtype))
    return g


def _addcmul(be: Any, a: Any, x: Any, y: Any, value: float, t: Any) -> None:
    """``a.addcmul_(x, y, value=value)`` as ATen rounds it: fma(value * x, y, a), in place (``t`` scratch)."""
    be.xp.multiply(x, a.dtype.type(value), out=t)
    be.fma(t, y, a, a)


def _lerp(be: Any, a: Any, end: Any, weight: float, t: Any) -> None:
    """``a.lerp_(end, weight)`` as ATen rounds it: one fused multiply-add from the nearer end (``t`` scratch)."""
    w = a.dtype.type(weight)
    be.xp.subtract(end, a, out=t)
    if abs(w) < 0.5:
        be.fma(t, w, a, a)
    else:
        be.fma(t, w - a.dtype.type(1), end, a)


def _square(xp: Any, g: Any, sq: Any, out: Any = None) -> Any:
    """g * g, or ``sq`` where the caller gives what stands for it (see ``_Update.forward``): into ``out``, else
    as a new array (an update may overwrite it)."""
    if sq is None:
        return g * g if out is None else xp.multiply(g, g, out=out)
    if out is None:
        return sq.copy()
    xp.copyto(out, sq)
    return out


def _pick(xp: Any, first: Any, a: float, b: float) -> Any:
    """``a`` on the first step, else ``b``: a Python choice on a host count, an array one on a device count (a
    step captured as a CUDA graph replays whatever the host chose when it was recorded)."""
    if hasattr(first, "dtype"):
        return xp.where(first, a, b)
    return a if first else b


def _times(be: Any, x: Any, c: Any, tag: str) -> Any:
    """``x * c``, in the backend's scratch buffer ``tag`` when that rounds the same (so a step allocates
    nothing once warm), else as a new array."""
    if not _exact(x, c):
        return x * c
    t = be.scratch((tag,), x.shape, x.dtype)
    return be.xp.multiply(x, c, out=t)


class _Update(Op):
    """Base of the update primitives: ``slot_names`` are the state buffers (inputs after ``g``, outputs after
    ``w``), made by ``init_slots``; subclasses write the in-place step ``_apply``.

    The step count is a Python int (PyTorch's per-parameter counts, kept on the host as PyTorch does) or a 0-d
    integer array on the device (a static Program's count, ``State.tick``): then every number derived from it
    (bias corrections, the first step's choices) is computed by array operations on the device and nothing is
    read back, so the step can be captured and replayed as one CUDA graph.  Both give the same bits: derived
    numbers combine with arrays as the Python floats they stand for (``_weak``).  (The 0.5 power of a bias
    correction is an exception: NumPy's is the square root, correctly rounded, where Python's ``pow`` is off by
    one unit in the last place for about 1 in 1,300 values, and may differ after rounding to the weights'
    dtype.)"""

    differentiable = False
    saves_inputs = False
    slot_names: tuple[str, ...] = ()

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace
        # In place, the update writes the buffers it was given: passes must neither merge nor skip it.
        self.pure, self.effect = not inplace, inplace

    @property
    def arg_names(self) -> tuple[str, ...]:       # type: ignore[override]
        return ("w", "g", *self.slot_names, "lr", "step")

    def slot_init(self, name: str) -> float:
        """The value a slot starts at (zero unless a variant says otherwise)."""
        return 0.0

    def init_slots(self, be: Any, w: Any) -> tuple:
        """Fresh slot buffers for weight ``w``, in the op's input order."""
        return tuple(be.xp.full_like(w, self.slot_init(n)) for n in self.slot_names)

    def infer(self, w: Value, g: Value, *rest: Value) -> list[Spec]:
        if len(rest) != len(self.slot_names) + 2:
            raise TypeError(f"{self.name}: expected inputs {list(self.arg_names)}, got {2 + len(rest)} inputs")
        slots, (lr, step) = rest[:-2], rest[-2:]
        self.require_float(w)
        for name, v in zip(self.arg_names[1:], (g, *slots)):
            if v.dtype != w.dtype:
                raise self.dtype_error(name, f"{w.dtype} (same as 'w')", v.dtype)
            if len(v.shape) != len(w.shape) or any(a is not None and b is not None and a != b
                                                   for a, b in zip(v.shape, w.shape)):
                raise self.shape_error(name, f"shape {tuple(w.shape)} (same as 'w')", v.shape)
        for name, v in (("lr", lr), ("step", step)):
            if len(v.shape):
                raise self.shape_error(name, "a scalar", v.shape)
        return [(w.shape, w.dtype)] + [(s.shape, s.dtype) for s in slots]

    def forward(self, be: Any, w: Any, g: Any, *rest: Any, sq: Any = None) -> tuple:
        """``sq``, where given, replaces g^2 (|g| in Adamax) in the updates that square the gradient (Keras'
        ``ops.square(gradient)``): a TF sparse gradient's slices are squared apart there, each repeated row's
        slices before they are summed (``static_api.train``)."""
        *slots, lr, step = rest
        if not self.inplace:
            w = be.xp.array(w, copy=True)
            slots = [be.xp.array(s, copy=True) for s in slots]
        if sq is None:
            self._apply(be, w, g, slots, lr, step)
        else:
            self._apply(be, w, g, slots, lr, step, sq=sq)
        return (w, *slots)

    def _apply(self, be: Any, w: Any, g: Any, slots: Sequence[Any], lr: Any, step: Any) -> None:
        raise NotImplementedError

    def bind(self, be: Any, w: Any, g: Any, *slots: Any) -> Callable[[Any, Any], Any]:
        """The update of these arrays as a function of (lr, step), for a flat update that runs on the same
        buffers at every step (``core.ops.state.ApplyUpdates``): ``forward`` here; an update with a kernel of its
        own binds it."""
        return functools.partial(self.forward, be, w, g, *slots)

    def _grad(self, w: Any, g: Any, maximize: bool, weight_decay: float) -> Any:
        """The gradient the update uses: negated to maximize, plus L2 weight decay (new arrays, g untouched)."""
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * w
        return g


class SGD(_Update):
    """buf <- momentum * buf + (1 - dampening) * g; w <- w - lr * (g + momentum * buf if nesterov else buf).

    PyTorch and TF1 (``lr_in_buffer=False``): on PyTorch's step 1 the buffer becomes g itself, a copy of g
    (skipping the dampening).  ``tf1_kernel``: TF1's ``ApplyMomentum``, which has no such step (its buffer, a
    variable, may have been restored), no dampening, and steps Nesterov as w <- w - (g lr + buf momentum lr).
    Keras (``lr_in_buffer=True``) keeps the rate inside the buffer: v <- momentum * v - lr * g;
    w <- w + (momentum * v - lr * g if nesterov else v); equal for a fixed rate, different once the rate changes.
    ``fma``: PyTorch's own rounding, where each ``x.add(y, alpha=a)`` of its SGD step is one fused multiply-add
    on the CPU (``be.fma``); its step count is the host's (eager).  ``sparse_kernel``: TF1's
    ``SparseApplyMomentum`` (an embedding's rows), whose Nesterov step is w <- w - (lr g + (lr momentum) buf).
    """

    name = "ApplySGD"

    def __init__(self, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, maximize: bool = False, lr_in_buffer: bool = False,
                 tf1_kernel: bool = False, fma: bool = False, sparse_kernel: bool = False,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        self.weight_decay, self.maximize, self.lr_in_buffer = weight_decay, maximize, lr_in_buffer
        self.tf1_kernel, self.fma, self.sparse_kernel = tf1_kernel, fma, sparse_kernel

    @property
    def slot_names(self) -> tuple[str, ...]:      # type: ignore[override]
        return ("momentum",) if self.momentum else ()

    def _apply(self, be, w, g, slots, lr, step):
        if self.fma:
            self._torch(be, w, g, slots, lr, step)
            return
        mu = _weak(self.momentum, w)        # TF1's and Keras' float32 momentum meets w in w's dtype
        if self.maximize:
            g = -g
        if not mu:
            g = self._grad(w, g, False, self.weight_decay)
            w -= _times(be, g, lr, "sgd")
            return
        buf, = slots
        if self.lr_in_buffer:
            g = self._grad(w, g, False, self.weight_decay)
            buf *= mu
            if not _exact(g, mu, lr):
                buf -= lr * g
                w += mu * buf - lr * g if self.nesterov else buf
                return
            buf -= _times(be, g, lr, "sgd")
            if self.nesterov:       # mu * buf - lr * g, in that order, in two scratch buffers
                t = _times(be, buf, mu, "sgd-mu")
                t -= _times(be, g, lr, "sgd")
                w += t
            else:
                w += buf
            return
        first = not self.tf1_kernel and step == 1
        if self.weight_decay:
            g = g + self.weight_decay * w
        # PyTorch's step 1: the buffer becomes g itself (no dampening then).
        buf *= _weak(_pick(be.xp, first, 0.0, mu), buf)
        scale = _pick(be.xp, first, 1.0, 1 - self.dampening)
        buf += _times(be, g, _weak(scale, g), "sgd") if hasattr(scale, "dtype") or scale != 1 else g
        if not self.nesterov:
            w -= _times(be, buf, lr, "sgd")
        elif self.sparse_kernel:
            w -= lr * g + (lr * mu) * buf
        elif self.tf1_kernel:
            if not _exact(g, mu, lr):
                w -= g * lr + buf * mu * lr
                return
            t = _times(be, buf, mu, "sgd")
            t *= lr
            u = _times(be, g, lr, "sgd-g")
            u += t
            w -= u
        elif not _exact(g, mu, lr):
            w -= lr * (g + mu * buf)
        else:
            t = _times(be, buf, mu, "sgd")
            be.xp.add(g, t, out=t)
            t *= lr
            w -= t


    def _torch(self, be, w, g, slots, lr, step):
        """PyTorch's ``_single_tensor_sgd`` as ATen computes it on the CPU: grad.add(param, alpha=wd),
        buf.mul_(momentum).add_(grad, alpha=1 - dampening) (a clone of grad on step 1),
        grad.add(buf, alpha=momentum) for Nesterov and param.add_(grad, alpha=-lr), each add a fused
        multiply-add."""
        mu = self.momentum
        if self.maximize:
            g = -g
        if self.weight_decay:       # new gradients in scratch buffers (the caller's stays as it is)
            g = be.fma(w, self.weight_decay, g, be.scratch(("sgd-decayed",), g.shape, g.dtype))
        if mu:
            buf, = slots
            if step == 1:
                buf[...] = g
            else:
                buf *= mu
                be.fma(g, 1 - self.dampening, buf, buf)
            g = be.fma(buf, mu, g, be.scratch(("sgd-nesterov",), g.shape, g.dtype)) if self.nesterov else buf
        be.fma(g, -lr, w, w)


class Adam(_Update):
    """PyTorch's Adam: m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; with amsgrad v' = max(v', v) replaces v;
    w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).  ``weight_decay`` is L2 on the gradient,
    or with ``decoupled`` (AdamW) w <- w (1 - lr wd) first.  Rounded as PyTorch's CPU step rounds it (lerp,
    addcmul and the decay's add each a fused multiply-add), bit for bit where the compiled kernels run and,
    without them, up to a rare tie of float64's double rounding (float32) or one rounding (float64).  (TF1's and
    Keras', which fold the bias correction into the rate, are ``AdamPowers``.)
    """

    name = "ApplyAdam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled: bool = False, amsgrad: bool = False, maximize: bool = False, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.decoupled, self.amsgrad, self.maximize = decoupled, amsgrad, maximize

    @property
    def slot_names(self) -> tuple[str, ...]:      # type: ignore[override]
        return ("m", "v", "vmax") if self.amsgrad else ("m", "v")

    def _apply(self, be, w, g, slots, lr, step):
        xp, dt = be.xp, w.dtype.type
        if self.weight_decay and self.decoupled:
            w *= 1 - lr * self.weight_decay
        g = _torch_grad(be, w, g, self.maximize, 0.0 if self.decoupled else self.weight_decay)
        rate, unbias = self.step_size(xp, lr, step)
        if not hasattr(lr, "dtype"):        # a rate tensor keeps its own dtype (see _exact)
            rate = _weak(rate, w)
        unbias = _weak(unbias, w)
        if not self.amsgrad and not hasattr(lr, "dtype"):
            # A backend may run the whole non-amsgrad step as one kernel (CuPy does; the CPU where numba
            # applies, bit for bit the steps below, and says False where it does not).
            fused = getattr(be, "fused_adam", None)
            if fused is not None and fused(w, g, *slots, self.beta1, self.beta2, self.eps, rate, unbias) is not False:
                return
        # PyTorch's single-tensor CPU step, rounded where ATen rounds it (its kernels are compiled with
        # contraction, so a multiply and the add after it are one fused multiply-add).
        m, v = slots[:2]
        t = be.scratch(("adam",), g.shape, g.dtype)
        _lerp(be, m, g, 1 - self.beta1, t)              # exp_avg.lerp_(g, 1 - b1)
        v *= dt(self.beta2)                             # exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
        _addcmul(be, v, g, g, 1 - self.beta2, t)
        if self.amsgrad:
            v = xp.maximum(slots[2], v, out=slots[2])
        # param.addcdiv_(exp_avg, sqrt(v) / sqrt(1 - b2^t) + eps, value=-rate): (-rate m) / denom, then the sum
        xp.sqrt(v, out=t)
        t /= unbias
        t += dt(self.eps)
        if _exact(m, rate):
            d = be.scratch(("adam-d",), g.shape, g.dtype)
            xp.multiply(m, -rate, out=d)
            d /= t
            w += d
        else:       # a rate tensor of a wider dtype: its arithmetic, as the plain expression
            w += (-rate * m) / t

    def step_size(self, xp: Any, lr: Any, step: Any) -> tuple[Any, Any]:
        """(rate, unbias) at ``step``: w -= rate * m / (sqrt(v) / unbias + eps); on a device step, float64 0-d
        arrays computed there."""
        bc1, bc2 = 1 - self.beta1 ** step, 1 - self.beta2 ** step
        root = xp.sqrt(bc2) if hasattr(bc2, "dtype") else bc2 ** 0.5
        return lr / _weak(bc1, lr), root


def _alpha(xp: Any, lr: Any, b1p: Any, b2p: Any) -> Any:
    """Adam's step size from the beta powers, as TF1's ApplyAdam and Keras compute it (in the powers' dtype)."""
    return lr * xp.sqrt(1 - b2p) / (1 - b1p)


def _tf1_alpha(xp: Any, w: Any, lr: Any, powers: Sequence[Any]) -> Any:
    """TF1's step size from its beta power variables ``powers``, read as 0-d views (``[()]``): NumPy scalars on
    the host, whose arithmetic rounds as the 0-d arrays' does at a quarter of the cost (a batch-1 step computes
    alpha once); 0-d arrays on a device, read there."""
    b1p, b2p, dt = powers[0][()], powers[1][()], w.dtype.type
    if not (type(b1p) is dt and type(b2p) is dt and type(lr) is dt):     # else ``_tf1`` would keep all three
        b1p, b2p, lr = _tf1(w, b1p, b2p, lr)
    return _alpha(xp, lr, b1p, b2p)


@functools.lru_cache(maxsize=64)
def _tf1_adam_constants(dtype: Any, beta1: float, beta2: float, eps: float) -> tuple:
    """TF1 Adam's (eps, 1 - b1, 1 - b2) in ``dtype``, its hyperparameters rounded as ``_tf1`` rounds them:
    the same at every step, so converted once."""
    b1, b2, e = _tf1(numpy.empty(0, dtype), beta1, beta2, eps)
    return e, 1 - b1, 1 - b2


class AdamPowers(_Update):
    """Adam as TF1's ``ApplyAdam`` and Keras 3's ``Adam.update_step`` compute it, bit for bit: every operation in
    the variable's dtype, the bias corrections from the beta powers b1^t and b2^t,

        alpha = lr * sqrt(1 - b2p) / (1 - b1p)
        m += (g - m) * (1 - b1);  v += (g * g - v) * (1 - b2);  w -= (m * alpha) / (sqrt(v) + eps)

    TF1 keeps the powers as float32 variables (``beta1_power``, ``beta2_power``: repeated float32
    multiplication, ``advance``) given as ``step``, the pair of their buffers, and rounds every hyperparameter
    to float32 first (it makes them float32 tensors, then casts them).  With ``keras``, ``step`` is the count and
    the powers are pow(b1, t) in the dtype (b1 rounded to float32 first); 1 - b1 and eps are Python floats there
    (rounded once, to the dtype); ``amsgrad`` steps with max(v_hat, v) in place of v, and ``weight_decay`` is
    Keras' decoupled decay, w -= w * wd * lr before the step (AdamW).  Nothing is read back from the device
    either way.  ``sparse_kernel``: TF1's step for an ``IndexedSlices`` gradient (``_apply_sparse_shared``),
    which decays every row's moments and adds the looked-up rows' part: m = m * b1 + g * (1 - b1),
    v = v * b2 + (g * (1 - b2)) * g (a row not looked up has g = 0, so m * b1 exactly)."""

    name = "ApplyAdamPowers"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, keras: bool = False,
                 amsgrad: bool = False, weight_decay: float = 0.0, sparse_kernel: bool = False,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        if (amsgrad or weight_decay) and not keras:
            raise ValueError(f"{self.name}: amsgrad and weight_decay are Keras' (keras=True); TF1's Adam has neither")
        if sparse_kernel and keras:
            raise ValueError(f"{self.name}: sparse_kernel is TF1's sparse step; Keras' (keras=True) has none")
        self.beta1, self.beta2, self.eps, self.keras = beta1, beta2, eps, keras
        self.amsgrad, self.weight_decay, self.sparse_kernel = amsgrad, weight_decay, sparse_kernel

    @property
    def slot_names(self) -> tuple[str, ...]:      # type: ignore[override]
        return ("m", "v", "vmax") if self.amsgrad else ("m", "v")

    @property
    def arg_names(self) -> tuple[str, ...]:       # type: ignore[override]
        return ("w", "g", *self.slot_names, "lr", "step" if self.keras else "beta_powers")

    def infer(self, w: Value, g: Value, *rest: Value) -> list[Spec]:
        raise TypeError(f"{self.name}: runs inside ApplyUpdates (its step state is the optimizer's), not as a graph "
                        "node")

    def advance(self, be: Any, powers: Sequence[Any]) -> None:
        """b1p *= b1 and b2p *= b2, in place, in the powers' dtype (float32), once after each step.  Through 0-d
        views, as ``_apply`` reads them: on the host a NumPy scalar product stored back, the same rounding as
        the in-place ufunc at a fraction of its cost."""
        for p, b in zip(powers, (self.beta1, self.beta2)):
            p[()] = p[()] * p.dtype.type(b)

    def bind(self, be: Any, w: Any, g: Any, *slots: Any) -> Callable[[Any, Any], Any]:
        """TF1's step (``keras`` False, no ``sparse_kernel``) through the backend's compiled kernel bound to these
        arrays where it has one: per step only alpha is worked out, as ``_apply`` works it out."""
        call = getattr(be, "fused_adam_powers_call", None)
        run = None if (self.keras or self.sparse_kernel or call is None) else call(w, g, *slots)     # m and v
        if run is None:
            return super().bind(be, w, g, *slots)
        xp, dt = be.xp, w.dtype.type
        eps, omb1, omb2 = _tf1_adam_constants(w.dtype, self.beta1, self.beta2, self.eps)
        return lambda lr, powers: run(omb1, omb2, dt(_tf1_alpha(xp, w, lr, powers)), eps)

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp, dt = be.xp, w.dtype.type
        if self.keras:
            lr, = _tf1(w, lr)       # Keras' rate is a float32 variable, cast to the dtype
            # One power ufunc loop for a host and a device count alike (not NumPy's scalar power beside it).
            k = step.astype(w.dtype) if hasattr(step, "dtype") else xp.asarray(step, w.dtype)
            # ops.cast(beta, dtype) in Keras' TF backend makes beta a float32 tensor first
            b1p, b2p = (xp.power(dt(numpy.float32(b)), k) for b in (self.beta1, self.beta2))
            omb1, omb2, eps = dt(1 - self.beta1), dt(1 - self.beta2), dt(self.eps)
            if self.weight_decay:       # Keras casts the decay to the dtype from a float32 tensor
                w -= _times(be, _times(be, w, dt(numpy.float32(self.weight_decay)), "adamw"), lr, "adamw")
            alpha = _alpha(xp, lr, b1p, b2p)
        else:
            eps, omb1, omb2 = _tf1_adam_constants(w.dtype, self.beta1, self.beta2, self.eps)
            alpha = _tf1_alpha(xp, w, lr, step)
        m, v = slots[:2]
        plain = not (self.amsgrad or self.sparse_kernel) and sq is None
        fused = getattr(be, "fused_adam_powers", None) if plain else None
        if fused is not None and fused(w, g, m, v, omb1, omb2, alpha, eps) is not False:
            return
        t = be.scratch(("adam",), g.shape, g.dtype)
        if self.sparse_kernel:
            b1, b2 = _tf1(w, self.beta1, self.beta2)
            m *= b1
            m += xp.multiply(g, omb1, out=t)
            v *= b2
            xp.multiply(g, omb2, out=t)      # (g * g) * (1 - b2), reassociated by TF's graph optimizer
            t *= g
            v += t
        else:
            xp.subtract(g, m, out=t)
            t *= omb1
            m += t
            _square(xp, g, sq, t)
            t -= v
            t *= omb2
            v += t
        if self.amsgrad:
            v = xp.maximum(slots[2], v, out=slots[2])
        d = be.scratch(("adam-d",), g.shape, g.dtype)
        xp.sqrt(v, out=d)
        d += eps
        xp.multiply(m, alpha, out=t)
        t /= d
        w -= t


class RMSprop(_Update):
    """ms <- rho ms + (1 - rho) g^2 (centered: mg <- rho mg + (1 - rho) g, and ms - mg^2 replaces ms).

    PyTorch: d = sqrt(ms) + eps; mom <- momentum mom + g / d; w <- w - lr mom (or lr g / d).
    TF1 and Keras (``eps_inside=True, lr_in_momentum=True``): d = sqrt(ms + eps);
    mom <- momentum mom + lr g / d; w <- w - mom.  TF1 starts ms at 1 (``ms_init=1.0``), the others at 0.
    ``tf1_kernel``: TF1's kernels' own arithmetic, for its bits: the moments step by increments,
    ms += (g^2 - ms)(1 - rho), on hyperparameters rounded to float32 first (see ``_tf1``).
    ``sparse_kernel`` (with ``tf1_kernel``): TF1's ``SparseApplyRMSProp`` for an embedding's rows,
    ms = ms rho + (g g)(1 - rho), mom = mom momentum + ((1 / sqrt(ms + eps)) lr) g (centered: mg likewise,
    and (ms + eps) - mg mg under the root).  (TF's kernel takes an approximate reciprocal root, exact only
    in the last ``dim % 8`` columns of a row: the others may differ in the last bit.)
    """

    name = "ApplyRMSProp"

    def __init__(self, rho: float = 0.99, eps: float = 1e-8, momentum: float = 0.0, centered: bool = False,
                 weight_decay: float = 0.0, maximize: bool = False, eps_inside: bool = False,
                 lr_in_momentum: bool = False, ms_init: float = 0.0, momentum_slot: bool = False,
                 tf1_kernel: bool = False, torch_kernel: bool = False, sparse_kernel: bool = False,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        self.rho, self.eps, self.momentum, self.centered = rho, eps, momentum, centered
        self.weight_decay, self.maximize, self.eps_inside = weight_decay, maximize, eps_inside
        self.lr_in_momentum, self.ms_init, self.momentum_slot = lr_in_momentum, ms_init, momentum_slot
        self.tf1_kernel, self.torch_kernel, self.sparse_kernel = tf1_kernel, torch_kernel, sparse_kernel

    @property
    def slot_names(self) -> tuple[str, ...]:      # type: ignore[override]
        """With ``momentum_slot`` the momentum buffer is kept (and stepped) at momentum 0 too, as TF1 does."""
        mom = self.momentum or self.momentum_slot
        return ("ms",) + (("mom",) if mom else ()) + (("mg",) if self.centered else ())

    def slot_init(self, name):
        return self.ms_init if name == "ms" else 0.0

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp = be.xp
        if self.torch_kernel and not hasattr(lr, "dtype"):
            self._apply_torch(be, w, g, slots, lr)
            return
        g = self._grad(w, g, self.maximize, self.weight_decay)
        rho, eps, momentum = self.rho, self.eps, self.momentum
        if self.tf1_kernel:
            rho, eps, momentum, lr = _tf1(w, rho, eps, momentum, lr)
        omr = 1 - rho
        if self.sparse_kernel:
            ms, mom = slots[:2]
            ms *= rho
            ms += (g * g) * omr
            d = ms + eps
            if self.centered:
                mg = slots[2]
                mg *= rho
                mg += g * omr
                d -= mg * mg
            mom *= momentum
            mom += ((1 / xp.sqrt(d)) * lr) * g
            w -= mom
            return
        if _exact(g, lr, rho, omr, eps, momentum):
            self._apply_into(be, w, g, slots, lr, rho, omr, eps, momentum, sq)
            return
        ms = slots[0]
        self._average(ms, _square(xp, g, sq), rho, omr)
        var = ms
        if self.centered:
            mg = slots[-1]
            self._average(mg, g, rho, omr)
            var = ms - mg * mg
        d = xp.sqrt(var + eps) if self.eps_inside else xp.sqrt(var) + eps
        if not (momentum or self.momentum_slot):
            w -= lr * g / d
            return
        mom = slots[1]
        mom *= momentum
        if self.lr_in_momentum:
            mom += g * lr / d
            w -= mom
        else:
            mom += g / d
            w -= lr * mom

    def _apply_torch(self, be, w, g, slots, lr):
        """PyTorch's single-tensor CPU step, rounded where ATen rounds it (addcmul_, lerp_ and add_ with alpha
        each one fused multiply-add; addcdiv_ its quotient, then the sum)."""
        xp, dt = be.xp, w.dtype.type
        g = _torch_grad(be, w, g, self.maximize, self.weight_decay)
        t = be.scratch(("rmsprop",), g.shape, g.dtype)
        avg = be.scratch(("rmsprop-avg",), g.shape, g.dtype)
        ms = slots[0]
        ms *= dt(self.rho)                             # square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        _addcmul(be, ms, g, g, 1 - self.rho, t)
        if self.centered:
            mg = slots[-1]
            _lerp(be, mg, g, 1 - self.rho, t)          # grad_avg.lerp_(g, 1 - alpha)
            xp.negative(mg, out=t)                     # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            be.fma(t, mg, ms, avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(ms, out=avg)
        avg += dt(self.eps)
        if self.momentum:
            buf = slots[1]                              # buf.mul_(momentum).addcdiv_(g, avg)
            buf *= dt(self.momentum)
            xp.divide(g, avg, out=t)
            buf += t
            be.fma(buf, -lr, w, w)                      # param.add_(buf, alpha=-lr)
        else:
            xp.multiply(g, dt(-lr), out=t)              # param.addcdiv_(g, avg, value=-lr)
            t /= avg
            w += t

    def _average(self, a: Any, x: Any, rho: Any, omr: Any) -> None:
        """a <- rho a + (1 - rho) x in place, or TF1's a += (x - a)(1 - rho); ``x`` may be overwritten."""
        if self.tf1_kernel:
            x -= a
            x *= omr
        else:
            a *= rho
            x *= omr
        a += x

    def _apply_into(self, be, w, g, slots, lr, rho, omr, eps, momentum, sq):
        """``_apply``'s arithmetic in the same order, in scratch buffers (no temporaries: a flat update over
        every variable at once would otherwise allocate, and fault in, several buffers of its size a step)."""
        xp = be.xp
        t = be.scratch(("rmsprop",), g.shape, g.dtype)
        d = be.scratch(("rmsprop-d",), g.shape, g.dtype)
        ms = slots[0]
        self._average(ms, _square(xp, g, sq, t), rho, omr)
        var = ms
        if self.centered:
            mg = slots[-1]
            t[...] = g
            self._average(mg, t, rho, omr)
            var = xp.multiply(mg, mg, out=d)
            xp.subtract(ms, d, out=d)
        _root_plus(xp, var, eps, self.eps_inside, d)
        if not (momentum or self.momentum_slot):
            xp.multiply(g, lr, out=t)
            t /= d
            w -= t
            return
        mom = slots[1]
        mom *= momentum
        if self.lr_in_momentum:
            xp.multiply(g, lr, out=t)
            t /= d
            mom += t
            w -= mom
        else:
            mom += xp.divide(g, d, out=t)
            w -= xp.multiply(mom, lr, out=t)


def _root_plus(xp: Any, v: Any, eps: float, inside: bool, out: Any) -> Any:
    """sqrt(v + eps) (``inside``) or sqrt(v) + eps, into ``out`` (which may be ``v``)."""
    if inside:
        xp.add(v, eps, out=out)
        return xp.sqrt(out, out=out)
    xp.sqrt(v, out=out)
    out += eps
    return out


class Adagrad(_Update):
    """acc <- acc + g^2; w <- w - lr / (1 + (t - 1) lr_decay) * g / (sqrt(acc) + eps).

    ``eps_inside=True`` (Keras) divides by sqrt(acc + eps) instead; TF1 has no epsilon (eps=0).
    The accumulator starts at ``initial_accumulator_value`` (PyTorch 0, TF1 and Keras 0.1).
    """

    name = "ApplyAdagrad"
    slot_names = ("acc",)

    def __init__(self, eps: float = 1e-10, lr_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 weight_decay: float = 0.0, maximize: bool = False, eps_inside: bool = False,
                 torch_kernel: bool = False, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.eps, self.lr_decay, self.initial_accumulator_value = eps, lr_decay, initial_accumulator_value
        self.weight_decay, self.maximize, self.eps_inside = weight_decay, maximize, eps_inside
        self.torch_kernel = torch_kernel

    def slot_init(self, name):
        return self.initial_accumulator_value

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp = be.xp
        if self.torch_kernel and not hasattr(lr, "dtype") and not hasattr(step, "dtype"):
            # PyTorch's step: sum.addcmul_(g, g, value=1) fused; param.addcdiv_(g, sqrt(sum) + eps, value=-clr)
            g = _torch_grad(be, w, g, self.maximize, self.weight_decay)
            acc, = slots
            t = be.scratch(("adagrad",), g.shape, g.dtype)
            d = be.scratch(("adagrad-d",), g.shape, g.dtype)
            _addcmul(be, acc, g, g, 1, t)
            xp.sqrt(acc, out=d)
            d += w.dtype.type(self.eps)
            xp.multiply(g, w.dtype.type(-(lr / (1 + (step - 1) * self.lr_decay))), out=t)
            t /= d
            w += t
            return
        g = self._grad(w, g, self.maximize, self.weight_decay)
        acc, = slots
        if self.lr_decay:
            strong = hasattr(lr, "dtype")
            lr = lr / _weak(1 + (step - 1) * self.lr_decay, lr)
            lr = lr if strong else _weak(lr, w)
        if _exact(g, lr, self.eps):     # the same arithmetic in scratch buffers (see RMSprop._apply_into)
            t = be.scratch(("adagrad",), g.shape, g.dtype)
            d = be.scratch(("adagrad-d",), g.shape, g.dtype)
            acc += _square(xp, g, sq, t)
            _root_plus(xp, acc, self.eps, self.eps_inside, d)
            xp.multiply(g, lr, out=t)
            t /= d
            w -= t
            return
        acc += _square(xp, g, sq)
        d = xp.sqrt(acc + self.eps) if self.eps_inside else xp.sqrt(acc) + self.eps
        w -= lr * g / d


class Adadelta(_Update):
    """v <- rho v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) g; u <- rho u + (1 - rho) d^2;
    w <- w - lr d (the same in PyTorch, TF1 and Keras; only the defaults differ).  ``tf1_kernel``: on
    hyperparameters rounded as TF1 rounds them (``_tf1``), for its bits; ``keras``: Keras 3's order,
    d = (sqrt(u + eps) g) / sqrt(v + eps), for its bits."""

    name = "ApplyAdadelta"
    slot_names = ("v", "u")

    def __init__(self, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0, maximize: bool = False,
                 tf1_kernel: bool = False, keras: bool = False, torch_kernel: bool = False,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        self.rho, self.eps, self.weight_decay, self.maximize = rho, eps, weight_decay, maximize
        self.tf1_kernel, self.keras, self.torch_kernel = tf1_kernel, keras, torch_kernel

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp = be.xp
        if self.torch_kernel and not hasattr(lr, "dtype"):
            # PyTorch's step, its addcmul_s and add_(alpha) fused: v b, fma((1 - rho) g, g, v rho);
            # delta = sqrt(u + eps) / sqrt(v + eps) * g; u likewise with delta; w = fma(delta, -lr, w)
            dt = w.dtype.type
            g = _torch_grad(be, w, g, self.maximize, self.weight_decay)
            v, u = slots
            t = be.scratch(("adadelta",), g.shape, g.dtype)
            delta = be.scratch(("adadelta-d",), g.shape, g.dtype)
            v *= dt(self.rho)
            _addcmul(be, v, g, g, 1 - self.rho, t)
            xp.add(u, dt(self.eps), out=delta)
            xp.sqrt(delta, out=delta)
            xp.add(v, dt(self.eps), out=t)
            xp.sqrt(t, out=t)
            delta /= t
            delta *= g
            u *= dt(self.rho)
            _addcmul(be, u, delta, delta, 1 - self.rho, t)
            be.fma(delta, -lr, w, w)
            return
        g = self._grad(w, g, self.maximize, self.weight_decay)
        rho, eps = self.rho, self.eps
        if self.tf1_kernel:
            rho, eps, lr = _tf1(w, rho, eps, lr)
        v, u = slots
        if _exact(g, lr, rho, eps):     # the same arithmetic in scratch buffers (see RMSprop._apply_into)
            t = be.scratch(("adadelta",), g.shape, g.dtype)
            delta = be.scratch(("adadelta-d",), g.shape, g.dtype)
            v *= rho
            _square(xp, g, sq, t)
            t *= 1 - rho
            v += t
            d2 = None if sq is None else self._sparse_square(xp, u, v, eps, sq)
            _root_plus(xp, u, eps, True, delta)
            if self.keras:
                delta *= g
                delta /= _root_plus(xp, v, eps, True, t)
            else:
                delta /= _root_plus(xp, v, eps, True, t)
                delta *= g
            u *= rho
            if d2 is None:
                xp.multiply(delta, delta, out=t)
            else:
                xp.copyto(t, d2)
            t *= 1 - rho
            u += t
            w -= xp.multiply(delta, lr, out=t)
            return
        v *= rho
        v += (1 - rho) * _square(xp, g, sq)
        d2 = None if sq is None else self._sparse_square(xp, u, v, eps, sq)
        if self.keras:
            delta = xp.sqrt(u + eps) * g / xp.sqrt(v + eps)
        else:
            delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta if d2 is None else d2)
        w -= lr * delta

    @staticmethod
    def _sparse_square(xp: Any, u: Any, v: Any, eps: Any, sq: Any) -> Any:
        """The delta's square where Keras 3's TF backend takes a sparse gradient: its delta is an
        ``IndexedSlices`` too, squared slice by slice (sqrt(u + eps) / sqrt(v + eps))^2 * s^2, then summed per
        row: the ratio squared times ``sq``, each row's slices' squares (equal up to rounding)."""
        ratio = xp.sqrt(u + eps) / xp.sqrt(v + eps)
        return ratio * ratio * sq


def _keras_power(xp: Any, base: float, step: Any, dtype: Any) -> Any:
    """``ops.power(ops.cast(base, dtype), ops.cast(step, dtype))`` as Keras 3 computes it: the Python float made
    a float32 tensor, cast to the dtype, raised to the step in one power ufunc loop (host or device count)."""
    k = step.astype(dtype) if hasattr(step, "dtype") else xp.asarray(step, dtype)
    return xp.power(dtype.type(numpy.float32(base)), k)


class Adamax(_Update):
    """Keras 3's Adamax ``update_step``, in the variable's dtype and its order of operations:

        m += (g - m) * (1 - b1);  u = max(b2 * u, |g|);  w -= (lr * m) / ((1 - b1^t) * (u + eps))

    (b1^t from b1 rounded to float32, as ``ops.cast`` of a Python float; 1 - b1, b2 and eps Python floats
    rounded once to the dtype; the float32 rate cast to the dtype)."""

    name = "ApplyAdamax"
    slot_names = ("m", "u")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp, dt = be.xp, w.dtype.type
        lr, = _tf1(w, lr)
        b1p = _keras_power(xp, self.beta1, step, w.dtype)
        m, u = slots
        m += (g - m) * dt(1 - self.beta1)
        xp.maximum(u * dt(self.beta2), xp.abs(g) if sq is None else sq, out=u)
        w -= (lr * m) / ((1 - b1p) * (u + dt(self.eps)))


class Nadam(_Update):
    """Keras 3's Nadam, in the variable's dtype and its order of operations: with the momentum schedule
    mu_s = b1 (1 - 0.5 * 0.96^s) and the product P_t = mu_1 ... mu_t (Keras' ``_u_product``, advanced once a
    step in its own dtype, (P * b1) * (1 - 0.5 * 0.96^t), before the variables update),

        m += (g - m) * (1 - b1);  v += (g^2 - v) * (1 - b2)
        m_hat = (mu_{t+1} m) / (1 - P_t mu_{t+1}) + ((1 - mu_t) g) / (1 - P_t);  v_hat = v / (1 - b2^t)
        w -= (m_hat * lr) / (sqrt(v_hat) + eps)

    b1, b2 and 0.96 are rounded to float32 first (``ops.cast`` of Python floats), eps once to the dtype.  P_t is
    the product's sequence of roundings in the weights' dtype (Keras keeps it in the first variable's dtype,
    the same for a model of one dtype), remembered per dtype so that each step adds one factor; it is computed on
    the host, so a device count is read back."""

    name = "ApplyNadam"
    slot_names = ("m", "v")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._products: dict = {}       # dtype -> [P_0 = 1, P_1, ...]

    def _product(self, dtype: numpy.dtype, t: int) -> Any:
        ps = self._products.setdefault(dtype, [dtype.type(1.0)])
        b1 = dtype.type(numpy.float32(self.beta1))
        while len(ps) <= t:
            s = len(ps)
            ps.append((ps[-1] * b1) * (dtype.type(1.0) - dtype.type(0.5) * _keras_power(numpy, 0.96, s, dtype)))
        return ps[t]

    def _apply(self, be, w, g, slots, lr, step, sq=None):
        xp, dt = be.xp, w.dtype.type
        lr, = _tf1(w, lr)
        t = int(step)
        b1, b2 = dt(numpy.float32(self.beta1)), dt(numpy.float32(self.beta2))
        mu_t = b1 * (dt(1.0) - dt(0.5) * _keras_power(xp, 0.96, t, w.dtype))
        mu_next = b1 * (dt(1.0) - dt(0.5) * _keras_power(xp, 0.96, t + 1, w.dtype))
        product = xp.asarray(self._product(w.dtype, t))
        product_next = product * mu_next
        b2p = _keras_power(xp, self.beta2, t, w.dtype)
        m, v = slots
        m += (g - m) * (1 - b1)
        v += (_square(xp, g, sq) - v) * (1 - b2)
        m_hat = (mu_next * m) / (1 - product_next) + ((1 - mu_t) * g) / (1 - product)
        v_hat = v / (1 - b2p)
        w -= (m_hat * lr) / (xp.sqrt(v_hat) + dt(self.eps))


# ----- PyTorch's Adamax, NAdam, RAdam and Rprop -----------------------------------------------------------------
# Each is PyTorch's single-tensor CPU step (its default on the CPU) rounded where ATen rounds it: Python-float
# coefficients (bias corrections) in float64, then cast to the weights' dtype as ATen casts a scalar; lerp_,
# addcmul_ and add_(alpha=) one fused multiply-add each; addcdiv_ (value * t1) / t2, then the sum.  Separate
# from Keras' Adamax and Nadam above, whose arithmetic differs throughout.  The step count is the host's.


class TorchAdamax(_Update):
    """m.lerp_(g, 1 - b1); u = max(b2 u, |g| + eps); w.addcdiv_(m, u, value=-lr / (1 - b1^t)); ``weight_decay``
    as L2 on the gradient (fused)."""

    name = "ApplyAdamaxTorch"
    slot_names = ("m", "u")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 maximize: bool = False, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.weight_decay, self.maximize = weight_decay, maximize

    def _apply(self, be, w, g, slots, lr, step):
        xp, dt = be.xp, w.dtype.type
        g = _torch_grad(be, w, g, self.maximize, self.weight_decay)
        m, u = slots
        t = be.scratch(("adamax",), g.shape, g.dtype)
        _lerp(be, m, g, 1 - self.beta1, t)
        u *= dt(self.beta2)
        xp.abs(g, out=t)
        t += dt(self.eps)
        xp.maximum(u, t, out=u)
        xp.multiply(m, dt(-lr / (1 - self.beta1 ** int(step))), out=t)
        t /= u
        w += t


def _torch_moments(be: Any, op: Any, w: Any, g: Any, m: Any, v: Any, lr: float) -> tuple:
    """The opening of PyTorch's NAdam and RAdam steps: the decoupled decay (w *= 1 - lr wd) or L2 on the gradient,
    then exp_avg.lerp_(g, 1 - b1) and exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2) as ATen rounds them.
    Returns the gradient used and two scratch buffers of its shape."""
    dt = w.dtype.type
    if op.weight_decay and op.decoupled:
        w *= dt(1 - lr * op.weight_decay)
    g = _torch_grad(be, w, g, op.maximize, 0.0 if op.decoupled else op.weight_decay)
    s = be.scratch((op.name,), g.shape, g.dtype)
    d = be.scratch((op.name, "d"), g.shape, g.dtype)
    _lerp(be, m, g, 1 - op.beta1, s)
    v *= dt(op.beta2)
    _addcmul(be, v, g, g, 1 - op.beta2, s)
    return g, s, d


class TorchNAdam(_Update):
    """PyTorch's NAdam: mu_t = b1 (1 - 0.5 * 0.96^(t psi)) (psi the momentum decay), their product P_t kept in
    float32 as PyTorch's ``mu_product`` tensor; m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2 (fused);
    d = sqrt(v / (1 - b2^t)) + eps; w.addcdiv_(g, d, value=-lr (1 - mu_t) / (1 - P_t)), then
    w.addcdiv_(m, d, value=-lr mu_{t+1} / (1 - P_t mu_{t+1})).  ``weight_decay``: L2 on the gradient, or with
    ``decoupled`` w *= 1 - lr wd first."""

    name = "ApplyNAdamTorch"
    slot_names = ("m", "v")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled: bool = False, maximize: bool = False,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.momentum_decay, self.decoupled, self.maximize = momentum_decay, decoupled, maximize
        self._products = [numpy.float32(1.0)]     # P_0, P_1, ...: the same sequence of float32 roundings each time

    def mu(self, t: int) -> float:
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def mu_product(self, t: int) -> numpy.float32:
        """P_t as PyTorch's float32 tensor holds it after t steps (each factor rounded to float32, then the
        product)."""
        while len(self._products) <= t:
            self._products.append(self._products[-1] * numpy.float32(self.mu(len(self._products))))
        return self._products[t]

    def _apply(self, be, w, g, slots, lr, step):
        xp, dt = be.xp, w.dtype.type
        t = int(step)
        m, v = slots
        g, s, d = _torch_moments(be, self, w, g, m, v, lr)
        mu, mu_next, product = self.mu(t), self.mu(t + 1), float(self.mu_product(t))
        xp.divide(v, dt(1 - self.beta2 ** t), out=d)
        xp.sqrt(d, out=d)
        d += dt(self.eps)
        for x, value in ((g, -lr * (1.0 - mu) / (1.0 - product)), (m, (-lr * mu_next) / (1.0 - product * mu_next))):
            xp.multiply(x, dt(value), out=s)
            s /= d
            w += s


class RAdam(_Update):
    """PyTorch's RAdam: m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2 (fused); with rho_inf = 2 / (1 - b2) - 1 and
    rho_t = rho_inf - 2 t b2^t / (1 - b2^t), while rho_t <= 5 w -= (m / (1 - b1^t)) lr, after it
    w -= (((m / (1 - b1^t)) lr) (1 / (sqrt(v) + eps)) sqrt(1 - b2^t)) r_t with r_t the rectification
    sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)), in PyTorch's order (its
    ``float / tensor`` is the tensor's reciprocal times the float).  ``weight_decay``: L2 on the gradient, or
    with ``decoupled`` w *= 1 - lr wd first."""

    name = "ApplyRAdam"
    slot_names = ("m", "v")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled: bool = False, maximize: bool = False, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.decoupled, self.maximize = decoupled, maximize

    def _apply(self, be, w, g, slots, lr, step):
        xp, dt = be.xp, w.dtype.type
        t = int(step)
        m, v = slots
        g, s, d = _torch_moments(be, self, w, g, m, v, lr)
        bc1, bc2 = 1 - self.beta1 ** t, 1 - self.beta2 ** t
        rho_inf = 2 / (1 - self.beta2) - 1
        rho_t = rho_inf - 2 * t * (self.beta2 ** t) / bc2
        xp.divide(m, dt(bc1), out=s)
        s *= dt(lr)
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            xp.sqrt(v, out=d)
            d += dt(self.eps)
            xp.reciprocal(d, out=d)
            d *= dt(bc2 ** 0.5)
            s *= d
            s *= dt(rect)
        w -= s


class Rprop(_Update):
    """PyTorch's Rprop: s = sign(g prev) mapped to eta+ (> 0), eta- (< 0) or 1; size = clamp(size s, min, max);
    g is 0 where s is eta-; w.addcmul_(sign(g), size, value=-1) (fused); prev = g.  The step sizes start at the
    rate of the first step, as PyTorch fills them then."""

    name = "ApplyRprop"
    slot_names = ("prev", "size")

    def __init__(self, etaminus: float = 0.5, etaplus: float = 1.2, step_size_min: float = 1e-6,
                 step_size_max: float = 50.0, maximize: bool = False, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.etaminus, self.etaplus = etaminus, etaplus
        self.step_size_min, self.step_size_max, self.maximize = step_size_min, step_size_max, maximize

    def _apply(self, be, w, g, slots, lr, step):
        xp, dt = be.xp, w.dtype.type
        prev, size = slots
        if int(step) == 1:
            size[...] = dt(lr)
        if self.maximize:
            g = -g
        s = be.scratch(("rprop",), g.shape, g.dtype)
        xp.multiply(g, prev, out=s)
        xp.sign(s, out=s)
        minus = dt(self.etaminus)
        s[...] = xp.where(s > 0, dt(self.etaplus), xp.where(s < 0, minus, xp.where(s == 0, dt(1), s)))
        size *= s
        xp.clip(size, dt(self.step_size_min), dt(self.step_size_max), out=size)
        prev[...] = xp.where(s == minus, dt(0), g)
        xp.sign(prev, out=s)
        _addcmul(be, w, s, size, -1, s)
