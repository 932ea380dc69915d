"""The project brief's Keras program with ``import static_api as tf`` instead of ``import tensorflow as tf``.

    python examples/keras_seed_cnn.py --data-dir ../shared/data/mnist

Without ``--data-dir`` (or ``DUALFLOW_DATA``) it trains on scikit-learn's bundled 8x8 digits, scaled up to
28x28 so the brief's model applies unchanged.
"""
import argparse

import numpy as np

import static_api as tf
from core import datasets


def load(data_dir=None):
    """NHWC float32 images in [0, 1] and one-hot labels: 8,000 train / 2,000 held out for MNIST."""
    data = datasets.load(data_dir)
    images = data.images.transpose(0, 2, 3, 1)
    if images.shape[1:3] == (8, 8):
        images = np.pad(np.kron(images, np.ones((1, 3, 3, 1), np.float32)), ((0, 0), (2, 2), (2, 2), (0, 0)))
    labels = tf.keras.utils.to_categorical(data.labels, 10)
    n = 8000 if len(images) == 10000 else int(len(images) * 0.8)
    return (images[:n], labels[:n]), (images[n:], labels[n:]), data.name


def build():
    inputs = tf.keras.layers.Input(shape=(28, 28, 1))
    x = tf.keras.layers.Conv2D(32, kernel_size=(3, 3), activation='relu')(inputs)
    x = tf.keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = tf.keras.layers.Conv2D(64, kernel_size=(3, 3), activation='relu')(x)
    x = tf.keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = tf.keras.layers.Flatten()(x)
    outputs = tf.keras.layers.Dense(10, activation='softmax')(x)
    model = tf.keras.models.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def main(data_dir=None, epochs=10, batch_size=32, verbose=1):
    (x_train, y_train), (x_test, y_test), name = load(data_dir)
    tf.reset_default_graph()
    tf.set_random_seed(0)
    model = build()
    if verbose:
        print(f"data: {name}")
        model.summary()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    if verbose:
        print(f"held-out loss {loss:.4f}, accuracy {acc:.4f}")
    return model, acc


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", default=None,
                   help="folder with MNIST IDX files (default: $DUALFLOW_DATA, else the bundled 8x8 digits)")
    p.add_argument("--epochs", type=int, default=10)
    args = p.parse_args()
    try:
        main(args.data_dir, args.epochs)
    except datasets.DatasetError as exc:        # a wrong folder is a usage error, not a traceback
        p.error(str(exc))
