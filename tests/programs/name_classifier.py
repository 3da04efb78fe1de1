"""Classify names by language with a hand-built RNN cell over one-hot letters (the style of the
char-RNN classification tutorial), on a small built-in list of names."""
import string

import torch
import torch.nn as nn

letters = string.ascii_letters + " .,;'"
data = {
    "English": ["Smith", "Johnson", "Walker", "Wright", "Hughes", "Baker"],
    "Italian": ["Rossi", "Bianchi", "Romano", "Ricci", "Marino", "Greco"],
    "Japanese": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"],
}
categories = list(data)


def line_to_tensor(line):
    t = torch.zeros(len(line), 1, len(letters))
    for i, ch in enumerate(line):
        t[i][0][letters.find(ch)] = 1
    return t


class RNN(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.n_hidden = n_hidden
        self.i2h = nn.Linear(n_in + n_hidden, n_hidden)
        self.h2o = nn.Linear(n_in + n_hidden, n_out)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, inp, hidden):
        combined = torch.cat((inp, hidden), 1)
        return self.softmax(self.h2o(combined)), torch.tanh(self.i2h(combined))

    def init_hidden(self):
        return torch.zeros(1, self.n_hidden)


rnn = RNN(len(letters), 32, len(categories))
with torch.no_grad():  # a fixed start, so that every library trains the same numbers
    for i, p in enumerate(rnn.parameters()):
        p.copy_(0.1 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.37 + i)
                .reshape(p.shape))
print(line_to_tensor("Ito").size(), line_to_tensor("Ito")[1].nonzero().tolist())

criterion = nn.NLLLoss()
lr = 0.05
pairs = [(c, n) for c in categories for n in data[c]]
for epoch in range(4):
    total = 0.0
    for k in range(len(pairs)):
        cat, name = pairs[(k * 7) % len(pairs)]
        target = torch.tensor([categories.index(cat)], dtype=torch.long)
        hidden = rnn.init_hidden()
        rnn.zero_grad()
        for i in range(line_to_tensor(name).size()[0]):
            output, hidden = rnn(line_to_tensor(name)[i], hidden)
        loss = criterion(output, target)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-lr)
        total += loss.item()
    print(f"epoch {epoch} loss {total / len(pairs):.4f} {loss.grad_fn.name()}")


def predict(name, n=2):
    with torch.no_grad():
        hidden = rnn.init_hidden()
        line = line_to_tensor(name)
        for i in range(line.size(0)):
            output, hidden = rnn(line[i], hidden)
        values, idx = output.topk(n, 1, True)
        return [(categories[idx[0][j].item()], round(values[0][j].item(), 3)) for j in range(n)]


for name in ["Tanaka", "Rossi", "Walker"]:
    print(name, predict(name))
