"""Sequence models as tutorials use them: a GRU over padded, packed batches, a transformer
encoder with a causal mask (the word-language-model example's), and a bidirectional LSTM."""
import math

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence


def fixed_init(module, scale=0.2):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(scale * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.77 + i)
                    .reshape(p.shape))


seqs = [torch.arange(n, dtype=torch.float32).unsqueeze(1).repeat(1, 3) / 5 for n in (5, 3, 2)]
padded = pad_sequence(seqs, batch_first=True)
print(padded.shape, padded[2])
gru = nn.GRU(3, 4, batch_first=True)
fixed_init(gru)
packed = pack_padded_sequence(padded, torch.tensor([5, 3, 2]), batch_first=True)
out, h = gru(packed)
out, lengths = pad_packed_sequence(out, batch_first=True)
print(out.shape, lengths, h.shape)
print([round(v, 4) for v in h[0, :, 0].tolist()])


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=50):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

    def forward(self, x):
        return x + self.pe[:x.size(0), :]


class TransformerModel(nn.Module):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers):
        super().__init__()
        self.pos_encoder = PositionalEncoding(ninp)
        layer = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout=0.0)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.decoder = nn.Linear(ninp, ntoken)
        self.ninp = ninp

    def forward(self, src):
        mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        src = self.pos_encoder(self.encoder(src) * math.sqrt(self.ninp))
        return torch.log_softmax(self.decoder(self.transformer_encoder(src, mask)), dim=-1)


model = TransformerModel(12, 8, 2, 16, 2)
fixed_init(model, 0.1)
src = (torch.arange(14).view(7, 2) * 5) % 12
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(8):
    out = model(src[:-1])
    loss = nn.functional.nll_loss(out.view(-1, 12), src[1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 2 == 1:
        print("transformer", step, round(loss.item(), 4))
print(out.shape, nn.Transformer.generate_square_subsequent_mask(3))

lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
fixed_init(lstm)
y, (hn, cn) = lstm(padded.transpose(0, 1))
print(y.shape, hn.shape, cn.shape, round(y.sum().item(), 4))
