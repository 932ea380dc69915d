"""Random TF1 training graphs, optimized or not: dense layers with random activations, a random loss, every
optimizer, a step counter and extra variable writes ordered by control dependencies.  Trained for a few
steps on new batches, the optimized session (passes, memory plan, packed optimizer updates, bound kernels)
gives the unoptimized one's losses, fetched intermediates and final variables bit for bit."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import static_api as tf
from tests.helpers import assert_same_bits

ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.nn.tanh, "sigmoid": tf.nn.sigmoid, "none": lambda h: h,
               "leaky": lambda h: tf.nn.leaky_relu(h, 0.2), "square": lambda h: h * h}
LOSSES = ("mse", "softmax", "sparse", "sigmoid")
OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.05, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "adadelta": lambda: tf.train.AdadeltaOptimizer(1.0),
}
LAYER = st.tuples(st.sampled_from(sorted(ACTIVATIONS)), st.integers(1, 6), st.booleans())


def train(layers: list, loss_kind: str, optimizer: str, extra: bool, dtype, optimize: bool, seed: int) -> list:
    """Build the graph, train 4 steps, return every fetched value and the variables' final values."""
    tf.reset_default_graph()
    rng = np.random.default_rng(seed)
    x = tf.placeholder(dtype, (None, 3), name="x")
    classes = 3
    y = tf.placeholder(np.int64 if loss_kind == "sparse" else dtype,
                       (None,) if loss_kind == "sparse" else (None, classes), name="y")
    h, width, made = x, 3, []
    for n, (act, units, bias) in enumerate(layers + [("none", classes, True)]):
        w = tf.Variable(rng.normal(size=(width, units)).astype(dtype) * 0.5, name=f"w{n}")
        h = tf.matmul(h, w)
        if bias:
            h = h + tf.Variable(rng.normal(size=units).astype(dtype) * 0.1, name=f"b{n}")
        h = ACTIVATIONS[act](h)
        made.append(h)
        width = units
    if loss_kind == "mse":
        loss = tf.reduce_mean(tf.square(h - y))
    elif loss_kind == "softmax":
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
    elif loss_kind == "sparse":
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
    else:
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=h))
    step = tf.Variable(0, dtype=np.int64, name="step")
    total = tf.Variable(np.zeros((), dtype), name="total")
    train_op = OPTIMIZERS[optimizer]().minimize(loss)
    fetches = [loss, made[0]]
    if extra:       # writes ordered after the update: the step count, and a running sum of the loss
        with tf.control_dependencies([train_op]):
            train_op = tf.group(tf.assign_add(step, 1), tf.assign_add(total, loss))
    config = None if optimize else tf.ConfigProto(graph_options=tf.GraphOptions(
        optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0)))
    out = []
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(4):
            xb = rng.normal(size=(5, 3)).astype(dtype)
            if loss_kind == "sparse":
                yb = rng.integers(0, classes, 5)
            elif loss_kind == "softmax":
                yb = np.eye(classes, dtype=dtype)[rng.integers(0, classes, 5)]
            else:
                yb = rng.random((5, classes)).astype(dtype)
            out += sess.run(fetches + [train_op], {x: xb, y: yb})[:-1]
        out += sess.run(tf.global_variables())
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LAYER, max_size=3), st.sampled_from(LOSSES), st.sampled_from(sorted(OPTIMIZERS)), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_random_training_graphs_train_the_same_bits_optimized_or_not(layers, loss_kind, optimizer, extra, dtype,
                                                                     seed):
    with np.errstate(all="ignore"):
        want = train(layers, loss_kind, optimizer, extra, dtype, False, seed)
        got = train(layers, loss_kind, optimizer, extra, dtype, True, seed)
    assert_same_bits([np.asarray(v) for v in got], [np.asarray(v) for v in want])


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_each_optimizer_trains_a_two_layer_graph_the_same_optimized_or_not(optimizer):
    """Every optimizer at least once, whatever the draw above."""
    layers = [("relu", 4, True), ("tanh", 3, False)]
    want = train(layers, "sparse", optimizer, True, np.float32, False, 1)
    got = train(layers, "sparse", optimizer, True, np.float32, True, 1)
    assert_same_bits([np.asarray(v) for v in got], [np.asarray(v) for v in want])
