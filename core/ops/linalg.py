"""Matrix product, 2-D and batched (leading dims broadcast), with optional transposes."""
from __future__ import annotations

from core.errors import ShapeError
from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import shape as sh


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


class Einsum(Op):
    """``numpy.einsum`` of explicit subscripts (``"ij,jk->ik"``: letters only, each at most once per operand, the
    output given), on operands of one dtype.  The gradient for an operand is the einsum of the output's
    gradient with the other operands onto that operand's letters, broadcast along any letter it alone sums
    out."""

    name = "Einsum"

    def __init__(self, spec: str) -> None:
        spec = spec.replace(" ", "")
        if "->" not in spec or "." in spec:
            raise NotImplementedError(f"{self.name}: only explicit subscripts with '->' and no '...' are implemented "
                                      f"in dualflow, got {spec!r}")
        ins, out = spec.split("->")
        self.ins, self.out = ins.split(","), out
        for term in self.ins + [out]:
            if not term.isalpha() and term:
                raise ValueError(f"{self.name}: subscripts must be letters, got {spec!r}")
            if len(set(term)) != len(term):
                raise NotImplementedError(f"{self.name}: a letter repeated within one operand (a diagonal) is not "
                                          f"implemented in dualflow, got {spec!r}")
        missing = set(out) - set("".join(self.ins))
        if missing:
            raise ValueError(f"{self.name}: output subscript {sorted(missing)[0]!r} appears in no operand ({spec!r})")
        self.spec = spec

    @property
    def arg_names(self) -> tuple[str, ...]:       # type: ignore[override]
        return tuple(f"operand{i}" for i in range(len(self.ins)))

    def infer(self, *xs: Value) -> list:
        if len(xs) != len(self.ins):
            raise ValueError(f"{self.name}: {self.spec!r} names {len(self.ins)} operands, got {len(xs)}")
        self.require_same_dtype(*xs)
        sizes: dict = {}
        for i, (term, x) in enumerate(zip(self.ins, xs)):
            if len(term) != len(x.shape):
                raise self.shape_error(self.arg_names[i], f"{len(term)} dimensions for {term!r}", x.shape)
            for letter, n in zip(term, x.shape):
                if n is not None and sizes.get(letter) not in (None, n):
                    raise ShapeError(f"{self.name}: subscript {letter!r} has size {n} in {self.arg_names[i]} but "
                                     f"{sizes[letter]} elsewhere ({self.spec!r})")
                if n is not None:
                    sizes[letter] = n
        return [(tuple(sizes.get(letter) for letter in self.out), xs[0].dtype)]

    def forward(self, be, *xs):
        return be.xp.asarray(be.xp.einsum(self.spec, *xs, optimize=len(xs) > 2))

    def vjp(self, node, grads, needs):
        g = grads[0]
        out = []
        for i, term in enumerate(self.ins):
            if not needs[i]:
                out.append(None)
                continue
            others = [(t, x) for j, (t, x) in enumerate(zip(self.ins, node.inputs)) if j != i]
            seen = set(self.out).union(*[set(t) for t, _ in others])
            kept = "".join(letter for letter in term if letter in seen)
            spec = ",".join([self.out] + [t for t, _ in others]) + "->" + kept
            gi = apply(Einsum(spec), g, *[x for _, x in others])
            if kept != term:     # letters only this operand had were summed out: every element gets the sum
                gi = reshape_like_broadcast(gi, term, kept, node.inputs[i])
            out.append(gi)
        return tuple(out)


def reshape_like_broadcast(g: Value, term: str, kept: str, like: Value) -> Value:
    """``g`` over the letters ``kept`` (a subsequence of ``term``) broadcast to ``like`` over ``term``, each
    missing letter a new axis."""
    missing = [a for a, letter in enumerate(term) if letter not in kept]
    return ew.broadcast_like(sh.expand_dims(g, missing), like)


def einsum(spec: str, *xs: Value) -> Value:
    return apply(Einsum(spec), *xs)
