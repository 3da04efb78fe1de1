"""What a beginner prints first: dtypes, devices, Sizes, named-tuple results (max, sort, topk),
small tensors of every kind, a module, finfo/iinfo, autograd.grad."""
import numpy as np
import torch
import torch.nn.functional as F

x = torch.arange(6.).reshape(2, 3)
print(x.dtype, x.device, x.type(), torch.get_default_dtype())
print(x.shape + (1,), torch.Size([2]) + torch.Size([3]))
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(dev, x.to(dev).is_cuda)
print(F.one_hot(torch.tensor([0, 2]), 3))
print(torch.from_numpy(np.ones(2)).dtype)
print(x.mean(dim=1, keepdim=True), x.std(1))
print(x.max(dim=1))
print(torch.sort(torch.tensor([3, 1, 2])))
print(torch.topk(x, 2))
print(x.T @ x, x.t().contiguous().is_contiguous())
print(torch.where(x > 2))
print(torch.autograd.grad((x.requires_grad_() ** 2).sum(), x))
print(torch.finfo(torch.float32).eps, torch.iinfo(torch.int64).max)
print(torch.nn.Linear(2, 3))
print(list(torch.nn.Linear(2, 3).state_dict().keys()))
print(torch.tensor([1.123456789, 2.0]), torch.tensor([1e-10, 1e10]), torch.tensor([[True, False]]))
print(torch.zeros(2, dtype=torch.int32), torch.zeros(2, dtype=torch.float64))
print(torch.randn(2, 2).shape, torch.chunk(torch.arange(5), 2))
print(torch.full((2,), 7), torch.eye(2))
print(x[:, None].shape, x.view(-1).tolist())
print(torch.nn.functional.softmax(torch.tensor([1.0, 2.0]), dim=0))
print(torch.Tensor([1, 2]), torch.LongTensor([1, 2]))
print(torch.tensor(3), torch.tensor(3.5), torch.tensor([]))
