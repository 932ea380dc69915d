"""Run with ``mpiexec -n 2``: rank 1 fails inside ``Session.run`` while rank 0 waits in the graph's AllReduce;
the job must end."""
import numpy

import static_api as tf
import static_api.distribute as hvd

hvd.init()
x = tf.placeholder(tf.float32, (3,))
total = hvd.allreduce(x)
with tf.Session() as sess:
    # rank 1 feeds a wrong shape: the session refuses it (ValueError) before the collective
    value = numpy.ones(3 if hvd.rank() == 0 else 4, numpy.float32)
    sess.run(total, {x: value})
print("rank 0 was never released", flush=True)
