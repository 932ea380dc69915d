"""More tutorial-shaped programs, each written once as for the real library and run with only the import changed:
a PyTorch text classifier (device boilerplate, the Tensor protocol, in-place twins, GELU, an explicit L1
penalty), a Keras text model (Embedding, regularizers, Adadelta, the TensorBoard callback, ``keras.backend``) and
two TF1 programs (flags/app.run/logging/gfile/config protos/summaries with run metadata; embedding lookup,
moments, batch normalization, clipping, assignments, top-k).  Every one is checked against an independent
reference: a float64 NumPy replay or hand values here, and the same program on the real library (from the same
initial weights, on the same batches) under the ``reference`` marker."""
import importlib
import os

import numpy as np
import pytest

import eager_api
import static_api as tf
from tests.helpers import read_scalars

VOCAB, LENGTH = 12, 6


def _sentences(n=96, seed=0):
    """Token ids (0 is padding at the end): label 1 when token 3 occurs more often than token 4."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, (n, LENGTH))
    lengths = rng.integers(3, LENGTH + 1, n)
    ids[np.arange(LENGTH) >= lengths[:, None]] = 0
    labels = ((ids == 3).sum(1) > (ids == 4).sum(1)).astype(np.int64)
    return ids, labels


# ----- PyTorch: a bag-of-embeddings text classifier --------------------------------------------------------
def pytorch_text_program(torch, weights, steps=40):
    """As a PyTorch tutorial writes it; ``torch`` is the only thing that changes.  Returns the per-step losses,
    the L1 penalty's share of the last loss and a few protocol results."""
    nn, F = torch.nn, torch.nn.functional
    cudnn = importlib.import_module(torch.__name__ + ".backends.cudnn")      # import torch.backends.cudnn as cudnn
    cudnn.benchmark = True
    device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")

    class BagOfEmbeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, 8, padding_idx=0)
            self.hidden = nn.Linear(8, 16)
            self.act = nn.GELU()
            self.relu = nn.ReLU(inplace=True)
            self.out = nn.Linear(16, 2)

        def forward(self, tokens):
            pad = (tokens == 0).unsqueeze(-1)
            vectors = self.embedding(tokens).masked_fill(pad, 0.0)
            counts = (~pad).sum(1).type(torch.FloatTensor)       # a legacy .type() spelling from old tutorials
            mean = vectors.sum(1) / counts
            return self.out(self.relu(self.act(self.hidden(mean))))

    model = BagOfEmbeddings()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    model = nn.DataParallel(model).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    ids, labels = _sentences()
    tokens, targets = torch.LongTensor(ids.tolist()), torch.LongTensor(labels.tolist())
    losses = []
    for step in range(steps):
        batch = step % 6
        x, y = tokens[batch * 16:(batch + 1) * 16].to(device), targets[batch * 16:(batch + 1) * 16].to(device)
        optimizer.zero_grad()
        logits = model(x)
        l1 = sum(p.abs().sum() for p in model.parameters())      # explicit L1 penalty, as tutorials add it
        loss = F.cross_entropy(logits, y) + 1e-4 * l1
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.inference_mode():
        scores = model(tokens)
        correct = scores.new_zeros(())
        for row, label in zip(scores, targets):       # iterating a tensor walks its first dimension
            correct += (row.argmax() == label).type(torch.int64)
    names = ["negative", "positive"]
    first = names[scores[0].argmax()]                  # a 0-d integer tensor indexes a list
    try:
        scores[len(scores)]
        past_end = None
    except IndexError:
        past_end = "IndexError"
    bias = model.module.out.bias.detach().clone()
    bias.unsqueeze_(0)
    return {"losses": losses, "accuracy": correct.item() / len(ids), "first": first, "past_end": past_end,
            "bias_shape": tuple(bias.shape), "penalty": 1e-4 * l1.item(), "is_xpu": scores.is_xpu}


def _torch_weights(seed=0):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(VOCAB, 8)).astype(np.float32)
    emb[0] = 0
    return {"embedding.weight": emb,
            "hidden.weight": rng.uniform(-0.35, 0.35, (16, 8)).astype(np.float32),
            "hidden.bias": rng.uniform(-0.35, 0.35, 16).astype(np.float32),
            "out.weight": rng.uniform(-0.25, 0.25, (2, 16)).astype(np.float32),
            "out.bias": np.zeros(2, np.float32)}


def test_pytorch_text_program_learns_and_its_penalty_is_the_l1_norm():
    weights = _torch_weights()
    result = pytorch_text_program(eager_api, weights)
    assert np.mean(result["losses"][-6:]) < 0.5 * np.mean(result["losses"][:6]) and result["accuracy"] > 0.9
    assert result["first"] in ("negative", "positive") and result["past_end"] == "IndexError"
    assert result["bias_shape"] == (1, 2) and result["is_xpu"] is False
    # the penalty at step 0, before any update, is 1e-4 * the sum of |w| over every parameter
    first = pytorch_text_program(eager_api, weights, steps=1)
    assert first["penalty"] == pytest.approx(1e-4 * sum(np.abs(w).sum() for w in weights.values()), rel=1e-5)


@pytest.mark.reference
def test_pytorch_text_program_matches_pytorch():
    real = pytest.importorskip("torch")
    weights = _torch_weights()
    ours, theirs = pytorch_text_program(eager_api, weights), pytorch_text_program(real, weights)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-4, atol=1e-5)
    assert {k: v for k, v in ours.items() if k not in ("losses", "penalty")} == {
        k: v for k, v in theirs.items() if k not in ("losses", "penalty")}


def test_explicit_l2_penalty_is_sgd_weight_decay():
    """0.5 * wd * ||w||^2 added to the loss moves plain SGD exactly as SGD(weight_decay=wd) does."""
    torch = eager_api
    rng = np.random.default_rng(4)
    x, w0 = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32)), rng.normal(size=(3,)).astype(np.float32)
    final = []
    for explicit in (True, False):
        w = torch.tensor(w0, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, weight_decay=0.0 if explicit else 0.2)
        for _ in range(5):
            opt.zero_grad()
            loss = (x @ w).pow(2).mean() + (0.5 * 0.2 * (w * w).sum() if explicit else 0.0)
            loss.backward()
            opt.step()
        final.append(w.detach().numpy())
    np.testing.assert_allclose(final[0], final[1], rtol=1e-6)


# ----- Keras: a text model with Embedding, regularizers, Adadelta and TensorBoard -------------------------------
def keras_text_program(keras, log_dir, weights):
    K = keras.backend
    K.clear_session()
    assert K.image_data_format() == "channels_last" and K.floatx() == "float32"
    model = keras.Sequential([
        keras.Input(shape=(LENGTH,)),
        keras.layers.Embedding(VOCAB, 4),
        keras.layers.Flatten(),
        keras.layers.Dense(8, kernel_regularizer=keras.regularizers.l2(1e-3)),
        keras.layers.ReLU(),
        keras.layers.Dense(1, activation="sigmoid", bias_regularizer=keras.regularizers.l1(1e-3)),
    ])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0), loss="binary_crossentropy",
                  metrics=["accuracy"])
    ids, labels = _sentences()
    hist = model.fit(ids, labels.astype(np.float32), batch_size=16, epochs=15, shuffle=False, verbose=0,
                     validation_split=0.25,
                     callbacks=[keras.callbacks.TensorBoard(log_dir=log_dir)] if log_dir else [])
    return hist.history, [layer.name for layer in model.layers]


def _keras_weights(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.05, 0.05, (VOCAB, 4)), rng.uniform(-0.4, 0.4, (4 * LENGTH, 8)), np.zeros(8),
            rng.uniform(-0.6, 0.6, (8, 1)), np.zeros(1)]


def test_keras_text_program_learns_and_logs(tmp_path):
    pytest.importorskip("tensorboardX")
    history, names = keras_text_program(tf.keras, str(tmp_path), [w.astype(np.float32) for w in _keras_weights()])
    assert names == ["embedding", "flatten", "dense", "re_lu", "dense_1"]
    assert history["loss"][-1] < 0.85 * history["loss"][0] and history["val_loss"][-1] < history["val_loss"][0]
    logged = read_scalars(os.path.join(str(tmp_path), "train"))
    np.testing.assert_allclose([v for _, v in logged["epoch_loss"]], history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in read_scalars(os.path.join(str(tmp_path), "validation"))[
        "epoch_accuracy"]], history["val_accuracy"], rtol=1e-6)


@pytest.mark.reference
def test_keras_text_program_matches_keras():
    """Real Keras 3 on TensorFlow: the Embedding's gradient is sparse there, and Adadelta squares each repeated
    row's slices apart (``static_api.train``)."""
    real = pytest.importorskip("tensorflow")
    theirs, their_names = keras_text_program(real.keras, None, [w.astype(np.float32) for w in _keras_weights()])
    ours, our_names = keras_text_program(tf.keras, None, [w.astype(np.float32) for w in _keras_weights()])
    assert our_names == their_names
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, atol=1e-6, err_msg=key)


# ----- TF1: a softmax regression with the whole program scaffolding ---------------------------------------
def _patterns(n=120, seed=2):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(0, 0.5, (n, 4, 4)).astype(np.float32)
    for i, lab in enumerate(labels):
        x[i, lab, :] += 1.5            # a bright row tells the class
    return x.reshape(n, 16), labels


def tf1_summaries_program(tf1, log_dir, steps=30, lr=0.5, scale=0.01):
    """mnist_with_summaries-style: flags, app.run, logging, gfile, config protos, summaries and run metadata;
    softmax regression with an l2-regularized weight, trained by Adagrad.  Returns what main saw."""
    flags = tf1.app.flags
    FLAGS = flags.FlagValues()          # a private set (a real program uses flags.FLAGS), so tests can repeat
    flags.DEFINE_string("log_dir", "/tmp/logs", "Summaries directory", flag_values=FLAGS)
    flags.DEFINE_integer("max_steps", 1000, "Number of steps to run trainer.", flag_values=FLAGS)
    flags.DEFINE_float("learning_rate", 0.001, "Initial learning rate", flag_values=FLAGS)
    FLAGS(["prog", f"--log_dir={log_dir}", "--max_steps", str(steps), f"--learning_rate={lr}"])
    seen = {}

    def main(_):
        if tf1.gfile.Exists(FLAGS.log_dir):
            tf1.gfile.DeleteRecursively(FLAGS.log_dir)
        tf1.gfile.MakeDirs(FLAGS.log_dir)
        tf1.logging.set_verbosity(tf1.logging.INFO)
        x_data, labels = _patterns()
        graph = tf1.Graph()
        with graph.as_default():
            x = tf1.placeholder(tf1.float32, [None, 16], name="x-input")
            y_ = tf1.placeholder(tf1.int64, [None], name="y-input")
            tf1.summary.image("input", tf1.reshape(x, [-1, 4, 4, 1]), 2)
            with tf1.variable_scope("layer"):
                w = tf1.get_variable("weights", [16, 3], initializer=tf1.zeros_initializer(),
                                     regularizer=tf1.contrib.layers.l2_regularizer(scale))
                b = tf1.get_variable("biases", [3], initializer=tf1.constant_initializer(0.1))
                tf1.summary.histogram("weights", w)
            logits = tf1.matmul(x, w) + b
            cross_entropy = tf1.losses.sparse_softmax_cross_entropy(labels=y_, logits=logits)
            total = tf1.losses.get_total_loss()
            tf1.summary.scalar("cross_entropy", cross_entropy)
            train_step = tf1.train.AdagradOptimizer(FLAGS.learning_rate).minimize(total)
            accuracy = tf1.reduce_mean(tf1.to_float(tf1.nn.in_top_k(logits, y_, 1)))
            tf1.summary.scalar("accuracy", accuracy)
            merged = tf1.summary.merge_all()
            config = tf1.ConfigProto(gpu_options=tf1.GPUOptions(allow_growth=True), allow_soft_placement=True)
            with tf1.Session(graph=graph, config=config) as sess:
                writer = tf1.summary.FileWriter(FLAGS.log_dir + "/train", sess.graph)
                sess.run(tf1.global_variables_initializer())
                losses = []
                for i in range(FLAGS.max_steps):
                    feed = {x: x_data[i % 4 * 30:(i % 4 + 1) * 30], y_: labels[i % 4 * 30:(i % 4 + 1) * 30]}
                    if i % 10 == 9:
                        run_options = tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE)
                        run_metadata = tf1.RunMetadata()
                        summary, loss, _ = sess.run([merged, total, train_step], feed, options=run_options,
                                                    run_metadata=run_metadata)
                        writer.add_run_metadata(run_metadata, "step%03d" % i)
                    else:
                        summary, loss, _ = sess.run([merged, total, train_step], feed)
                    writer.add_summary(summary, i)
                    losses.append(float(loss))
                tf1.logging.info("final accuracy %s", sess.run(accuracy, {x: x_data, y_: labels}))
                seen.update(losses=losses, w=sess.run(w), b=sess.run(b),
                            accuracy=float(sess.run(accuracy, {x: x_data, y_: labels})))
                writer.close()

    with pytest.raises(SystemExit):
        tf1.app.run(main=main, argv=["prog"])
    return seen


def _numpy_softmax_adagrad(steps=30, lr=0.5, scale=0.01):
    """The same training in float64 NumPy: TF1's Adagrad (accumulators start at 0.1) on the mean cross-entropy
    plus scale * ||w||^2 / 2."""
    x_data, labels = _patterns()
    w, b = np.zeros((16, 3)), np.full(3, 0.1)
    acc_w, acc_b = np.full_like(w, 0.1), np.full_like(b, 0.1)
    losses = []
    for i in range(steps):
        x, y = x_data[i % 4 * 30:(i % 4 + 1) * 30].astype(np.float64), labels[i % 4 * 30:(i % 4 + 1) * 30]
        z = x @ w + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        losses.append(-np.log(p[np.arange(len(y)), y]).mean() + scale * (w ** 2).sum() / 2)
        g = p.copy()
        g[np.arange(len(y)), y] -= 1
        g /= len(y)
        gw, gb = x.T @ g + scale * w, g.sum(0)
        acc_w += gw ** 2
        acc_b += gb ** 2
        w -= lr * gw / np.sqrt(acc_w)
        b -= lr * gb / np.sqrt(acc_b)
    return losses, w, b


def test_tf1_summaries_program_matches_a_numpy_replay(tmp_path):
    pytest.importorskip("tensorboardX")
    seen = tf1_summaries_program(tf, str(tmp_path / "logs"))
    losses, w, b = _numpy_softmax_adagrad()
    np.testing.assert_allclose(seen["losses"], losses, rtol=1e-4)
    np.testing.assert_allclose(seen["w"], w, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(seen["b"], b, rtol=1e-3, atol=1e-5)
    assert seen["accuracy"] > 0.9
    logged = read_scalars(str(tmp_path / "logs" / "train"))
    assert [s for s, _ in logged["cross_entropy"]] == list(range(30)) and len(logged["accuracy"]) == 30
    assert b"input/image/1" in next((tmp_path / "logs" / "train").glob("events.*")).read_bytes()


@pytest.mark.reference
def test_tf1_summaries_program_matches_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow").compat.v1

    class WithContrib:          # TF 2 has no contrib: the same l2_regularizer, from TF1's definition
        class contrib:
            class layers:
                @staticmethod
                def l2_regularizer(scale):
                    return lambda w: scale * real.nn.l2_loss(w)

        def __getattr__(self, name):
            return getattr(real, name)

    ours = tf1_summaries_program(tf, str(tmp_path / "ours"))
    theirs = tf1_summaries_program(WithContrib(), str(tmp_path / "tf"))
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-5)
    np.testing.assert_allclose(ours["w"], theirs["w"], rtol=1e-4, atol=1e-6)


# ----- TF1: embeddings, moments and batch normalization, clipping, assignments, top-k ---------------------
def tf1_text_program(tf1, steps=60):
    """A TF1 text classifier written the long way.  Returns the losses, the epoch counter and a top-k check."""
    ids, labels = _sentences()
    rng = np.random.default_rng(5)
    graph = tf1.Graph()
    with graph.as_default():
        tokens = tf1.placeholder(tf1.int32, [None, LENGTH])
        y_ = tf1.placeholder(tf1.float32, [None])
        lr = tf1.placeholder(tf1.float32, shape=[])
        keep = tf1.placeholder(tf1.float32, shape=1)          # an int shape: a vector of one
        table = tf1.Variable(rng.normal(0, 0.5, (VOCAB, 8)).astype(np.float32))
        w = tf1.Variable(rng.normal(0, 0.3, (8, 1)).astype(np.float32))
        mask = tf1.expand_dims(tf1.to_float(tf1.not_equal(tokens, 0)), -1)
        bag = tf1.reduce_sum(tf1.nn.embedding_lookup(table, tokens) * mask, 1) / tf1.reduce_sum(mask, 1)
        mean, variance = tf1.nn.moments(bag, [0])
        normed = tf1.nn.batch_normalization(bag, mean, variance, None, None, 1e-3) * keep
        logits = tf1.squeeze(tf1.matmul(normed, w), [1])
        loss = tf1.reduce_mean(tf1.nn.sigmoid_cross_entropy_with_logits(labels=y_, logits=logits))
        loss = tf1.Print(loss, [loss], "loss: ", first_n=1)
        optimizer = tf1.train.AdadeltaOptimizer(lr, epsilon=1e-3)
        grads, variables = zip(*optimizer.compute_gradients(loss))
        clipped, norm = tf1.clip_by_global_norm(grads, 1.0)
        train = optimizer.apply_gradients(zip(clipped, variables))
        epoch = tf1.Variable(0, trainable=False, dtype=tf1.int64)
        next_epoch = tf1.assign_add(epoch, 1)
        reset = tf1.assign(epoch, 100)
        values, indices = tf1.nn.top_k(tf1.squeeze(tf1.to_float(tf1.to_int32(logits * 100.0)) / 100.0), k=3)
        with tf1.Session(graph=graph) as sess:
            sess.run([tf1.global_variables_initializer(), tf1.local_variables_initializer()])
            losses = []
            for step in range(steps):
                batch = slice(step % 6 * 16, (step % 6 + 1) * 16)
                losses.append(float(sess.run([loss, train], {tokens: ids[batch], y_: labels[batch], lr: 1.0,
                                                             keep: [1.0]})[0]))
                if step % 6 == 5:
                    sess.run(next_epoch)
            counted = int(sess.run(epoch))
            sess.run(reset)
            top_values, top_idx = sess.run([values, indices], {tokens: ids[:8], keep: [1.0]})
            scores = sess.run(tf1.to_float(tf1.to_int32(logits * 100.0)) / 100.0, {tokens: ids[:8], keep: [1.0]})
            return {"losses": losses, "epochs": counted, "reset": int(sess.run(epoch)), "top_values": top_values,
                    "top_idx": top_idx, "scores": scores}


def test_tf1_text_program_learns_and_its_ops_agree_with_numpy():
    result = tf1_text_program(tf)
    assert np.mean(result["losses"][-6:]) < 0.8 * np.mean(result["losses"][:6])
    assert (result["epochs"], result["reset"]) == (10, 100)
    order = np.argsort(-result["scores"], kind="stable")[:3]
    np.testing.assert_array_equal(result["top_idx"], order)
    np.testing.assert_array_equal(result["top_values"], result["scores"][order])


@pytest.mark.reference
def test_tf1_text_program_matches_tensorflow():
    real = pytest.importorskip("tensorflow").compat.v1
    ours, theirs = tf1_text_program(tf), tf1_text_program(real)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-6)
    for key in ("epochs", "reset"):
        assert ours[key] == theirs[key]
    np.testing.assert_allclose(ours["scores"], theirs["scores"], atol=0.011)      # truncation at a hundredth
