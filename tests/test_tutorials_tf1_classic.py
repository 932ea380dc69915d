"""A classic TF1 CNN program, written once as for TensorFlow 1 and run with only the import changed: name scopes
read back with ``get_tensor_by_name``, per-image augmentation with ``tf.map_fn``, an exponential moving average
of the weights updated after each train step, evaluation of the averages restored through
``Saver(ema.variables_to_restore())`` into a fresh graph, and a confusion matrix.  Checked against a NumPy
replay of its pieces here and against the same program on TensorFlow under the ``reference`` marker."""
import numpy as np
import pytest

import static_api as tf

SIDE, CLASSES = 8, 10


def _digits():
    """sklearn's bundled 8x8 digits, scaled to [0, 1]: 320 for training, 80 held out."""
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return x[:320], d.target[:320].astype(np.int64), x[320:400], d.target[320:400].astype(np.int64)


def tf1_classic_program(tf1, workdir, steps=30, ref_kwargs=None):
    """The program; ``tf1`` is the only thing that changes (``ref_kwargs``: what TensorFlow 2's compat.v1
    needs to make TF1's reference variables).  Returns its losses, tensor names, the averaged weights' held-out
    logits and confusion matrix, and the shadow names."""
    kw = ref_kwargs or {}
    x_train, y_train, x_test, y_test = _digits()
    rng = np.random.default_rng(3)
    init = {"conv": rng.normal(0, 0.3, (3, 3, 1, 8)).astype(np.float32),
            "dense": rng.normal(0, 0.1, (4 * 4 * 8, CLASSES)).astype(np.float32)}

    def model(images):
        with tf1.variable_scope("conv1", **kw):
            w = tf1.get_variable("w", initializer=init["conv"])
            b = tf1.get_variable("b", [8], initializer=tf1.zeros_initializer())
            h = tf1.nn.relu(tf1.nn.conv2d(images, w, [1, 1, 1, 1], "SAME") + b)
            h = tf1.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        with tf1.variable_scope("logits", **kw):
            w = tf1.get_variable("w", initializer=init["dense"])
            b = tf1.get_variable("b", [CLASSES], initializer=tf1.zeros_initializer())
            return tf1.matmul(tf1.reshape(h, [-1, 4 * 4 * 8]), w) + b

    train_graph = tf1.Graph()
    with train_graph.as_default():
        images = tf1.placeholder(tf1.float32, [None, SIDE, SIDE, 1], name="images")
        labels = tf1.placeholder(tf1.int64, [None], name="labels")
        flip = tf1.placeholder(tf1.bool, [], name="flip")
        with tf1.name_scope("augment"):
            augmented = tf1.map_fn(lambda img: tf1.cond(flip, lambda: tf1.image.flip_left_right(img),
                                                        lambda: img), images)
        logits = model(augmented)
        with tf1.name_scope("loss"):
            loss = tf1.reduce_mean(tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        with tf1.name_scope("accuracy"):
            correct = tf1.equal(tf1.argmax(logits, 1), labels)
            tf1.reduce_mean(tf1.cast(correct, tf1.float32))
        global_step = tf1.train.get_or_create_global_step()
        train = tf1.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=global_step)
        ema = tf1.train.ExponentialMovingAverage(0.9, num_updates=global_step)
        with tf1.control_dependencies([train]):
            train_and_average = ema.apply(tf1.trainable_variables())
        saver = tf1.train.Saver()
        names = [loss.name, ema.average(tf1.trainable_variables()[0]).name,
                 train_graph.get_tensor_by_name("accuracy/Mean:0").name]
        losses = []
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            for step in range(steps):
                batch = slice(step % 10 * 32, (step % 10 + 1) * 32)
                losses.append(float(sess.run([loss, train_and_average], {images: x_train[batch],
                                                                         labels: y_train[batch],
                                                                         flip: step % 2 == 1})[0]))
            accuracy = sess.run("accuracy/Mean:0", {images: x_test, labels: y_test, flip: False})
            path = saver.save(sess, f"{workdir}/model.ckpt", global_step=global_step)
            shadows = sorted(ema.variables_to_restore())

    eval_graph = tf1.Graph()
    with eval_graph.as_default():
        images = tf1.placeholder(tf1.float32, [None, SIDE, SIDE, 1])
        logits = model(images)
        ema = tf1.train.ExponentialMovingAverage(0.9)
        predictions = tf1.argmax(logits, 1)
        confusion = tf1.confusion_matrix(y_test, predictions, num_classes=CLASSES)
        with tf1.Session() as sess:
            tf1.train.Saver(ema.variables_to_restore()).restore(sess, path)
            averaged_logits, matrix = sess.run([logits, confusion], {images: x_test})
    return {"losses": losses, "names": names, "accuracy": float(accuracy), "logits": averaged_logits,
            "confusion": matrix, "shadows": shadows}


def test_tf1_classic_program_learns_and_evaluates_its_averages(tmp_path):
    got = tf1_classic_program(tf, str(tmp_path))
    assert np.mean(got["losses"][-5:]) < 0.5 * np.mean(got["losses"][:5])
    assert got["names"] == ["loss/Mean:0", "conv1/w/ExponentialMovingAverage:0", "accuracy/Mean:0"]
    assert "conv1/w/ExponentialMovingAverage" in got["shadows"] and "global_step" in got["shadows"]
    # the confusion matrix counts the averaged model's (label, prediction) pairs
    _, _, _, y_test = _digits()
    want = np.zeros((CLASSES, CLASSES), np.int64)
    for label, pred in zip(y_test, got["logits"].argmax(1)):
        want[label, pred] += 1
    np.testing.assert_array_equal(got["confusion"], want)
    assert np.trace(got["confusion"]) / len(y_test) > 0.5


@pytest.mark.reference
def test_tf1_classic_program_matches_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow").compat.v1
    ours = tf1_classic_program(tf, str(tmp_path / "ours"))
    # TF1's control flow, as a TF1 program runs (disable_v2_behavior sets it; TF 2's If cannot initialize an
    # average of a reference variable), for this test only
    was = real.control_flow_v2_enabled()
    real.disable_control_flow_v2()
    try:
        theirs = tf1_classic_program(real, str(tmp_path / "tf"), ref_kwargs={"use_resource": False})
    finally:
        if was:
            real.enable_control_flow_v2()
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-6)
    assert ours["names"] == theirs["names"] and ours["shadows"] == theirs["shadows"]
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"], abs=1 / 80)
    np.testing.assert_allclose(ours["logits"], theirs["logits"], rtol=1e-3, atol=1e-4)
