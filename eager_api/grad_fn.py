"""``Tensor.grad_fn``: the nodes of eager autograd as PyTorch shows them.

``t.grad_fn`` is a small object over the core node (the node itself is untouched) whose class is named as
PyTorch names that node ('MulBackward0', 'SumBackward1', 'AddmmBackward0'): a table from dualflow's primitive
names, some choosing by the primitive's attributes or its producer, falling back to ``f"{name}Backward0"``.
Where a PyTorch function is a composition here, its ``grad_fn`` is named after the last primitive
(``F.mse_loss`` gives 'MeanBackward0' where PyTorch says 'MseLossBackward0').  The objects are cached per node
while anything holds one, so ``t.grad_fn is t.grad_fn``, as in PyTorch; nothing is made until it is asked for.
"""
from __future__ import annotations

import numbers
import weakref
from typing import Any, Callable

from core.graph import Node, Value


def _producer(v: Value) -> str | None:
    return None if v.node is None else v.node.op.name


def _reduction(whole: str, over_dims: str) -> Callable[[Node], str]:
    # PyTorch's overloads: sum() is SumBackward0, sum(dim) SumBackward1; max() is MaxBackward1, amax(dim) AmaxBackward0.
    return lambda node: whole if node.op.axes is None else over_dims


def _add(node: Node) -> str:
    # F.linear is a MatMul with a transposed weight (nothing else makes one) plus the bias: PyTorch's addmm.
    producer = node.inputs[0].node
    linear = producer is not None and producer.op.name == "MatMul" and producer.op.transpose_b
    return "AddmmBackward0" if linear else "AddBackward0"


def _matmul(node: Node) -> str:
    ndims = tuple(v.ndim for v in node.inputs)
    return {(2, 2): "MmBackward0", (3, 3): "BmmBackward0"}.get(ndims, "MatMulBackward0")


def _transpose(node: Node) -> str:
    moved = sum(i != p for i, p in enumerate(node.op.perm))
    return "TransposeBackward0" if moved == 2 else "PermuteBackward0"


def _index(node: Node) -> str:
    """PyTorch applies an index part by part, so the last part that does anything names the node."""
    parts = node.op.index if isinstance(node.op.index, tuple) else (node.op.index,)
    if not node.op.is_view:         # an integer-array or boolean index
        return "IndexBackward0"
    for part in reversed(parts):
        if part is None:
            return "UnsqueezeBackward0"
        if isinstance(part, numbers.Integral):
            return "SelectBackward0"
        if isinstance(part, slice) and part != slice(None):
            return "SliceBackward0"
    return "SliceBackward0"


def _bias_add(node: Node) -> str:
    # PyTorch's convolution adds its bias itself.
    return "ConvolutionBackward0" if _producer(node.inputs[0]) == "Conv2D" else "BiasAddBackward0"


# dualflow's primitive name -> PyTorch's node name (or a function of the node choosing it).
_NAMES: dict[str, str | Callable[[Node], str]] = {
    "Add": _add, "AddScalar": "AddBackward0", "MulScalar": "MulBackward0", "RealDiv": "DivBackward0",
    "DivScalar": "DivBackward0", "RSubScalar": "RsubBackward1", "RDivScalar": "ReciprocalBackward0",
    "PowScalar": "PowBackward0", "Pow": "PowBackward1", "Log1p": "Log1PBackward0", "LogAddExp": "LogaddexpBackward0",
    "Sum": _reduction("SumBackward0", "SumBackward1"), "Mean": _reduction("MeanBackward0", "MeanBackward1"),
    "Max": _reduction("MaxBackward1", "AmaxBackward0"), "Min": _reduction("MinBackward1", "AminBackward0"),
    "NormSqrt": "LinalgVectorNormBackward0", "MatMul": _matmul, "BiasAdd": _bias_add,
    "Conv2D": "ConvolutionBackward0", "Conv2DTranspose": "ConvolutionBackward0",
    "MaxPool": "MaxPool2DWithIndicesBackward0", "AvgPool": "AvgPool2DBackward0",
    "SparseSoftmaxCrossEntropyWithLogits": "NllLossBackward0", "NLLLoss": "NllLossBackward0",
    "Select": "WhereBackward0", "Cast": "ToCopyBackward0", "ToDevice": "ToCopyBackward0", "Copy": "CloneBackward0",
    "Reshape": "ViewBackward0", "Transpose": _transpose, "BroadcastTo": "ExpandBackward0",
    "ExpandDims": "UnsqueezeBackward0", "Squeeze": "SqueezeBackward1", "ConcatV2": "CatBackward0",
    "StridedSlice": _index, "GatherAlongAxis": "GatherBackward0", "PadV2": "ConstantPadNdBackward0",
    "CopySlices": "CopySlices", "BackwardHookFunction": "BackwardHookFunctionBackward",
    "MatrixInverse": "LinalgInvExBackward0", "MatrixDeterminant": "LinalgDetBackward0",
    "LogMatrixDeterminant": "LinalgSlogdetBackward0", "MatrixSolve": "LinalgSolveExBackward0",
    "Cholesky": "LinalgCholeskyExBackward0", "MatrixTriangularSolve": "LinalgSolveTriangularBackward0",
}


# The nodes PyTorch writes by hand in C++ give their qualified name from name(), the generated ones their class's.
_QUALIFIED = {"CopySlices": "torch::autograd::CopySlices", "AccumulateGrad": "torch::autograd::AccumulateGrad"}


def name_of(node: Node) -> str:
    """PyTorch's name for ``node`` ('MulBackward0')."""
    name = _NAMES.get(node.op.name)
    if name is None:
        return f"{node.op.name}Backward0"
    return name if isinstance(name, str) else name(node)


class GradFn:
    """A node of the autograd graph, as ``torch.autograd.graph.Node``: ``name()``, ``next_functions``."""

    __slots__ = ("_node", "__weakref__")

    def __init__(self, node: Node) -> None:
        self._node = node

    def name(self) -> str:
        return _QUALIFIED.get(type(self).__name__, type(self).__name__)

    @property
    def next_functions(self) -> tuple:
        """One ``(function, output index)`` per input: its maker's ``grad_fn``, a leaf's ``AccumulateGrad``, or
        ``(None, 0)`` for an input without gradient."""
        return tuple((of(v.node), v.index) if v.node is not None else
                     (of(v), 0) if v.requires_grad else (None, 0) for v in self._node.inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


class AccumulateGrad(GradFn):
    """Where a leaf's gradient goes: ``variable`` is the leaf."""

    __slots__ = ()

    @property
    def variable(self) -> Value:
        return self._node

    @property
    def next_functions(self) -> tuple:
        return ()


_classes: dict[str, type] = {}
_made: "weakref.WeakValueDictionary[int, GradFn]" = weakref.WeakValueDictionary()


def of(node_or_leaf: Node | Value) -> GradFn:
    """The ``grad_fn`` object of a node (or the ``AccumulateGrad`` of a leaf), the same one while it is held.
    Keyed by ``id``: each object holds what it stands for, so the id cannot be reused while the entry lives."""
    made = _made.get(id(node_or_leaf))
    if made is None:
        if isinstance(node_or_leaf, Node):
            name = name_of(node_or_leaf)
            cls = _classes.get(name)
            if cls is None:
                cls = _classes[name] = type(name, (GradFn,), {"__slots__": ()})
        else:
            cls = AccumulateGrad
        made = _made[id(node_or_leaf)] = cls(node_or_leaf)
    return made
