"""Train the seed CNN on MNIST with the eager (PyTorch-style) frontend.

    python examples/eager_mnist.py --data-dir ../shared/data/mnist
"""
import argparse
import os
import sys

import eager_api as torch
import eager_api.nn as nn
import eager_api.optim as optim
from core import datasets, progress
from eager_api.utils.data import DataLoader, TensorDataset


def seed_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def main(train: datasets.ImageDataset, test: datasets.ImageDataset, epochs: int = 3, batch_size: int = 64,
         lr: float = 1e-3, quiet: bool = False) -> float:
    torch.manual_seed(0)
    model = seed_cnn()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.tensor(train.images), torch.tensor(train.labels)), batch_size,
                        shuffle=True)
    for epoch in range(epochs):
        model.train()
        bar = progress.Progress(f"epoch {epoch + 1}", len(loader), enabled=not quiet, file=sys.stdout, unit="batch",
                                last_line=False)
        for batch, (x, y) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            if not quiet:       # .item() waits for the device: only when the value is shown
                bar.update(batch, loss.item())
        bar.close()
        model.eval()
        with torch.no_grad():
            correct = sum((model(x).argmax(1) == y).sum().item()
                          for x, y in DataLoader(TensorDataset(torch.tensor(test.images), torch.tensor(test.labels)),
                                                 500))
        acc = correct / len(test.labels)
        if not quiet:
            print(f"epoch {epoch + 1}: last loss {loss.item():.4f}, held-out accuracy {acc:.4f}")
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
