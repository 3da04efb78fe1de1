"""A first tour of tensors as a beginner tutorial gives it: creation, printing, shapes,
indexing (mixed integer, slice and index tensors), in-place updates, autograd on a small graph,
printed grad_fns, and saving then loading a whole model."""
import os
import tempfile

import torch
import torch.nn as nn

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
shape = (2, 3)
print(torch.zeros(shape), torch.ones(shape).shape)
t = torch.arange(24.0).reshape(2, 3, 4)
print(t.shape, t.size(1), t.dim(), t.numel())
print(t[1, :, [0, 2]])
print(t[:, 1])
print(t[..., -1], t[0, 1, 2].item())
print(t[1, :, torch.tensor([3, 0])].shape, t[0, 1:, torch.tensor([1, 2])].shape)
print(t[torch.tensor([0, 1]), :, 1])
print(t[t > 20])
mask = t[0] % 2 == 0
print(mask.nonzero().shape, mask.sum())
t[0, :, 1] = 0
t[1, torch.tensor([0, 2]), 1:3] = -1
print(t)
t.index_put_((torch.tensor([0]), torch.tensor([2])), torch.tensor(9.0), accumulate=True)
print(t[0, 2])
print(torch.cat([t, t], dim=1).shape, torch.stack([t, t]).shape)

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = torch.tensor([6.0, 4.0], requires_grad=True)
q = 3 * a ** 3 - b ** 2
print(q)
q.backward(gradient=torch.tensor([1.0, 1.0]))
print(a.grad, b.grad, 9 * a ** 2 == a.grad)
w = torch.ones(5, 3, requires_grad=True)
z = torch.matmul(torch.ones(5), w) + torch.zeros(3, requires_grad=True)
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.zeros(3))
print("Gradient function for z =", z.grad_fn.name())
print("Gradient function for loss =", loss.grad_fn.name())
print(torch.tensor(1.5).cumprod(0), torch.tensor(0.0).nonzero().shape)

model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-1, 1, p.numel()).reshape(p.shape) * (i + 1))
path = os.path.join(tempfile.mkdtemp(), "model.pth")
torch.save(model, path)
loaded = torch.load(path, weights_only=False)
print(loaded)
print(loaded(torch.ones(1, 4)))
try:
    torch.load(path)
except Exception as e:
    print(type(e).__name__, str(e).split(".")[0])
