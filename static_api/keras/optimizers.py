"""``tf.keras.optimizers`` with Keras' defaults and formulas, as TF1 optimizer objects over the static graph
(each computes Keras' variant of the ``core.ops.optim`` update where it differs from TF1's)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy

from core import errors as _errors
from core.ops import optim as optim_ops
from static_api import ops, train
from static_api.graph import Graph, get_default_graph
from static_api.keras import backend as K
from static_api.keras import schedules
from static_api.session import Session
from static_api.variables import Variable


# Keras 3's base-optimizer arguments dualflow does not implement, with their defaults: any other value is
# refused rather than ignored (training would silently differ from Keras').
_UNSUPPORTED = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None}
_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def _base_args(cls: str, kwargs: dict) -> dict:
    """Keras 3's checks of the base optimizer's arguments: ``name`` is taken, ``decay`` is ignored with Keras'
    warning, an unknown one (Keras 2's ``lr``, say) is a ValueError as in Keras, and an unimplemented one
    other than its default a NotImplementedError naming it.  Returns the gradient clipping asked for (at most
    one of ``clipnorm``, ``clipvalue``, ``global_clipnorm``, as Keras checks)."""
    kwargs = dict(kwargs)
    kwargs.pop("name", None)
    if kwargs.pop("decay", None) is not None:
        warnings.warn("Argument `decay` is no longer supported and will be ignored.")
    clip = {k: kwargs.pop(k) for k in _CLIPPING if k in kwargs}
    unknown = {k: v for k, v in kwargs.items() if k not in _UNSUPPORTED}
    if unknown:
        raise ValueError(f"Argument(s) not recognized: {unknown}")
    if sum(v is not None for v in clip.values()) > 1:
        raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                         + ", ".join(f"{k}={clip.get(k)}" for k in _CLIPPING))
    for k, v in kwargs.items():
        if v != _UNSUPPORTED[k] and not (k == "weight_decay" and not v):
            raise NotImplementedError(f"keras.optimizers.{cls}: argument '{k}' (here {v!r}) is not implemented in "
                                      f"dualflow (see docs/compat.md)")
    return {k: v for k, v in clip.items() if v is not None}


class _Scheduled:
    """Mixed into a Keras optimizer whose ``learning_rate`` is a ``LearningRateSchedule``: as Keras 3, it counts
    its steps in an int64 ``iterations`` variable (one per graph, with the optimizer's variables) and each step
    trains at ``schedule(iterations)``, computed in the graph before the count moves on.  Reading
    ``learning_rate`` gives the current rate (float32); assigning a number raises TypeError, as in Keras."""

    @property
    def learning_rate(self) -> Any:
        building = self.__dict__.get("_rate_tensor")
        if building is not None:        # while apply_gradients builds the train op: the rate it reads
            return building
        found = self.__dict__.get("_read")
        if found is None:               # before any step: the rate at step 0
            g = Graph()
            with g.as_default():
                rate = self._schedule(ops.constant(numpy.int64(0)))
            return Session(graph=g).run(rate)
        graph, rate = found
        return K.session_of(graph).run(rate)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if not isinstance(value, schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        self._schedule = value

    def _iterations(self, g: Graph) -> Variable:
        counts = self.__dict__.setdefault("_counts", {})
        if id(g) not in counts:
            counts[id(g)] = Variable(numpy.int64(0), trainable=False, name="iterations", dtype=numpy.int64)
        return counts[id(g)]

    def apply_gradients(self, grads_and_vars: Any, global_step: Variable | None = None, name: str | None = None) -> Any:
        g = get_default_graph()
        count = self._iterations(g)
        self._rate_tensor = self._schedule(count)
        try:
            step = super().apply_gradients(grads_and_vars, global_step, name)
        finally:
            del self._rate_tensor
        self._read = (g, self._schedule(count))
        with g.control_dependencies([step]):        # the count moves on after the step has read its rate
            advance = count.assign_add(1)
        return ops.group(step, advance)

    def variables(self) -> list[Variable]:
        """The iterations count (in this graph), after the other variables."""
        count = self.__dict__.get("_counts", {}).get(id(get_default_graph()))
        return super().variables() + ([] if count is None else [count])


_KERAS: dict[tuple, type] = {}       # (TF1 optimizer class, scheduled) -> its class with Keras' state


def _keras(opt: train.Optimizer, update: optim_ops._Update | None = None, clip: dict | None = None,
           sparse: str | None = "squares") -> train.Optimizer:
    """A TF1 optimizer object (names, serialization) that computes Keras' variant of its update (``update``,
    where it differs from TF1's), with Keras' state (``train._KerasState``: its train op reads
    ``learning_rate`` at each step, on the device, or a schedule's rate: ``_Scheduled``) and gradient clipping
    (``clip``, from ``_base_args``).  ``sparse``: how its update takes an embedding's sparse gradient
    (``train.Optimizer._sparse``); Keras 3 steps every row, and squares a repeated row's slices apart where its
    update squares the gradient."""
    opt.__dict__.update(clip or {})
    opt._sparse = sparse
    if update is not None:
        opt._update_op = update
    base = type(opt)
    scheduled = isinstance(opt.__dict__["learning_rate"], schedules.LearningRateSchedule)
    cls = _KERAS.get((base, scheduled))
    if cls is None:
        mixins = (_Scheduled, train._KerasState) if scheduled else (train._KerasState,)
        cls = _KERAS[(base, scheduled)] = type(base.__name__, (*mixins, base), {"__module__": base.__module__})
    rate = opt.__dict__.pop("learning_rate")
    opt.__class__ = cls
    opt.learning_rate = rate
    return opt


def Adam(learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
         amsgrad: bool = False, weight_decay: float | None = None, **kwargs: Any) -> train.AdamOptimizer:
    """Keras' Adam; a ``weight_decay`` is Keras' decoupled decay before each step, as AdamW's."""
    clip = _base_args("Adam", kwargs)
    opt = _keras(train.AdamOptimizer(learning_rate, beta_1, beta_2, epsilon),
                 optim_ops.AdamPowers(beta_1, beta_2, epsilon, keras=True, amsgrad=amsgrad,
                                      weight_decay=weight_decay or 0.0, inplace=True), clip)
    opt.amsgrad = amsgrad
    if weight_decay:
        opt.weight_decay = weight_decay
    return opt


def AdamW(learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9, beta_2: float = 0.999,
          epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> train.AdamOptimizer:
    """Adam after a decoupled decay w -= w * weight_decay * lr, as Keras applies it before each step."""
    clip = _base_args("AdamW", kwargs)
    opt = _keras(train.AdamOptimizer(learning_rate, beta_1, beta_2, epsilon),
                 optim_ops.AdamPowers(beta_1, beta_2, epsilon, keras=True, amsgrad=amsgrad, weight_decay=weight_decay,
                                      inplace=True), clip)
    opt.amsgrad, opt.weight_decay = amsgrad, weight_decay
    return opt


def SGD(learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any) -> train.Optimizer:
    """Keras keeps the rate inside its velocity: v = momentum * v - lr * g; w += v."""
    clip = _base_args("SGD", kwargs)
    if momentum:
        return _keras(train.MomentumOptimizer(learning_rate, momentum, use_nesterov=nesterov),
                      # Keras casts the momentum to the variable's dtype from a float32 tensor
                      optim_ops.SGD(numpy.float32(momentum), nesterov=nesterov, lr_in_buffer=True, inplace=True), clip,
                      sparse=None)
    return _keras(train.GradientDescentOptimizer(learning_rate), clip=clip, sparse=None)


def RMSprop(learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
            centered: bool = False, **kwargs: Any) -> train.RMSPropOptimizer:
    """TF1's formula, but the mean square starts at 0 (TF1 starts it at 1)."""
    clip = _base_args("RMSprop", kwargs)
    return _keras(train.RMSPropOptimizer(learning_rate, rho, momentum, epsilon, centered=centered),
                  optim_ops.RMSprop(rho, epsilon, momentum, centered, eps_inside=True, lr_in_momentum=True,
                                    inplace=True), clip)


def Adagrad(learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
            **kwargs: Any) -> train.AdagradOptimizer:
    """w -= lr * g / sqrt(accum + epsilon) (TF1 has no epsilon)."""
    clip = _base_args("Adagrad", kwargs)
    opt = _keras(train.AdagradOptimizer(learning_rate, initial_accumulator_value),
                 # Keras' Constant initializer casts the value to the dtype from a float32 tensor
                 optim_ops.Adagrad(epsilon, initial_accumulator_value=numpy.float32(initial_accumulator_value),
                                   eps_inside=True, inplace=True), clip)
    opt.epsilon = epsilon
    return opt


def Adadelta(learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
             **kwargs: Any) -> train.AdadeltaOptimizer:
    clip = _base_args("Adadelta", kwargs)
    return _keras(train.AdadeltaOptimizer(learning_rate, rho, epsilon),
                  optim_ops.Adadelta(rho, epsilon, keras=True, inplace=True), clip)


class _KerasOnly(train.Optimizer):
    """A Keras optimizer that TF1 has no counterpart of: its rate and hyperparameters (Keras' names), stepped by
    its update primitive."""

    def __init__(self, learning_rate: Any, name: str, **hyperparameters: float) -> None:
        super().__init__(False, name)
        self.learning_rate = learning_rate
        self.__dict__.update(hyperparameters)


# One class per algorithm, so that type names read as Keras' (Adamax, Nadam)
_ONLY = {name: type(name, (_KerasOnly,), {"__module__": __name__}) for name in ("Adamax", "Nadam")}


def Adamax(learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
           **kwargs: Any) -> train.Optimizer:
    """Keras 3's Adamax (Adam with the infinity norm): ``core.ops.optim.Adamax``."""
    clip = _base_args("Adamax", kwargs)
    return _keras(_ONLY["Adamax"](learning_rate, "Adamax", beta_1=beta_1, beta_2=beta_2, epsilon=epsilon),
                  optim_ops.Adamax(beta_1, beta_2, epsilon, inplace=True), clip, sparse="abs")


def Nadam(learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
          **kwargs: Any) -> train.Optimizer:
    """Keras 3's Nadam (Adam with Nesterov momentum and Dozat's momentum schedule): ``core.ops.optim.Nadam``."""
    clip = _base_args("Nadam", kwargs)
    return _keras(_ONLY["Nadam"](learning_rate, "Nadam", beta_1=beta_1, beta_2=beta_2, epsilon=epsilon),
                  optim_ops.Nadam(beta_1, beta_2, epsilon, inplace=True), clip)


_NAMES = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta,
          "adamax": Adamax, "nadam": Nadam}


def get(spec: Any) -> train.Optimizer:
    """A string name ('adam', 'sgd', 'rmsprop') with Keras defaults, or an optimizer object."""
    if isinstance(spec, train.Optimizer):
        return spec
    if not isinstance(spec, str) or spec.lower() not in _NAMES:
        raise ValueError(f"Could not interpret optimizer identifier: {spec!r} (expected one of {sorted(_NAMES)} or "
                         "an optimizer object)")
    return _NAMES[spec.lower()]()


def serialize(opt: train.Optimizer) -> dict:
    """A Keras-style name and arguments that rebuild ``opt`` (its moment slots are not kept)."""
    clip = {k: getattr(opt, k) for k in _CLIPPING if getattr(opt, k, None) is not None}
    return {**_arguments(opt), **clip}


def _arguments(opt: train.Optimizer) -> dict:
    """The optimizer's name and arguments; a built-in schedule as its rate is saved by its config."""
    args = _hyperparameters(opt)
    if isinstance(opt, _Scheduled):
        args["learning_rate"] = schedules.serialize(opt._schedule)
    elif not isinstance(args["learning_rate"], (int, float)):
        raise NotImplementedError("cannot save a model whose learning rate is a tensor (a decay schedule)")
    return args


def _hyperparameters(opt: train.Optimizer) -> dict:
    if isinstance(opt, _KerasOnly):
        return {"name": type(opt).__name__.lower(), "learning_rate": opt.learning_rate,
                "beta_1": opt.beta_1, "beta_2": opt.beta_2, "epsilon": opt.epsilon}
    if isinstance(opt, train.AdamOptimizer) and hasattr(opt, "weight_decay"):
        return {"name": "adamw", "learning_rate": opt.learning_rate, "weight_decay": opt.weight_decay,
                "beta_1": opt.beta1, "beta_2": opt.beta2, "epsilon": opt.epsilon, "amsgrad": opt.amsgrad}
    if isinstance(opt, train.AdamOptimizer):
        return {"name": "adam", "learning_rate": opt.learning_rate, "beta_1": opt.beta1, "beta_2": opt.beta2,
                "epsilon": opt.epsilon, "amsgrad": getattr(opt, "amsgrad", False)}
    if isinstance(opt, train.MomentumOptimizer):
        return {"name": "sgd", "learning_rate": opt.learning_rate, "momentum": opt.momentum,
                "nesterov": opt.use_nesterov}
    if isinstance(opt, train.GradientDescentOptimizer):
        return {"name": "sgd", "learning_rate": opt.learning_rate}
    if isinstance(opt, train.RMSPropOptimizer):
        return {"name": "rmsprop", "learning_rate": opt.learning_rate, "rho": opt.decay, "momentum": opt.momentum,
                "epsilon": opt.epsilon, "centered": opt.centered}
    if isinstance(opt, train.AdagradOptimizer):
        return {"name": "adagrad", "learning_rate": opt.learning_rate,
                "initial_accumulator_value": opt.initial_accumulator_value, "epsilon": getattr(opt, "epsilon", 0.0)}
    if isinstance(opt, train.AdadeltaOptimizer):
        return {"name": "adadelta", "learning_rate": opt.learning_rate, "rho": opt.rho, "epsilon": opt.epsilon}
    raise NotImplementedError(f"cannot save a model compiled with {type(opt).__name__}")


def deserialize(config: dict) -> train.Optimizer:
    args = {k: v for k, v in config.items() if k != "name"}
    if isinstance(args.get("learning_rate"), dict):
        args["learning_rate"] = schedules.deserialize(args["learning_rate"])
    return _NAMES[config["name"]](**args)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
