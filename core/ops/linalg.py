"""Matrix product, 2-D and batched (leading dims broadcast), with optional transposes."""
from __future__ import annotations

from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew


class MatMul(Op):
    name = "MatMul"
    arg_names = ("a", "b")

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)

    def infer(self, a: Value, b: Value) -> list:
        if a.dtype.kind not in "iuf":
            raise self.dtype_error("a", "a numeric type", a.dtype)
        self.require_same_dtype(a, b)
        for name, v in (("a", a), ("b", b)):
            if len(v.shape) < 2:
                raise self.shape_error(name, "at least 2 dimensions", v.shape)
        m, ka = (a.shape[-1], a.shape[-2]) if self.transpose_a else a.shape[-2:]
        kb, n = (b.shape[-1], b.shape[-2]) if self.transpose_b else b.shape[-2:]
        if ka is not None and kb is not None and ka != kb:
            raise ew.ShapeError(f"{self.name}: shapes cannot be multiplied: argument 'a' {tuple(a.shape)} "
                                f"has {ka} columns but argument 'b' {tuple(b.shape)} has {kb} rows"
                                + (" (after transpose)" if self.transpose_a or self.transpose_b else ""))
        batch = ew.broadcast_shapes(self, a.shape[:-2], b.shape[:-2], self.arg_names)
        return [(batch + (m, n), a.dtype)]

    def forward(self, be, a, b):
        if self.transpose_a:
            a = a.swapaxes(-1, -2)
        if self.transpose_b:
            b = b.swapaxes(-1, -2)
        return be.matmul(a, b)

    def vjp(self, node, grads, needs):
        a, b = node.inputs
        g = grads[0]
        ta, tb = self.transpose_a, self.transpose_b
        ga = gb = None
        if needs[0]:
            ga = {(False, False): lambda: matmul(g, b, False, True), (False, True): lambda: matmul(g, b),
                  (True, False): lambda: matmul(b, g, False, True),
                  (True, True): lambda: matmul(b, g, True, True)}[ta, tb]()
        if needs[1]:
            gb = {(False, False): lambda: matmul(a, g, True, False), (False, True): lambda: matmul(g, a, True, False),
                  (True, False): lambda: matmul(a, g), (True, True): lambda: matmul(g, a, True, True)}[ta, tb]()
        return ew.sum_to_like(ga, a), ew.sum_to_like(gb, b)


def matmul(a: Value, b: Value, transpose_a: bool = False, transpose_b: bool = False) -> Value:
    return apply(MatMul(transpose_a, transpose_b), a, b)
