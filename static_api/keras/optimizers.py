"""``tf.keras.optimizers`` with Keras' defaults and formulas, as TF1 optimizer objects over the static graph
(each computes Keras' variant of the ``core.ops.optim`` update where it differs from TF1's)."""
from __future__ import annotations

from typing import Any

from core import errors as _errors
from core.ops import optim as optim_ops
from static_api import train


def _keras(opt: train.Optimizer, update: optim_ops._Update | None = None) -> train.Optimizer:
    """A TF1 optimizer object (names, serialization) that computes Keras' variant of its update (``update``,
    where it differs from TF1's), with Keras' live rate: its train op reads ``learning_rate`` at each step."""
    if update is not None:
        opt._update_op = update
    opt._live_rate = True
    opt._tf1_variables = False
    return opt


def Adam(learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
         amsgrad: bool = False, **_: Any) -> train.AdamOptimizer:
    opt = _keras(train.AdamOptimizer(learning_rate, beta_1, beta_2, epsilon),
                 optim_ops.Adam(beta_1, beta_2, epsilon, amsgrad=amsgrad, eps_hat=True, inplace=True))
    opt.amsgrad = amsgrad
    return opt


def AdamW(learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9, beta_2: float = 0.999,
          epsilon: float = 1e-7, amsgrad: bool = False, **_: Any) -> train.AdamOptimizer:
    """Adam after a decoupled decay w -= lr * weight_decay * w, as Keras applies it before each step."""
    opt = _keras(train.AdamOptimizer(learning_rate, beta_1, beta_2, epsilon),
                 optim_ops.Adam(beta_1, beta_2, epsilon, weight_decay, decoupled=True, amsgrad=amsgrad, eps_hat=True,
                                inplace=True))
    opt.amsgrad, opt.weight_decay = amsgrad, weight_decay
    return opt


def SGD(learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **_: Any) -> train.Optimizer:
    """Keras keeps the rate inside its velocity: v = momentum * v - lr * g; w += v."""
    if momentum:
        return _keras(train.MomentumOptimizer(learning_rate, momentum, use_nesterov=nesterov),
                      optim_ops.SGD(momentum, nesterov=nesterov, lr_in_buffer=True, inplace=True))
    return _keras(train.GradientDescentOptimizer(learning_rate))


def RMSprop(learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
            centered: bool = False, **_: Any) -> train.RMSPropOptimizer:
    """TF1's formula, but the mean square starts at 0 (TF1 starts it at 1)."""
    return _keras(train.RMSPropOptimizer(learning_rate, rho, momentum, epsilon, centered=centered),
                  optim_ops.RMSprop(rho, epsilon, momentum, centered, eps_inside=True, lr_in_momentum=True,
                                    inplace=True))


def Adagrad(learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
            **_: Any) -> train.AdagradOptimizer:
    """w -= lr * g / sqrt(accum + epsilon) (TF1 has no epsilon)."""
    opt = _keras(train.AdagradOptimizer(learning_rate, initial_accumulator_value),
                 optim_ops.Adagrad(epsilon, initial_accumulator_value=initial_accumulator_value, eps_inside=True,
                                   inplace=True))
    opt.epsilon = epsilon
    return opt


def Adadelta(learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
             **_: Any) -> train.AdadeltaOptimizer:
    return _keras(train.AdadeltaOptimizer(learning_rate, rho, epsilon))


_NAMES = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta}


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
    if not isinstance(opt.learning_rate, (int, float)):
        raise NotImplementedError("cannot save a model whose learning rate is a tensor (a decay schedule)")
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
    return _NAMES[config["name"]](**args)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
