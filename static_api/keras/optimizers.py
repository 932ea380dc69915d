"""``tf.keras.optimizers`` with Keras' defaults, as TF1 optimizers over the static graph."""
from __future__ import annotations

from typing import Any

from static_api import train


def Adam(learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
         **_: Any) -> train.AdamOptimizer:
    return train.AdamOptimizer(learning_rate, beta_1, beta_2, epsilon)


def SGD(learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **_: Any) -> train.Optimizer:
    if momentum:
        return train.MomentumOptimizer(learning_rate, momentum, use_nesterov=nesterov)
    return train.GradientDescentOptimizer(learning_rate)


def RMSprop(learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
            **_: Any) -> train.RMSPropOptimizer:
    return train.RMSPropOptimizer(learning_rate, rho, momentum, epsilon)


def get(spec: Any) -> train.Optimizer:
    """A string name ('adam', 'sgd', 'rmsprop') with Keras defaults, or an optimizer object."""
    if isinstance(spec, train.Optimizer):
        return spec
    table = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}
    if not isinstance(spec, str) or spec.lower() not in table:
        raise ValueError(f"Could not interpret optimizer identifier: {spec!r} (expected one of {sorted(table)} or an "
                         "optimizer object)")
    return table[spec.lower()]()


def serialize(opt: train.Optimizer) -> dict:
    """A Keras-style name and arguments that rebuild ``opt`` (its moment slots are not kept)."""
    if not isinstance(opt.learning_rate, (int, float)):
        raise NotImplementedError("cannot save a model whose learning rate is a tensor (a decay schedule)")
    if isinstance(opt, train.AdamOptimizer):
        return {"name": "adam", "learning_rate": opt.learning_rate, "beta_1": opt.beta1, "beta_2": opt.beta2,
                "epsilon": opt.epsilon}
    if isinstance(opt, train.MomentumOptimizer):
        return {"name": "sgd", "learning_rate": opt.learning_rate, "momentum": opt.momentum,
                "nesterov": opt.use_nesterov}
    if isinstance(opt, train.GradientDescentOptimizer):
        return {"name": "sgd", "learning_rate": opt.learning_rate}
    if isinstance(opt, train.RMSPropOptimizer):
        return {"name": "rmsprop", "learning_rate": opt.learning_rate, "rho": opt.decay, "momentum": opt.momentum,
                "epsilon": opt.epsilon}
    raise NotImplementedError(f"cannot save a model compiled with {type(opt).__name__}")


def deserialize(config: dict) -> train.Optimizer:
    args = {k: v for k, v in config.items() if k != "name"}
    return {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}[config["name"]](**args)

