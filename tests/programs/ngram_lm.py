"""An n-gram language model with word embeddings and a CBOW-style context sum (the word
embeddings part of the NLP tutorial), with a learning-rate scheduler and gradient clipping."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

CONTEXT_SIZE, EMBEDDING_DIM = 2, 10
sonnet = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held""".split()
ngrams = [([sonnet[i - j - 1] for j in range(CONTEXT_SIZE)], sonnet[i])
          for i in range(CONTEXT_SIZE, len(sonnet))]
print(ngrams[:2])
vocab = sorted(set(sonnet))
word_to_ix = {word: i for i, word in enumerate(vocab)}


class NGramLanguageModeler(nn.Module):
    def __init__(self, vocab_size, embedding_dim, context_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 32)
        self.linear2 = nn.Linear(32, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        return F.log_softmax(self.linear2(F.relu(self.linear1(embeds))), dim=1)


class CBOW(nn.Module):
    def __init__(self, vocab_size, embedding_dim):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, embedding_dim)
        self.out = nn.Linear(embedding_dim, vocab_size)

    def forward(self, ctx):
        return self.out(self.emb(ctx).sum(dim=0, keepdim=True))


torch.manual_seed(1)
losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
cbow = CBOW(len(vocab), EMBEDDING_DIM)
for m in (model, cbow):
    with torch.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(0.3 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.53 + i)
                    .reshape(p.shape))
optimizer = optim.SGD(list(model.parameters()) + list(cbow.parameters()), lr=0.05)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(5):
    total_loss = 0
    for context, target in ngrams:
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
        model.zero_grad()
        cbow.zero_grad()
        target_t = torch.tensor([word_to_ix[target]], dtype=torch.long)
        loss = loss_function(model(context_idxs), target_t)
        loss = loss + F.cross_entropy(cbow(context_idxs), target_t)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total_loss += loss.item()
    scheduler.step()
    losses.append(round(total_loss, 3))
    print(epoch, losses[-1], round(float(norm), 4), scheduler.get_last_lr())
print(model.embeddings.weight[word_to_ix["beauty's"]].shape)
print([round(v, 4) for v in model.embeddings.weight[word_to_ix["beauty's"]][:4].tolist()])
