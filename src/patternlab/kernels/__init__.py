"""Pure numba kernels: arrays and scalars in, arrays out; nothing from Dask, zarr or Redis.

``stats``           per-window mean, spread, finiteness, constancy and the recurrence terms
``matrix_profile``  the tiled exact matrix profile in correlation space
``exact``           direct float64 distances: final neighbour resolution, distance profiles
``topk``            top-k motifs and discords from a profile
``search``          every non-overlapping occurrence of a query in a distance profile
``streaming``       the exact profile of a stream, one new window at a time (with egress)
``anytime``         whole diagonals in any order, measured exactly where they can matter
"""
