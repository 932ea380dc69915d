"""The dualflow app: the ``dualflow`` console script (train, compare) and the seed CNN in every frontend and peer.

It sits above both frontends; ``core`` and ``backends`` never import it.
"""
