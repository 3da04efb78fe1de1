"""A variational autoencoder on 8x8 synthetic digit-like images: encoder to (mu, logvar), the
reparameterisation trick, a sigmoid decoder, BCE + KL loss, Adam (the style of the VAE example).
The noise is a fixed tensor instead of randn_like, so both libraries draw the same numbers."""
import torch
import torch.nn.functional as F
from torch import nn, optim

n = 48
grid = torch.arange(64, dtype=torch.float32).view(1, 64)
digits = torch.sigmoid(4 * torch.sin(grid * 0.3 + torch.arange(n).view(n, 1) % 6))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 64))
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.2 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.71 + i)
                .reshape(p.shape))
optimizer = optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(1, 6):
    model.train()
    train_loss = 0
    for b in range(0, n, 16):
        data = digits[b:b + 16]
        eps = torch.sin(torch.arange(data.shape[0] * 4, dtype=torch.float32) * (epoch + b))
        optimizer.zero_grad()
        recon, mu, logvar = model(data, eps.view(-1, 4))
        loss = loss_function(recon, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    print(f"====> Epoch: {epoch} Average loss: {train_loss / n:.4f}")
with torch.no_grad():
    sample = model.decode(torch.zeros(2, 4) + torch.tensor([[0.5], [-0.5]]))
    print(sample.view(2, 1, 8, 8).shape, [round(v, 4) for v in sample[:, :4].flatten().tolist()])
