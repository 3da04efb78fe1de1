"""A CIFAR-style CNN (conv, pool, three linear layers) trained on synthetic 3x32x32 images with a
DataLoader, then saved, reloaded and evaluated per class (the style of the classifier tutorial)."""
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

classes = ("plane", "car", "bird", "cat")
n = 64
idx = torch.arange(n * 3 * 32 * 32, dtype=torch.float32).reshape(n, 3, 32, 32)
labels = torch.arange(n) % 4
images = torch.sin(idx * 0.001 + labels.view(n, 1, 1, 1).float()) * 0.5
loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        fan = p[0].numel() if p.dim() > 1 else p.numel()
        p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.91 + i)
                .reshape(p.shape) / fan ** 0.5)
print(net)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    running = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running += loss.item()
    print(f"[{epoch + 1}] loss: {running / len(loader):.4f}")

path = os.path.join(tempfile.mkdtemp(), "cifar_net.pth")
torch.save(net.state_dict(), path)
net2 = Net()
net2.load_state_dict(torch.load(path, weights_only=True))
correct = {c: 0 for c in classes}
total = {c: 0 for c in classes}
with torch.no_grad():
    for inputs, targets in loader:
        _, predicted = torch.max(net2(inputs), 1)
        for t, p in zip(targets, predicted):
            total[classes[t]] += 1
            correct[classes[t]] += int(t == p)
for c in classes:
    print(f"accuracy for {c:5s}: {100 * correct[c] / total[c]:.1f} %")
print(outputs.shape, outputs.grad_fn is None, loss.grad_fn.name())
