"""Random programs of out-of-place ops, views and in-place writes, run on PyTorch's API or on NumPy.

A program is a list of steps over a pool of tensors that starts with ``Y = X * 1`` (X and W are leaves).
Each step reads pool entries by position (modulo the pool size), and either appends a new tensor (an
out-of-place result or a view) or writes into an entry in place.  ``run_torchlike`` runs it on
``eager_api`` or on real ``torch``; ``run_numpy`` runs it on NumPy arrays, whose views share memory and
see in-place writes exactly as PyTorch's do, so it gives reference values (and, by finite differences in
float64, reference gradients) without PyTorch.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

SHAPE = (3, 4)
SMOOTH = ["scale", "add_w", "tanh", "rows", "cols", "t", "flatten", "unsqueeze", "select", "narrow",
          "imul", "iadd_w", "imul_w", "ifill", "isetitem", "icopy"]
KINKED = ["irelu", "iclamp", "isetmask"]


def programs(kinds: list[str], max_steps: int = 8) -> st.SearchStrategy:
    step = st.tuples(st.sampled_from(kinds), st.integers(0, 7), st.integers(0, 7),
                     st.sampled_from([-1.5, -0.5, 0.5, 2.0]))
    return st.lists(step, min_size=1, max_size=max_steps)


def weights(shape: tuple, k: int) -> np.ndarray:
    """A fixed, position-dependent weight for pool entry k in the final loss."""
    n = int(np.prod(shape)) if shape else 1
    return np.cos(np.arange(n) * 0.7 + k).reshape(shape)


def _row_slice(shape: tuple, a: int) -> slice:
    n = shape[0]
    lo = a % n
    return slice(lo, min(n, lo + 2))


def run_torchlike(lib, x: np.ndarray, w: np.ndarray, prog: list, dtype) -> tuple[list, object, object]:
    """Run on a PyTorch-like module; returns (pool values, X.grad, W.grad) as NumPy arrays."""
    X = lib.tensor(x, dtype=dtype, requires_grad=True)
    W = lib.tensor(w, dtype=dtype, requires_grad=True)
    pool = [X * 1]
    dense = [True]      # contiguous by construction (elementwise results of strided inputs get a layout that
                        # differs between libraries, so only those are flattened with view)

    def other(t):       # a tensor of t's shape computed from W (so W gets a gradient)
        return (W * 1).reshape(-1)[:t.numel()].reshape(t.shape)

    for kind, i, j, c in prog:
        t = pool[i % len(pool)]
        d = dense[i % len(dense)]
        if kind == "scale":
            pool.append(t * c)
            dense.append(d)
        elif kind == "add_w":
            pool.append(t + other(t))
            dense.append(d)
        elif kind == "tanh":
            pool.append(t.tanh())
            dense.append(d)
        elif kind == "rows" and t.dim() >= 1:
            pool.append(t[_row_slice(tuple(t.shape), j)])
            dense.append(d)
        elif kind == "cols" and t.dim() == 2:
            pool.append(t[:, j % t.shape[1]:])
            dense.append(False)
        elif kind == "t" and t.dim() == 2:
            pool.append(t.t())
            dense.append(False)
        elif kind == "flatten" and d:
            pool.append(t.view(-1))
            dense.append(True)
        elif kind == "unsqueeze":
            pool.append(t.unsqueeze(0))
            dense.append(d)
        elif kind == "select" and t.dim() >= 1:
            pool.append(t.select(0, j % t.shape[0]))
            dense.append(d)
        elif kind == "narrow" and t.dim() >= 1 and t.shape[-1] > 1:
            pool.append(t.narrow(-1, 1, t.shape[-1] - 1))
            dense.append(False)
        elif kind == "imul":
            t.mul_(c)
        elif kind == "iadd_w":
            t.add_(other(t))
        elif kind == "imul_w":
            t.mul_(other(t))
        elif kind == "ifill":
            t.fill_(c)
        elif kind == "isetitem" and t.dim() >= 1:
            t[j % t.shape[0]] = c
        elif kind == "icopy":
            t.copy_(other(t) * c)
        elif kind == "irelu":
            t.relu_()
        elif kind == "iclamp":
            t.clamp_(min=c / 4)
        elif kind == "isetmask":
            t[t > c / 4] = c
    loss = sum((p * lib.tensor(weights(tuple(p.shape), k), dtype=dtype)).sum() for k, p in enumerate(pool))
    loss.backward()
    values = [p.detach().numpy().copy() for p in pool]
    grads = [np.zeros(SHAPE) if v.grad is None else v.grad.numpy().copy() for v in (X, W)]    # None: unused
    return values, grads[0], grads[1]


def run_numpy(x: np.ndarray, w: np.ndarray, prog: list) -> tuple[list, float]:
    """The same program on NumPy arrays (only SMOOTH steps); returns (pool values, loss)."""
    X, W = x.copy(), w.copy()
    pool = [X * 1]
    dense = [True]

    def other(t):
        return (W * 1).reshape(-1)[:t.size].reshape(t.shape)

    for kind, i, j, c in prog:
        t = pool[i % len(pool)]
        d = dense[i % len(dense)]
        if kind == "scale":
            pool.append(t * c)
            dense.append(d)
        elif kind == "add_w":
            pool.append(t + other(t))
            dense.append(d)
        elif kind == "tanh":
            pool.append(np.tanh(t))
            dense.append(d)
        elif kind == "rows" and t.ndim >= 1:
            pool.append(t[_row_slice(t.shape, j)])
            dense.append(d)
        elif kind == "cols" and t.ndim == 2:
            pool.append(t[:, j % t.shape[1]:])
            dense.append(False)
        elif kind == "t" and t.ndim == 2:
            pool.append(t.T)
            dense.append(False)
        elif kind == "flatten" and d:
            pool.append(t.reshape(-1))
            dense.append(True)
        elif kind == "unsqueeze":
            pool.append(t[None])
            dense.append(d)
        elif kind == "select" and t.ndim >= 1:
            pool.append(t[j % t.shape[0], ...])
            dense.append(d)
        elif kind == "narrow" and t.ndim >= 1 and t.shape[-1] > 1:
            pool.append(t[..., 1:])
            dense.append(False)
        elif kind == "imul":
            t *= c
        elif kind == "iadd_w":
            t += other(t)
        elif kind == "imul_w":
            t *= other(t)
        elif kind == "ifill":
            t[...] = c
        elif kind == "isetitem" and t.ndim >= 1:
            t[j % t.shape[0]] = c
        elif kind == "icopy":
            t[...] = other(t) * c
    loss = sum(float((p * weights(p.shape, k)).sum()) for k, p in enumerate(pool))
    return [p.copy() for p in pool], loss
