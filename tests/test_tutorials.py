"""Tutorial-shaped programs, written as for PyTorch, Keras and TF1 with only the import changed, must run and
learn.  The data is synthetic but learnable: a bright square at one of four places; the label is the place."""
import numpy as np

import eager_api as torch
import eager_api.nn as nn
import eager_api.nn.functional as F
import static_api as tf
from eager_api.utils.data import DataLoader, TensorDataset, random_split


def _squares(n=256, hw=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.random((n, 1, hw, hw), dtype=np.float32) * 0.3
    for i, lab in enumerate(labels):
        r, c = divmod(int(lab), 2)
        images[i, 0, 1 + 6 * r:5 + 6 * r, 1 + 6 * c:5 + 6 * c] += 1.0
    return images, labels


def test_pytorch_tutorial_program_learns():
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    images, labels = _squares()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, 1, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.dropout = nn.Dropout(0.1)
            self.fc = nn.Linear(8 * 3 * 3, 4)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2, ceil_mode=True)
            x = torch.flatten(F.adaptive_avg_pool2d(x, (3, 3)), 1)     # coarse position survives
            return F.log_softmax(self.fc(self.dropout(x)), dim=1)

    train, held = random_split(TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)), [0.75, 0.25])
    loader = DataLoader(train, batch_size=32, shuffle=True)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    first = None
    for epoch in range(4):
        model.train()
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            first = loss.item() if first is None else first
        scheduler.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in DataLoader(held, batch_size=64):
            _, pred = model(data).topk(1, 1, True, True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    assert correct / len(held) > 0.9 and loss.item() < 0.5 * first
    assert optimizer.param_groups[0]["lr"] == 1.0 * 0.7 * 0.7 * 0.7 * 0.7     # PyTorch's chained products


def test_keras_tutorial_program_learns():
    tf.reset_default_graph()
    tf.set_random_seed(0)
    images, labels = _squares()
    x = images.transpose(0, 2, 3, 1)
    y = tf.keras.utils.to_categorical(labels, 4)
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(12, 12, 1)),
        layers.Rescaling(1.0),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu", padding="same"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.1),
        layers.Dense(4, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=tf.keras.optimizers.Adam(0.02), metrics=["accuracy"])
    stop = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    hist = model.fit(x, y, batch_size=32, epochs=15, validation_split=0.25, callbacks=[stop], verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert model.evaluate(x[192:], y[192:], verbose=0)[1] > 0.9


def test_tf1_tutorial_program_learns():
    tf.reset_default_graph()
    tf.set_random_seed(0)
    images, labels = _squares()
    x_data = images.reshape(len(images), -1)
    x = tf.placeholder(tf.float32, shape=[None, 144])
    y_ = tf.placeholder(tf.int64, shape=[None])
    keep_prob = tf.placeholder(tf.float32)
    with tf.variable_scope("conv"):
        w = tf.get_variable("w", [3, 3, 1, 8], initializer=tf.truncated_normal_initializer(stddev=0.3))
        b = tf.get_variable("b", [8], initializer=tf.constant_initializer(0.1))
    h = tf.nn.relu(tf.nn.conv2d(tf.reshape(x, [-1, 12, 12, 1]), w, strides=[1, 1, 1, 1], padding="SAME") + b)
    h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h = tf.nn.dropout(tf.reshape(h, [-1, 6 * 6 * 8]), keep_prob)
    logits = tf.layers.dense(h, 4)
    loss = tf.losses.sparse_softmax_cross_entropy(labels=y_, logits=logits)
    step = tf.train.get_or_create_global_step()
    rate = tf.train.exponential_decay(0.05, step, 20, 0.9)
    train = tf.train.AdamOptimizer(rate).minimize(loss, global_step=step)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y_), tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = []
        for i in range(120):
            idx = np.arange(i * 32, i * 32 + 32) % 192
            losses.append(sess.run([loss, train], {x: x_data[idx], y_: labels[idx], keep_prob: 0.9})[0])
        acc = sess.run(accuracy, {x: x_data[192:], y_: labels[192:], keep_prob: 1.0})
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10]) and acc > 0.9
