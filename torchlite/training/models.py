"""Built-in architectures a config can name: `mlp`, `lenet5` and a small `resnet`."""

from __future__ import annotations

from torchlite import nn


def _act(name: str) -> nn.Module:
    return getattr(nn, name)()


def mlp(in_features: int, hidden, out_features: int, activation: str = "ReLU",
        dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    """Linear layers of widths `hidden`, each followed by [BatchNorm1d], activation, [Dropout]."""
    layers: list[nn.Module] = []
    prev = in_features
    for width in hidden:
        layers.append(nn.Linear(prev, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(_act(activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        prev = width
    layers.append(nn.Linear(prev, out_features))
    return nn.Sequential(*layers)


def lenet5(in_channels: int, num_classes: int, image_size=(28, 28), activation: str = "ReLU",
           dropout: float = 0.0) -> nn.Sequential:
    """LeNet-5 (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, classes).

    Small images (the 8x8 digits) get 3x3 kernels and one pooling step so the feature maps do
    not shrink to nothing.
    """
    h, w = image_size
    if min(h, w) >= 16:
        features = [nn.Conv2d(in_channels, 6, 5, padding=2), _act(activation), nn.MaxPool2d(2),
                    nn.Conv2d(6, 16, 5), _act(activation), nn.MaxPool2d(2)]
        fh, fw = (h // 2 - 4) // 2, (w // 2 - 4) // 2
    else:
        features = [nn.Conv2d(in_channels, 6, 3, padding=1), _act(activation),
                    nn.Conv2d(6, 16, 3, padding=1), _act(activation), nn.MaxPool2d(2)]
        fh, fw = h // 2, w // 2
    head: list[nn.Module] = [nn.Flatten(), nn.Linear(16 * fh * fw, 120), _act(activation)]
    if dropout:
        head.append(nn.Dropout(dropout))
    head += [nn.Linear(120, 84), _act(activation), nn.Linear(84, num_classes)]
    return nn.Sequential(*features, *head)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet: a 3x3 stem, stages of BasicBlocks (stride 2 between stages), global pool."""

    def __init__(self, in_channels: int, num_classes: int, widths=(16, 32, 64),
                 blocks=(1, 1, 1)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages = []
        prev = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stages.append(BasicBlock(prev, w, stride=2 if (i > 0 and j == 0) else 1))
                prev = w
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(prev, num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(self.pool(x).flatten(1))


def resnet(in_channels: int, num_classes: int, widths=(16, 32, 64), blocks=(1, 1, 1)) -> ResNet:
    return ResNet(in_channels, num_classes, tuple(widths), tuple(blocks))
