"""The fused optimizer kernels (torchlite/_cuda_kernels/optim.py) in NumPy: the CUDA C's
operations, statement by statement, in its order and in the arrays' dtype, with the scalar
arguments the wrappers hand the kernels. Tests check that these equal torchlite's CPU updates
bit for bit, and that the kernels (emulated on the CPU, or on a GPU) equal these."""

from __future__ import annotations

import numpy as np

from torchlite._cuda_kernels import optim as K


def adam_reference(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr,
                   beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled) -> None:
    """`K.adam_` in NumPy, array by array (same arguments)."""
    for i, p in enumerate(params):
        s = K._adam_scalars(p.dtype, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                            weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                            decoupled=decoupled)
        flags = int(s["flags"])
        g, m, v = grads[i], exp_avgs[i], exp_avg_sqs[i]
        if flags & K.A_SHRINK:
            p *= s["shrink"]
        if flags & K.A_MAXIMIZE:
            g = -g
        if flags & K.A_L2:
            g = g + p * s["l2"]
        diff = g - m
        if flags & K.A_W1_SMALL:
            m += diff * s["w1"]
        else:
            np.subtract(g, diff * s["one_minus_w1"], out=m)
        v *= s["beta2"]
        v += (g * s["one_minus_beta2"]) * g
        vv = v
        if flags & K.A_AMSGRAD:
            np.maximum(max_exp_avg_sqs[i], v, out=max_exp_avg_sqs[i])
            vv = max_exp_avg_sqs[i]
        denom = np.sqrt(vv) / s["bc2_sqrt"] + s["eps"]
        p += (m * s["neg_step_size"]) / denom


def sgd_reference(params, grads, bufs=None, *, lr, momentum, dampening, weight_decay,
                  nesterov, maximize, first_step) -> None:
    """`K.sgd_` in NumPy, array by array (same arguments)."""
    for i, p in enumerate(params):
        s = K._sgd_scalars(p.dtype, lr=lr, momentum=momentum, dampening=dampening,
                           weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                           first_step=first_step)
        flags = int(s["flags"])
        g = grads[i]
        if flags & K.S_MAXIMIZE:
            g = -g
        if flags & K.S_L2:
            g = g + p * s["l2"]
        if flags & K.S_MOMENTUM:
            b = bufs[i]
            if flags & K.S_FIRST:
                b[...] = g
            else:
                b *= s["momentum"]
                b += g * s["one_minus_dampening"] if flags & K.S_DAMPENING else g
            g = b * s["momentum"] + g if flags & K.S_NESTEROV else b
        p -= g * s["lr"]
