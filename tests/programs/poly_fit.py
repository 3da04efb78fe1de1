"""Fit sin(x) on [-pi, pi] with a cubic, four ways: plain tensors with hand-written
gradients, autograd, a custom autograd.Function (a Legendre polynomial), and nn.Sequential
with an optimizer."""
import math

import torch

dtype = torch.float32
x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
y = torch.sin(x)

# 1. gradients by hand
a, b, c, d = (torch.tensor(v, dtype=dtype) for v in (0.1, -0.2, 0.3, -0.05))
lr = 1e-6
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print("manual", t, round(loss.item(), 3))
    g = 2.0 * (y_pred - y)
    a -= lr * g.sum()
    b -= lr * (g * x).sum()
    c -= lr * (g * x ** 2).sum()
    d -= lr * (g * x ** 3).sum()
print(f"manual result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 "
      f"+ {d.item():.4f} x^3")

# 2. autograd
a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in (0.1, -0.2, 0.3, -0.05))
for t in range(300):
    loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum()
    if t % 100 == 99:
        print("autograd", t, round(loss.item(), 3))
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= lr * p.grad
            p.grad = None
print("autograd grad_fn:", loss.grad_fn.name(), type(loss.grad_fn).__name__ != "")


# 3. custom Function
class Legendre3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return 0.5 * (5 * inp ** 3 - 3 * inp)

    @staticmethod
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * inp ** 2 - 1)


a, b, c, d = (torch.full((), v, dtype=dtype, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
for t in range(300):
    y_pred = a + b * Legendre3.apply(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print("legendre", t, round(loss.item(), 3))
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= 5e-6 * p.grad
            p.grad = None
print("legendre grad_fn:", y_pred.grad_fn.name())

# 4. nn + optim
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print("features", xx.shape, xx.dtype == torch.float32)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.5, -0.1, -0.05]]))
    model[0].bias.fill_(0.02)
print(model)
loss_fn = torch.nn.MSELoss(reduction="sum")
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(150):  # (RMSprop here amplifies rounding after ~180 steps, in any library)
    loss = loss_fn(model(xx), y)
    if t % 50 == 49:
        print("nn", t, round(loss.item(), 3))
    opt.zero_grad()
    loss.backward()
    opt.step()
w = model[0].weight
print(f"nn result: {model[0].bias.item():.4f} {w[:, 0].item():.4f} {w[:, 1].item():.4f} "
      f"{w[:, 2].item():.4f}")
