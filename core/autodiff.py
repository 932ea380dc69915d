"""The reverse pass, shared by ``Tensor.backward`` (eager) and ``gradients`` (static).

It walks the nodes between ``outputs`` and ``inputs`` in reverse topological
order and calls each primitive's ``vjp``.  Because ``vjp`` is written with
primitives, the gradient is computed at once for eager values and becomes new
graph nodes for symbolic ones.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from core.graph import Node, Value, toposort
from core.op import is_grad_enabled
from core.ops import elementwise as ew

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
         "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
         "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
         "or if you need to access saved tensors after calling backward.")


def _key(v: Value) -> object:
    return (id(v.node), v.index) if v.node is not None else id(v)


def _check_versions(node: Node) -> None:
    saves = node.op.saves_inputs
    for i, (v, saved) in enumerate(zip(node.inputs, node.versions) if saves else ()):
        if saves is not True and i not in saves:
            continue
        if v._vc[0] != saved:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[{v.dtype} {list(v.shape)}], which is argument '{node.op.arg_names[min(i, len(node.op.arg_names) - 1)]}'"
                f" of {node.op.name}, is at version {v._vc[0]}; expected version {saved} instead.")
    for v in node.outputs if node.op.saves_outputs else ():
        if v._vc[0] != node.out_versions.get(v.index, 0):
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[{v.dtype} {list(v.shape)}], which is output {v.index} of {node.op.name}, is at version "
                f"{v._vc[0]}; expected version {node.out_versions.get(v.index, 0)} instead.")


def gradients(outputs: Sequence[Value], inputs: Sequence[Value], grad_outputs: Sequence[Value],
              retain_graph: bool = True, order: list[Node] | None = None,
              on_ready: Callable[[int, Value | None], None] | None = None) -> list[Value | None]:
    """d(sum_i <outputs_i, grad_outputs_i>)/d(inputs); None where an input is not connected.

    With ``retain_graph=False`` the visited nodes are marked freed, and a later
    pass through them raises as PyTorch does.  ``order`` may pass in the outputs'
    ``toposort`` when the caller has it already.  ``on_ready(i, grad)`` is called
    once for each input, as soon as no node left in the pass can add to its
    gradient (data-parallel training starts its all-reduce then, during the pass).
    A node's ``hooks`` see the gradient w.r.t. each of its outputs once it is final, before it flows on.
    """
    grads: dict[object, Value] = {}
    for y, g in zip(outputs, grad_outputs):
        k = _key(y)
        grads[k] = ew.add(grads[k], g) if k in grads else g
    wanted = {_key(x) for x in inputs}
    if order is None:
        order = toposort([y.node for y in outputs if y.node is not None])

    # An input needs a gradient when it is wanted or comes from a node with such an input (and is a float);
    # a node matters when any of its inputs needs one.
    needs_of: dict[int, list[bool]] = {}
    for node in order:
        needs = [(_key(v) in wanted or (v.node is not None and id(v.node) in needs_of)) and v.dtype.kind == "f"
                 for v in node.inputs]
        if any(needs):
            needs_of[id(node)] = needs

    # For on_ready: how many nodes still to visit may add to each wanted gradient.
    pending: dict[object, int] = {}
    positions: dict[object, list[int]] = {}
    if on_ready is not None:
        for i, x in enumerate(inputs):
            positions.setdefault(_key(x), []).append(i)
        for node in order:
            if id(node) in needs_of and node.op.differentiable:
                for v, need in zip(node.inputs, needs_of[id(node)]):
                    # Leaves only: a node's output is final when the node itself comes up (after its hooks).
                    if need and v.node is None and _key(v) in wanted:
                        pending[_key(v)] = pending.get(_key(v), 0) + 1

    for node in reversed(order):
        if node.hooks:
            for i, hooks in list(node.hooks.items()):
                k = (id(node), i)
                if grads.get(k) is not None:
                    grads[k] = run_hooks(hooks.values(), grads[k])
        for i in range(len(node.outputs)) if positions else ():
            for j in positions.pop((id(node), i), ()):
                on_ready(j, grads.get((id(node), i)))
        needs = needs_of.get(id(node))
        if needs is None or not node.op.differentiable:
            continue
        gys = [grads.get((id(node), i)) for i in range(len(node.outputs))]
        if any(g is not None for g in gys):
            if node.freed:
                raise RuntimeError(FREED)
            _check_versions(node)
            gxs = _vjp(node, gys, needs)
            for v, g, need in zip(node.inputs, gxs, needs):
                if g is None or not need:
                    continue
                k = _key(v)
                grads[k] = ew.add(grads[k], g) if k in grads else g
            if not retain_graph:
                _free(node)
        for v, need in zip(node.inputs, needs) if pending else ():
            k = _key(v)
            if need and k in pending:
                pending[k] -= 1
                if pending[k] == 0:
                    del pending[k]
                    for i in positions.pop(k):
                        on_ready(i, grads.get(k))
    for k, idx in positions.items():       # inputs no visited node feeds: seeds, or unconnected
        for i in idx:
            on_ready(i, grads.get(k))
    return [grads.get(_key(x)) for x in inputs]


def run_hooks(hooks: Iterable[Callable[[Value], Value | None]], g: Value) -> Value:
    """``g`` passed through gradient hooks in turn; one returning None leaves it as it is."""
    for hook in list(hooks):        # a hook may remove itself
        out = hook(g)
        if out is not None:
            g = out
    return g


def _vjp(node: Node, gys: list[Value | None], needs: list[bool]) -> Sequence[Value | None]:
    """``node.op.vjp``, made differentiable itself when the pass records a graph (``create_graph``).

    An eager node keeps its outputs as detached handles (no ``node``, so an output does not point back at
    itself); a rule that reads them (exp, tanh, softmax, ...) would then treat y as a constant, dropping
    dy/dx from the second derivative.  While recording, the rule sees each float output as the node's own
    tracked value instead, so the gradient graph leads back through this node.  Static nodes' outputs are
    graph values already.
    """
    if not (node.op.saves_outputs and is_grad_enabled()) or all(o.node is not None for o in node.outputs):
        return node.op.vjp(node, gys, needs)
    handles = node.outputs
    node.outputs = [Value._wrap(o.array, o.shape, o.dtype, o.device, node, o.index, True, o._vc)
                    if o.dtype.kind == "f" else o for o in handles]
    try:
        return node.op.vjp(node, gys, needs)
    finally:        # restore the handles: a node holding its own outputs would be a reference cycle
        node.outputs = handles


def _free(node: Node) -> None:
    """Drop the node's hold on its saved arrays as soon as its gradient is taken (PyTorch frees saved tensors
    the same way), keeping the edges: a second pass raises, and the memory returns during this one.  An
    eager node owns its input copies and output handles (``core.op.freeze``); a leaf that requires grad is
    the user's tensor and keeps its data."""
    node.freed = True
    for v in node.inputs:
        if v.node is not None or not v.requires_grad:
            v.array = None
    for v in node.outputs:
        v.array = None
