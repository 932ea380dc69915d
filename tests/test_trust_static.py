"""Static frontend behaviours that used to be silently wrong: Keras layers lost to a graph rewrite, dtype
names, shape checks on variables and feeds, Keras fit arguments, and per-thread graph contexts.
Tests marked ``reference`` replay the same program in TensorFlow / Keras 3 and skip without them."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import load_example

K = tf.keras.layers


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    tf.set_random_seed(0)
    yield


def _real_keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


# ----- 1. a model's layers come from the layer calls, not from a (rewritten) graph -----------------------
SEED_LAYERS = [("input_layer", "InputLayer", 0), ("conv2d", "Conv2D", 3 * 3 * 32 + 32),
               ("max_pooling2d", "MaxPooling2D", 0), ("conv2d_1", "Conv2D", 3 * 3 * 32 * 64 + 64),
               ("max_pooling2d_1", "MaxPooling2D", 0), ("flatten", "Flatten", 0),
               ("dense", "Dense", 5 * 5 * 64 * 10 + 10)]


def _no_bias_pair(keras):
    """Two bias-free, activation-free convolutions in a row (their NHWC/NCHW transposes meet)."""
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, use_bias=False)(inp)
    h = keras.layers.Conv2D(4, 3, use_bias=False)(h)
    return keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(h)))


NO_BIAS_LAYERS = [("input_layer", "InputLayer", 0), ("conv2d", "Conv2D", 3 * 3 * 1 * 4),
                  ("conv2d_1", "Conv2D", 3 * 3 * 4 * 4), ("flatten", "Flatten", 0),
                  ("dense", "Dense", 4 * 4 * 4 * 2 + 2)]


def _described(model):
    return [(lay.name, type(lay).__name__, lay.count_params()) for lay in model.layers]


def _round_trip(model, x, y, tmp_path):
    """fit, then save / load_model in a fresh graph: same layers, same predictions."""
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(model.get_weights(), before) if a.size > 1)
    expected = model.predict(x)
    model.save(str(tmp_path / "m.keras"))
    with tf.Graph().as_default():
        loaded = tf.keras.models.load_model(str(tmp_path / "m.keras"))
        assert _described(loaded) == _described(model)
        np.testing.assert_array_equal(loaded.predict(x), expected)


def test_seed_cnn_keeps_every_layer_and_saves(tmp_path):
    model = load_example("keras_seed_cnn").build()
    assert _described(model) == SEED_LAYERS
    assert model.count_params() == sum(p for _, _, p in SEED_LAYERS) == 34826
    lines = []
    model.summary(print_fn=lines.append)
    rows = [r.split()[0] for r in "\n".join(lines).splitlines()
            if r.startswith(" ") and "(" in r and "Layer (type)" not in r]
    assert rows == [name for name, _, _ in SEED_LAYERS]
    rng = np.random.default_rng(0)
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    _round_trip(model, x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8)], tmp_path)


def test_two_bias_free_convolutions_keep_both_layers(tmp_path):
    model = _no_bias_pair(tf.keras)
    assert _described(model) == NO_BIAS_LAYERS and model.count_params() == 310
    assert [w.op.name for w in model.weights] == ["conv2d/kernel", "conv2d_1/kernel", "dense/kernel", "dense/bias"]
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    _round_trip(model, rng.random((8, 8, 8, 1), dtype=np.float32), rng.random((8, 2), dtype=np.float32), tmp_path)


def test_graph_keeps_transpose_pairs_and_the_session_folds_them():
    a = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    x = tf.placeholder(tf.float64, (2, 3, 4))
    inner = tf.transpose(x, (2, 0, 1))
    back = tf.transpose(inner, (1, 2, 0))              # cancels inner
    twice = tf.transpose(tf.transpose(x, (1, 2, 0)), (1, 2, 0))
    # As in TensorFlow, building never rewrites: both ops of each pair are in the graph.
    assert back is not x and back.op.type == "Transpose" and back.op.inputs[0] is inner
    assert [op.type for op in tf.get_default_graph().get_operations()].count("Transpose") == 4
    c = np.arange(24.0).reshape(4, 2, 3)
    g, = tf.gradients(tf.reduce_sum(twice * c), [x])
    with tf.Session() as sess:
        got_back, got_twice, grad = sess.run([back, twice, g], {x: a})
        # The plan runs the pair that cancels as nothing, and the other as one composed transpose.
        plan, = sess._plans.values()
        kept = [s.op.perm for s in plan.steps if s.op.name == "Transpose"]
        # Fetching the inner transpose keeps it; feeding it cuts the fold (the fed value is used).
        got_inner, got_back2 = sess.run([inner, back], {x: a})
        fed_back = sess.run(back, {inner: np.ones((4, 2, 3))})
    np.testing.assert_array_equal(got_back, a)
    np.testing.assert_array_equal(got_twice, a.transpose(1, 2, 0).transpose(1, 2, 0))
    np.testing.assert_array_equal(grad, c.transpose(1, 2, 0))
    # back: nothing; twice: (1,2,0) then (1,2,0) is (2,0,1); its gradient, two inverses, is (1,2,0).
    assert sorted(kept) == [(1, 2, 0), (2, 0, 1)]
    np.testing.assert_array_equal(got_inner, a.transpose(2, 0, 1))
    np.testing.assert_array_equal(got_back2, a)
    np.testing.assert_array_equal(fed_back, np.ones((2, 3, 4)))


def test_static_seed_model_plan_folds_weight_transposes():
    from dualflow import models
    model = models.Static(models.init_weights((28, 28), 10, 0), 0.1, (28, 28))
    model.step(np.zeros((2, 1, 28, 28), np.float32), np.zeros(2, np.int64))
    plan = max(model.sess._plans.values(), key=lambda p: len(p.steps))
    # OIHW -> HWIO and back, forward and in the gradients: every pair cancels in the plan.
    assert [s.op.name for s in plan.steps].count("Transpose") == 0
    assert [op.type for op in model.graph.get_operations()].count("Transpose") == 8


class _Same(tf.keras.layers.Layer):
    """A layer whose call returns its input unchanged."""

    def call(self, x, training):
        return x


def test_layers_found_through_calls_plain_ops_and_pass_through_layers():
    inp = K.Input((3,))
    h = K.Dense(4, name="first")(inp)
    same = _Same(name="same")(h)
    out = K.Dense(2, name="second")(same * 2.0 + 1.0)       # plain graph ops between two layers
    model = tf.keras.Model(inp, out)
    assert [lay.name for lay in model.layers] == ["input_layer", "first", "same", "second"]
    assert same is not h and model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    seq = tf.keras.Sequential([tf.keras.Input((3,)), K.Dense(2, name="only")])
    assert [lay.name for lay in seq.layers] == ["only"]         # Keras 3: Sequential leaves out its InputLayer
    other = K.Input((3,))
    for stray in (other, tf.placeholder(tf.float32, (None, 3))):
        with pytest.raises(ValueError, match="not connected to `inputs`"):
            tf.keras.Model(inp, K.Add()([K.Dense(2)(inp), K.Dense(2)(stray)]))


def test_branching_model_orders_layers_as_keras():
    inp = K.Input((3,))
    a = K.Dense(2, name="a")(inp)
    b = K.Dense(2, name="b")(K.Dense(2, name="b0")(inp))
    model = tf.keras.Model(inp, K.Add(name="add")([a, b]))
    # By distance from the output (b0 is farthest), ties in the order a walk from the output meets them.
    assert [lay.name for lay in model.layers] == ["input_layer", "b0", "a", "b", "add"]


@pytest.mark.reference
def test_layers_match_keras():
    keras = _real_keras()
    keras.backend.clear_session()
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(x)
    x = keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    assert _described(keras.Model(inputs, outputs)) == SEED_LAYERS == _described(load_example("keras_seed_cnn").build())
    keras.backend.clear_session()
    tf.reset_default_graph()
    assert _described(_no_bias_pair(keras)) == NO_BIAS_LAYERS == _described(_no_bias_pair(tf.keras))
    keras.backend.clear_session()
    tf.reset_default_graph()
    for k in (keras, tf.keras):
        inp = k.Input((3,))
        a = k.layers.Dense(2, name="a")(inp)
        b = k.layers.Dense(2, name="b")(k.layers.Dense(2, name="b0")(inp))
        names = [lay.name for lay in k.Model(inp, k.layers.Add(name="add")([a, b])).layers]
        assert names == ["input_layer", "b0", "a", "b", "add"]


# ----- 2. dtype names as TensorFlow and Keras read them -------------------------------------------------------
TF_NAMES = {"float": "float32", "double": "float64", "half": "float16", "float32": "float32", "int32": "int32",
            "uint8": "uint8", "bool": "bool", "complex64": "complex64", "float32_ref": "float32"}
TF_REJECTS = ["int", "long", "f4", "single", "complex", "float128"]


def test_as_dtype_reads_tensorflow_names():
    for name, want in TF_NAMES.items():
        assert tf.as_dtype(name) == np.dtype(want), name
    assert tf.as_dtype(float) == np.float32 and tf.as_dtype(np.float64) == np.float64 and tf.as_dtype(bool) == np.bool_
    for bad in TF_REJECTS + [int, np.datetime64]:
        with pytest.raises(TypeError, match="to a TensorFlow DType"):
            tf.as_dtype(bad)
    for missing in ("bfloat16", "string", tf.string, object):
        with pytest.raises(NotImplementedError, match="not in dualflow"):
            tf.as_dtype(missing)


def test_every_dtype_argument_reads_float_as_float32():
    made = {
        "placeholder": lambda d: tf.placeholder(d, (2,)),
        "cast": lambda d: tf.cast(tf.constant([1, 2]), d),
        "constant": lambda d: tf.constant([1.0, 2.0], dtype=d),
        "Variable": lambda d: tf.Variable([1.0, 2.0], dtype=d),
        "zeros": lambda d: tf.zeros((2,), d),
        "ones": lambda d: tf.ones((2,), d),
        "zeros_like": lambda d: tf.zeros_like(tf.constant([1, 2]), d),
        "one_hot": lambda d: tf.one_hot([0, 1], 2, dtype=d),
        "random_normal": lambda d: tf.random_normal((2,), dtype=d),
        "random_uniform": lambda d: tf.random_uniform((2,), dtype=d),
        "get_variable": lambda d: tf.get_variable(f"v{len(tf.global_variables())}", (2,), d,
                                                  initializer=tf.zeros_initializer()),
        "initializer": lambda d: tf.constant(tf.truncated_normal_initializer()((2,), d)),
    }
    for what, make in made.items():
        assert make("float").dtype == np.float32, what
        assert make("double").dtype == np.float64, what
        assert make("half").dtype == np.float16, what
        with pytest.raises(TypeError, match="'int' to a TensorFlow DType"):
            make("int")


def test_constants_are_typed_as_tensorflow_types_them():
    assert tf.constant(np.float64(1.0)).dtype == np.float64       # a NumPy scalar keeps its dtype
    assert tf.constant([1, 2]).dtype == np.int32 and tf.constant(2 ** 40).dtype == np.int64
    assert tf.constant(np.array([1.7]), dtype=tf.int32).op.node.op.value.tolist() == [1]   # arrays are cast
    assert tf.constant(True, dtype=tf.float32).dtype == np.float32        # a Python bool is a number to TF
    for value, dtype in ((1.5, tf.int32), ([1, 2.5], "int64"), (1, tf.bool)):
        with pytest.raises(TypeError, match=f"Expected {np.dtype(dtype).name}, but got"):
            tf.constant(value, dtype=dtype)
    with pytest.raises(TypeError, match="Expected int32, but got 1.5"):
        tf.Variable(1.5, dtype=tf.int32)
    x = tf.placeholder(tf.float32, (2,), name="x")
    assert tf.cast(x, "float", name="other") is x and x.op.name == "x"     # no cast: x, unrenamed, as TF


def test_keras_dtype_names():
    assert tf.keras.Input((2,), dtype="int").dtype == np.int64 and tf.keras.Input((2,), dtype=int).dtype == np.int64
    assert tf.keras.Input((2,)).dtype == np.float32 and tf.keras.Input((2,), dtype=float).dtype == np.float32
    with pytest.raises(ValueError, match="Invalid dtype: float"):
        tf.keras.Input((2,), dtype="float")
    with pytest.raises(ValueError, match="Cannot convert 'double' to a mixed precision DTypePolicy"):
        tf.keras.layers.Dense(2, dtype="double")
    inp = tf.keras.Input((3,), dtype="float64")
    wide = tf.keras.layers.Dense(2, dtype="float64")
    h = wide(inp)
    out = tf.keras.layers.Dense(1)(h)        # a float32 layer casts its float64 input, as Keras autocasts
    assert (wide.dtype, wide.kernel.dtype, h.dtype, out.dtype) == ("float64", np.float64, np.float64, np.float32)
    model = tf.keras.Model(inp, out)
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).random((8, 3))
    loss = model.fit(x, x[:, :1] * 2, epochs=2, verbose=0).history["loss"]
    assert np.isfinite(loss).all() and model.predict(x).dtype == np.float32


@pytest.mark.reference
def test_dtype_names_match_tensorflow_and_keras():
    real = pytest.importorskip("tensorflow")
    keras = _real_keras()
    from keras.src.backend import standardize_dtype
    for name in list(TF_NAMES) + TF_REJECTS + [float, bool, int, np.float64, np.int8]:
        try:
            want = np.dtype(real.as_dtype(name).as_numpy_dtype)
        except TypeError:
            with pytest.raises(TypeError):
                tf.as_dtype(name)
        else:
            assert tf.as_dtype(name) == want, name
    for name in ["float", "double", "half", "int", "long", "float32", "int32", "bool", float, int, np.float64]:
        try:
            want = np.dtype(standardize_dtype(name))
        except ValueError:
            with pytest.raises(ValueError):
                tf.keras.Input((2,), dtype=name)
        else:
            assert tf.keras.Input((2,), dtype=name).dtype == want == np.dtype(keras.Input((2,), dtype=name).dtype)


# ----- 3. shapes are checked when a variable is written and when a value is fed ---------------------------------
def test_variable_load_checks_the_shape():
    v = tf.Variable(np.zeros(2, np.float32), name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        for bad in ([1.0, 2.0, 3.0], 5.0, [[1.0], [2.0]]):
            with pytest.raises(ValueError, match=r"Cannot feed value of shape .* for Tensor 'v:0', which has shape"):
                v.load(bad, sess)
        v.load([1, 2])                               # the default session; ints convert as a feed does
        assert sess.run(v).tolist() == [1.0, 2.0] and sess.run(v).dtype == np.float32
    with pytest.raises(ValueError, match="session argument should be provided"):
        v.load([1.0, 2.0])


def test_assign_checks_shapes_when_built_and_when_run():
    v = tf.Variable(np.zeros(2, np.float32), name="v")
    for build in (lambda: v.assign([1.0, 2.0, 3.0]), lambda: tf.assign(v, 1.0), lambda: tf.assign_add(v, [1.0]),
                  lambda: v.assign_sub(1.0)):
        with pytest.raises(ValueError, match="shapes must be equal"):
            build()
    fed = tf.placeholder(tf.float32, (None,))
    ops = {"assign": tf.assign(v, fed), "add": v.assign_add(fed), "sub": tf.assign_sub(v, fed)}
    with tf.Session() as sess:
        sess.run(v.initializer)
        for kind, op in ops.items():
            for value in ([1.0, 2.0, 3.0], [1.0]):       # [1.0] would broadcast without the check
                with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape.*\[2\].*\[%d\]" % len(value)):
                    sess.run(op, {fed: value})
        assert sess.run(v).tolist() == [0.0, 0.0]
        assert sess.run(ops["add"], {fed: [1.0, 2.0]}).tolist() == [1.0, 2.0]


def test_feeds_are_checked_and_a_fed_tensor_can_be_fetched():
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    y = x * 2.0
    with tf.Session() as sess:
        for bad in (np.zeros((2, 4)), 1.0, np.zeros(3), np.zeros((1, 1, 3))):
            with pytest.raises(ValueError, match=r"Cannot feed value of shape"):
                sess.run(y, {x: bad})
        got_x, got_y = sess.run([x, y], {x: [[1, 2, 3]]})       # TF answers a fed fetch with the fed value
        assert got_x.dtype == np.float32 and got_x.tolist() == [[1, 2, 3]] and got_y.tolist() == [[2, 4, 6]]
        assert sess.run(y, {y: np.ones((1, 3))}).tolist() == [[1, 1, 1]]


def test_a_feed_like_the_last_accepted_one_skips_the_checks_but_nothing_else_does():
    # Session._check_feed passes an array of the tensor's dtype and an accepted shape straight on; another
    # dtype is still cast, another shape still checked, and each run computes with its own values.
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    y = x * 2.0
    with tf.Session() as sess:
        a = np.arange(3, dtype=np.float32).reshape(1, 3)
        assert sess.run(y, {x: a}).tolist() == [[0, 2, 4]]
        assert sess._accepted[x] == (1, 3)
        assert sess.run(y, {x: a + 1}).tolist() == [[2, 4, 6]]
        wide = np.full((1, 3), 1 + 2.0 ** -30)          # float64: cast to float32 (1.0) before the product
        got = sess.run([x, y], {x: wide})
        assert got[0].dtype == np.float32 and got[1].tolist() == [[2, 2, 2]]
        for bad in (np.zeros((1, 4), np.float32), np.zeros((1, 1, 3), np.float32), np.zeros(3, np.float32)):
            with pytest.raises(ValueError, match=r"Cannot feed value of shape"):
                sess.run(y, {x: bad})
        assert sess._accepted[x] == (1, 3)
        assert sess.run(y, {x: np.ones((4, 3), np.float32)}).shape == (4, 3)


@pytest.mark.reference
def test_shape_errors_match_tensorflow():
    real = pytest.importorskip("tensorflow").compat.v1
    checks = []
    for t in (tf, real):
        g = t.Graph()
        with g.as_default():
            v = t.Variable(np.zeros(2, np.float32))
            fed = t.placeholder(t.float32, (None,))
            op = t.assign_add(v, fed)
            sess = t.Session(graph=g)
            sess.run(v.initializer)
            for call in (lambda: v.load([1.0, 2.0, 3.0], sess), lambda: t.assign(v, [1.0]),
                         lambda: sess.run(op, {fed: [1.0]}), lambda: sess.run(fed, {fed: [[1.0]]})):
                try:
                    call()
                    checks.append(None)
                except Exception as exc:        # noqa: BLE001  (the class is what is compared)
                    checks.append(next(c.__name__ for c in type(exc).__mro__ if c.__name__ in (
                        "ValueError", "InvalidArgumentError", "TypeError")))
            assert sess.run(fed, {fed: [1.0]}).tolist() == [1.0]
    assert checks[:4] == checks[4:] == ["ValueError", "ValueError", "InvalidArgumentError", "ValueError"]


# ----- 4. Keras fit arguments that used to train on nothing ------------------------------------------------------
def _tiny_model():
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(tf.keras.optimizers.SGD(0.0), "mse")      # a zero rate: the weights stay put
    return model


def test_fit_refuses_batch_sizes_and_splits_keras_refuses():
    model = _tiny_model()
    x = np.arange(30, dtype=np.float32).reshape(10, 3) / 30
    y = np.ones((10, 2), np.float32)
    for call in (lambda: model.fit(x, y, batch_size=-1, verbose=0), lambda: model.evaluate(x, y, batch_size=-4),
                 lambda: model.predict(x, batch_size=-1)):
        with pytest.raises(ValueError, match="batch_size must be a positive integer, got -"):
            call()
    with pytest.raises(TypeError, match="batch_size must be an integer, got 2.5"):
        model.fit(x, y, batch_size=2.5, verbose=0)
    for split in (1.0, 0.95):          # nothing would be left to train on
        with pytest.raises(ValueError, match=r"Training data contains 10 samples, which is not sufficient to split "
                                             rf"it .* `validation_split={split}`"):
            model.fit(x, y, validation_split=split, verbose=0)
    for split in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"validation_split must be a fraction in \[0, 1\)"):
            model.fit(x, y, validation_split=split, verbose=0)
    # batch_size 0 or None is Keras' default of 32; a 0.2 split holds out the last 2 of 10 samples.
    full = model.evaluate(x, y, verbose=0)
    assert model.fit(x, y, batch_size=0, verbose=0, shuffle=False).history["loss"] == [pytest.approx(full)]
    hist = model.fit(x, y, validation_split=0.2, verbose=0).history
    assert hist["loss"] == [pytest.approx(model.evaluate(x[:8], y[:8], verbose=0))]
    assert hist["val_loss"] == [pytest.approx(model.evaluate(x[8:], y[8:], verbose=0))]
    assert model.predict(x, batch_size=0).shape == (10, 2)


@pytest.mark.reference
def test_fit_errors_match_keras():
    keras = _real_keras()
    x, y = np.ones((10, 3), np.float32), np.ones((10, 2), np.float32)
    real = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    real.compile("sgd", "mse")
    ours = _tiny_model()
    for kw in (dict(batch_size=-1), dict(validation_split=1.0), dict(validation_split=0.95)):
        errors = []
        for model in (real, ours):
            with pytest.raises(ValueError) as info:
                model.fit(x, y, verbose=0, **kw)
            errors.append(str(info.value))
        if "validation_split" in kw:
            assert errors[0] == errors[1]
    with pytest.raises(TypeError):
        real.fit(x, y, batch_size=2.5, verbose=0)
    assert "loss" in real.fit(x, y, batch_size=0, verbose=0).history


# ----- 5. name scopes, control dependencies, variable scopes and default sessions are per thread -----------------
def _in_two_threads(first, second):
    """Run ``first`` and ``second`` in two threads, ``second`` building while ``first`` holds its contexts open:
    a barrier orders them (bounded: a stuck thread fails the test instead of hanging it)."""
    import threading
    barrier = threading.Barrier(2, timeout=10)
    results, failures = {}, []

    def run(fn, key):
        try:
            results[key] = fn(barrier)
        except BaseException as exc:        # noqa: BLE001  (reported in the main thread)
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(fn, key)) for key, fn in (("first", first), ("second", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads) and not failures, failures
    return results["first"], results["second"]


def test_graph_contexts_are_per_thread():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.0, name="c")

    def first(barrier):
        with g.as_default(), tf.control_dependencies([c]), tf.name_scope("A"), tf.variable_scope("VA"):
            barrier.wait()          # the second thread builds now, while these contexts are open here
            barrier.wait()
            return tf.constant(2.0, name="x"), tf.get_variable("u", (1,))

    def second(barrier):
        with g.as_default():
            barrier.wait()
            built = tf.constant(3.0, name="y"), tf.get_variable("w", (1,))
            barrier.wait()
            return built

    (x, u), (y, w) = _in_two_threads(first, second)
    assert (x.op.name, [op.name for op in x.op.control_inputs], u.op.name) == ("A/VA/x", ["c"], "VA/u")
    assert (y.op.name, y.op.control_inputs, w.op.name) == ("y", [], "w")


def test_default_session_is_per_thread():
    sess = tf.Session()
    assert tf.get_default_session() is None

    def first(barrier):
        with sess.as_default():
            barrier.wait()
            barrier.wait()
            return tf.get_default_session()

    def second(barrier):
        barrier.wait()
        seen = tf.get_default_session()
        barrier.wait()
        return seen

    assert _in_two_threads(first, second) == (sess, None)
    with pytest.raises(ValueError, match="No default session is registered"):
        tf.constant(1.0).eval()


@pytest.mark.reference
def test_per_thread_contexts_match_tensorflow():
    real = pytest.importorskip("tensorflow").compat.v1
    names = []
    for t in (tf, real):
        g = t.Graph()
        with g.as_default():
            c = t.constant(1.0, name="c")

        def first(barrier, t=t, g=g, c=c):
            with g.as_default(), g.control_dependencies([c]), g.name_scope("A"), t.variable_scope("VA"):
                barrier.wait()
                barrier.wait()

        def second(barrier, t=t, g=g):
            with g.as_default():
                barrier.wait()
                y, w = t.constant(3.0, name="y"), t.get_variable("w", (1,))
                barrier.wait()
                return y.op.name, len(y.op.control_inputs), w.op.name, t.get_default_session()

        names.append(_in_two_threads(first, second)[1])
    assert names[0] == names[1] == ("y", 0, "w", None)
