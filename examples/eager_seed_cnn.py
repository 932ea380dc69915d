"""The project brief's PyTorch program, run with dualflow's eager frontend (only the imports changed).

As written in the brief it is wrong twice: there is no Flatten, and after two 2x2 poolings of 28x28 the
flattened size is 64*7*7, not 64*5*5. ``build(fixed=False)`` reproduces it and fails inside Linear the way
PyTorch does; ``build(fixed=True)`` inserts ``nn.Flatten()`` and uses ``nn.Linear(64 * 7 * 7, 10)``.
"""
import eager_api as torch
import eager_api.nn as nn
import eager_api.optim as optim


def build(fixed: bool) -> nn.Module:
    conv1 = nn.Conv2d(1, 32, kernel_size=(3, 3), padding=1)
    pool1 = nn.MaxPool2d(kernel_size=(2, 2), stride=2)
    conv2 = nn.Conv2d(32, 64, kernel_size=(3, 3), padding=1)
    pool2 = nn.MaxPool2d(kernel_size=(2, 2), stride=2)
    if not fixed:
        fc1 = nn.Linear(64 * 5 * 5, 10)
        return nn.Sequential(conv1, pool1, conv2, pool2, fc1)
    fc1 = nn.Linear(64 * 7 * 7, 10)
    return nn.Sequential(conv1, pool1, conv2, pool2, nn.Flatten(), fc1)


def train(fixed: bool = True, steps: int = 20) -> list[float]:
    torch.manual_seed(0)
    x = torch.randn(32, 1, 28, 28)
    y = torch.randint(0, 10, (32,))
    model = build(fixed)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    try:
        train(fixed=False)
    except RuntimeError as exc:
        print("as written in the brief:", exc)
    losses = train(fixed=True)
    print(f"fixed: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {len(losses)} steps")
