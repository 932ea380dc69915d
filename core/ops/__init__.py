"""The primitives, one module per family; ``core`` re-exports their functions."""
