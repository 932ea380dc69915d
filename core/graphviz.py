"""Graphviz DOT text for a graph of nodes (a static graph, or the autograd graph of one eager step).

    >>> import numpy, core
    >>> from core.graphviz import to_dot
    >>> x = core.value(numpy.ones((2, 3)), requires_grad=True)
    >>> "Relu" in to_dot([core.relu(x).node])
    True
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Callable, Iterable

from core.graph import Node, Value, toposort


def _shape(v: Value) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in v.shape) + ")"


def _quote(text: str) -> str:
    """A DOT string; ``\\n`` sequences in ``text`` stay DOT line breaks."""
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(roots: Iterable[Node], label: Callable[[Node], str] | None = None, title: str = "dualflow") -> str:
    """DOT text for ``roots`` and everything they depend on: one box per op (name, type, output shapes),
    one ellipse per leaf input (its shape and dtype), data edges solid and control edges dashed."""
    nodes = toposort(list(roots))
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = [f"digraph {_quote(title)} {{", "  rankdir=TB;", "  node [fontname=Helvetica, fontsize=10];"]
    leaves: dict[int, str] = {}
    for n in nodes:
        head = label(n) if label else n.op.name
        outs = ", ".join(_shape(v) for v in n.outputs) or "no outputs"
        text = f"{head}\\n{outs}" if head == n.op.name else f"{head}\\n{n.op.name} {outs}"
        lines.append(f"  {ids[id(n)]} [shape=box, label={_quote(text)}];")
        for v in n.inputs:
            if v.node is None:
                if id(v) not in leaves:
                    leaves[id(v)] = f"v{len(leaves)}"
                    kind = "requires_grad " if v.requires_grad else ""
                    lines.append(f"  {leaves[id(v)]} [shape=ellipse, label={_quote(f'{kind}{_shape(v)} {v.dtype}')}];")
                src = leaves[id(v)]
            else:
                src = ids[id(v.node)]
            lines.append(f"  {src} -> {ids[id(n)]};")
        for c in n.control:
            lines.append(f"  {ids[id(c)]} -> {ids[id(n)]} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, path: str, fmt: str = "svg") -> str | None:
    """Render with Graphviz's ``dot`` when it is installed; returns the written path, else None."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot_text, text=True, check=True)
    return path
