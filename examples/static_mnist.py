"""Train the seed CNN on MNIST with the static (TF1 Graph/Session) frontend, NHWC as in TensorFlow.

    python examples/static_mnist.py --data-dir ../shared/data/mnist
"""
import argparse
import os
import sys

import numpy as np

import static_api as tf
from core import datasets, progress


def seed_cnn(x):
    init = tf.glorot_uniform_initializer(seed=0)
    w1 = tf.Variable(init((3, 3, 1, 32)), name="conv1/kernel")
    b1 = tf.Variable(tf.zeros((32,)), name="conv1/bias")
    w2 = tf.Variable(init((3, 3, 32, 64)), name="conv2/kernel")
    b2 = tf.Variable(tf.zeros((64,)), name="conv2/bias")
    w3 = tf.Variable(init((7 * 7 * 64, 10)), name="dense/kernel")
    b3 = tf.Variable(tf.zeros((10,)), name="dense/bias")
    h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, 1, "SAME"), b1)), 2, 2, "VALID")
    h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, w2, 1, "SAME"), b2)), 2, 2, "VALID")
    return tf.matmul(tf.reshape(h, (-1, 7 * 7 * 64)), w3) + b3


def main(train, test, epochs=3, batch_size=64, lr=1e-3, quiet=False):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (None, 28, 28, 1), name="images")
        y = tf.placeholder(tf.int64, (None,), name="labels")
        logits = seed_cnn(x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train_op = tf.train.AdamOptimizer(lr).minimize(loss)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        xs, xt = train.images.transpose(0, 2, 3, 1), test.images.transpose(0, 2, 3, 1)
        rng = np.random.default_rng(0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for epoch in range(epochs):
                order = rng.permutation(len(xs))
                bar = progress.Progress(f"epoch {epoch + 1}", -(-len(order) // batch_size), enabled=not quiet,
                                        file=sys.stdout, unit="batch", last_line=False)
                for i in range(0, len(order), batch_size):
                    idx = order[i:i + batch_size]
                    l, _ = sess.run([loss, train_op], {x: xs[idx], y: train.labels[idx]})
                    bar.update(i // batch_size + 1, float(l))
                bar.close()
                hits = sum(sess.run(correct, {x: xt[i:i + 500], y: test.labels[i:i + 500]})
                           for i in range(0, len(xt), 500))
                acc = hits / len(xt)
                if not quiet:
                    print(f"epoch {epoch + 1}: last loss {l:.4f}, held-out accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", help="folder with MNIST IDX files (default: $DUALFLOW_DATA)")
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args()
    if not (args.data_dir or os.environ.get("DUALFLOW_DATA")):
        p.error("give --data-dir or set DUALFLOW_DATA to a folder with MNIST IDX files")
    try:
        split = datasets.load_split(args.data_dir)
    except datasets.DatasetError as exc:
        p.error(str(exc))
    print(f"train: {split.train_source}; held-out: {split.heldout_source}")
    tr, te = split.train, split.heldout
    main(tr, te, args.epochs)
