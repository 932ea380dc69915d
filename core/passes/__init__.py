"""Rewrites of a Program, each a function Program -> Program that leaves the graph (and the input Program) as
they were."""
