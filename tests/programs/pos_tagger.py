"""A part-of-speech tagger: word embeddings, an LSTM and a linear layer over the tag set (the
style of the NLP tutorial's sequence model)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ("The cat read the book".split(), ["DET", "NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, _ in training_data:
    for w in sent:
        word_to_ix.setdefault(w, len(word_to_ix))
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}


def prepare(seq, to_ix):
    return torch.tensor([to_ix[w] for w in seq], dtype=torch.long)


class Tagger(nn.Module):
    def __init__(self, emb_dim, hidden_dim, vocab, tags):
        super().__init__()
        self.embeddings = nn.Embedding(vocab, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tags)

    def forward(self, sentence):
        embeds = self.embeddings(sentence)
        out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        return F.log_softmax(self.hidden2tag(out.view(len(sentence), -1)), dim=1)


model = Tagger(6, 6, len(word_to_ix), len(tag_to_ix))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(0.3 * torch.cos(torch.arange(p.numel(), dtype=torch.float32) * 0.61 + i)
                .reshape(p.shape))
print([(n, tuple(p.shape)) for n, p in model.named_parameters()])
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)
with torch.no_grad():
    scores = model(prepare(training_data[0][0], word_to_ix))
    print("before", [round(v, 4) for v in scores[0].tolist()])
for epoch in range(60):
    for sentence, tags in training_data:
        model.zero_grad()
        loss = loss_function(model(prepare(sentence, word_to_ix)), prepare(tags, tag_to_ix))
        loss.backward()
        optimizer.step()
    if epoch % 20 == 19:
        print("epoch", epoch, round(loss.item(), 4))
with torch.no_grad():
    scores = model(prepare(training_data[0][0], word_to_ix))
    print("after", scores.argmax(dim=1).tolist(), round(scores.max().item(), 4))
