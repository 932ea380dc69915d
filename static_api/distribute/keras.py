"""``horovod.tensorflow.keras``'s names for dualflow's Keras: ``import static_api.distribute.keras as hvd``.

Keras optimizers here are ``tf.train`` optimizer objects, so one ``DistributedOptimizer`` serves both APIs.
"""
from static_api.distribute import (Average, DistributedOptimizer, Sum, allreduce, broadcast,  # noqa: F401
                                   broadcast_global_variables, callbacks, init, is_initialized, local_rank,
                                   local_size, rank, shutdown, size)
