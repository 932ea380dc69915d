"""A Program: the nodes to run for some outputs, in order, and when each value can be dropped.

Values are named by keys ``(id(node), output index)``.  A Program is built from target values (fetched) and
target nodes (run for their effect) and the keys that are fed; passes (``core/passes``) rewrite it into
another Program and never touch the graph it was built from.  ``core.executor.Executor`` runs it.
"""
from __future__ import annotations

import collections
from typing import Any, Iterable, Sequence

from core.graph import Node, Value, toposort

Key = tuple  # (id(node), output index)


def key(v: Value) -> Key:
    """The key a Program names value ``v`` by."""
    return (id(v.node), v.index)


def add_alias(aliases: dict, k: Key, to: Key) -> None:
    """Make ``k`` name the value ``to`` holds, in place in ``aliases``, keeping every alias one hop long (those
    that named ``k`` now name ``to``)."""
    to = aliases.get(to, to)
    for a, b in aliases.items():
        if b == k:
            aliases[a] = to
    aliases[k] = to


class Step:
    """One node as the Program runs it: the op (the node's own, or one a pass put in its place) and the keys
    of the values it reads; its outputs keep the node's keys, so nothing downstream changes."""

    __slots__ = ("node", "op", "ins")

    def __init__(self, node: Node, op: Any, ins: Sequence[Key]) -> None:
        self.node, self.op, self.ins = node, op, list(ins)

    def __repr__(self) -> str:
        return f"Step({self.op!r})"


class Program:
    """Ordered ``steps``; ``fed`` keys (given by the caller, never computed); ``fetches`` (one key per target
    value, None for a target node); ``aliases`` (keys a pass made name another value); ``release[i]``: the
    keys no step after step ``i`` reads, so the executor drops them there (fed and fetched values stay);
    ``targets``: the ids of the nodes run for their effect (a pass never drops them)."""

    def __init__(self, steps: Sequence[Step], fed: Iterable[Key], fetches: Sequence[Key | None],
                 aliases: dict | None = None, targets: Iterable[int] = ()) -> None:
        self.steps = list(steps)
        self.fed = frozenset(fed)
        self.fetches = tuple(fetches)
        self.aliases = dict(aliases or {})
        self.targets = frozenset(targets)
        last: dict = {}
        for i, step in enumerate(self.steps):
            for k in step.ins:
                last[k] = i
        keep = self.kept()
        self.release: dict[int, list] = collections.defaultdict(list)
        for k, i in last.items():
            if k not in keep and k not in self.fed:
                self.release[i].append(k)

    @classmethod
    def build(cls, targets: Sequence[Value | Node], fed: Iterable[Key]) -> "Program":
        """The nodes ``targets`` need, producers first.  A fed value cuts the graph: its producer does not run;
        a fetched value that is also fed is answered with the fed value (as TF's client does)."""
        fed = frozenset(fed)

        def deps(node: Node) -> Iterable[Node]:
            yield from (v.node for v in node.inputs if key(v) not in fed)
            yield from node.control

        fetches = [key(t) if isinstance(t, Value) else None for t in targets]
        roots = [t if isinstance(t, Node) else t.node for t, k in zip(targets, fetches) if k not in fed]
        order = toposort(roots, deps)
        targets = [id(t) for t in targets if isinstance(t, Node)]
        return cls([Step(n, n.op, [key(v) for v in n.inputs]) for n in order], fed, fetches, targets=targets)

    def rewrite(self, steps: Sequence[Step], aliases: dict | None = None) -> "Program":
        """A Program with other steps (and aliases) for the same feeds, fetches and targets: what a pass returns."""
        return Program(steps, self.fed, self.fetches, self.aliases if aliases is None else aliases, self.targets)

    def outputs(self, step: Step) -> list:
        """The keys of the values ``step`` makes."""
        return [(id(step.node), j) for j in range(len(step.node.outputs))]

    def kept(self) -> set:
        """The keys that must survive the run: the fetched values (after aliasing)."""
        return {self.resolve(k) for k in self.fetches if k is not None}

    def resolve(self, k: Key) -> Key:
        """The key that holds value ``k`` when the Program has run (a pass may have aliased it)."""
        return self.aliases.get(k, k)
