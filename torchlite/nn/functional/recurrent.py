"""Fused recurrences for RNN (tanh/relu), LSTM and GRU layers.

The input projection of every time step (x_t W_ih^T + b) is one matrix product done by the caller
before the recurrence. Each Op here then runs the whole time loop of one layer and direction on
raw arrays: per step one (N, H) x (H, G*H) product and a few fused elementwise passes, saving the
gate activations for backward. Backward walks the steps in reverse once (back-propagation through
time) and forms grad W_hh with ONE matrix product over all steps at the end. Gate layouts are
PyTorch's: LSTM (i, f, g, o), GRU (r, z, n) with n = tanh(x_n + b_in + r * (h W_hn^T + b_hn)).

`reverse=True` runs the steps from last to first (the backward direction of a bidirectional
layer) without flipping any array.

`inactive` (a boolean (L, N, 1) array, or None) serves packed sequences of different lengths:
where it is True, step t is past the end of sequence n, so the state is carried through unchanged
and the output there is 0, as PyTorch's PackedSequence semantics (h_n is each sequence's state
at its own last step; the reverse direction starts at each sequence's own last step).
"""

from __future__ import annotations

from ...autograd.function import Op
from ...backend import get_xp


def _order(L, reverse):
    return range(L - 1, -1, -1) if reverse else range(L)


def _prev_states(hs, h0, reverse):
    """(L, N, H): the hidden state each step started from."""
    xp = get_xp(hs)
    prev = xp.empty_like(hs)
    if reverse:
        prev[-1] = h0
        prev[:-1] = hs[1:]
    else:
        prev[0] = h0
        prev[1:] = hs[:-1]
    return prev


def _masked(a, inactive):
    """`a` (L, N, H) with the steps past each sequence's end set to 0 (a itself when unpacked)."""
    if inactive is None:
        return a
    return get_xp(a).where(inactive, a.dtype.type(0), a)


def _gate_constants(xp, H, n_gates, tanh_gate, dtype):
    """Per-column (scale, mul, add) so that act = tanh(pre * scale) * mul + add gives sigmoid on
    every gate but `tanh_gate` (sigmoid(x) = tanh(x/2)/2 + 1/2, which cannot overflow)."""
    scale = xp.full(n_gates * H, 0.5, dtype=dtype)
    mul = xp.full(n_gates * H, 0.5, dtype=dtype)
    add = xp.full(n_gates * H, 0.5, dtype=dtype)
    if tanh_gate is not None:
        sl = slice(tanh_gate * H, (tanh_gate + 1) * H)
        scale[sl], mul[sl], add[sl] = 1, 1, 0
    return scale, mul, add


class LSTMSeq(Op):
    """One LSTM layer-direction over a sequence.

    forward(xproj (L, N, 4H), w_hh (4H, H), h0 (N, H), c0 (N, H)) -> (hs (L, N, H), h_n, c_n).
    """

    @staticmethod
    def forward(ctx, xproj, w_hh, h0, c0, reverse=False, inactive=None):
        xp = get_xp(xproj)
        L, N, G = xproj.shape
        H = G // 4
        scale, mul, add = _gate_constants(xp, H, 4, 2, xproj.dtype)
        acts = xp.empty_like(xproj)  # post-activation gates i, f, g, o
        cs = xp.empty((L, N, H), dtype=xproj.dtype)
        tcs = xp.empty_like(cs)
        hs = xp.empty_like(cs)
        h, c_prev = h0, c0
        wt = w_hh.T
        for t in _order(L, reverse):
            a = acts[t]
            xp.matmul(h, wt, out=a)
            a += xproj[t]
            a *= scale
            xp.tanh(a, out=a)
            a *= mul
            a += add
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = cs[t]
            xp.multiply(f, c_prev, out=c)
            c += i * g
            xp.tanh(c, out=tcs[t])
            xp.multiply(o, tcs[t], out=hs[t])
            if inactive is not None:  # finished sequences keep their state
                xp.copyto(c, c_prev, where=inactive[t])
                xp.copyto(hs[t], h, where=inactive[t])
            h, c_prev = hs[t], c
        ctx.reverse, ctx.inactive = reverse, inactive
        ctx.save_for_backward(acts, cs, tcs, hs, w_hh, h0, c0)
        return _masked(hs, inactive), h.copy(), c_prev.copy()

    @staticmethod
    def backward(ctx, g_hs, g_hn, g_cn):
        acts, cs, tcs, hs, w_hh, h0, c0 = ctx.saved_tensors
        xp = get_xp(acts)
        L, N, G = acts.shape
        H = G // 4
        reverse, inactive = ctx.reverse, ctx.inactive
        g_hs = _masked(g_hs, inactive)
        dgates = xp.empty_like(acts)
        dh = g_hn.copy()
        dc = g_cn.copy()
        first = L - 1 if reverse else 0
        for t in reversed(_order(L, reverse)):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dh += g_hs[t]
            if inactive is not None:
                dc_carried = dc.copy()
            tc = tcs[t]
            dc += dh * o * (1 - tc * tc)
            c_prev = c0 if t == first else cs[t - 1 if not reverse else t + 1]
            d = dgates[t]
            d[:, :H] = dc * g * i * (1 - i)
            d[:, H:2 * H] = dc * c_prev * f * (1 - f)
            d[:, 2 * H:3 * H] = dc * i * (1 - g * g)
            d[:, 3 * H:] = dh * tc * o * (1 - o)
            dc *= f
            if inactive is None:
                dh = d @ w_hh
            else:  # a carried step passes its gradients through and gets none itself
                xp.copyto(d, 0, where=inactive[t])
                xp.copyto(dc, dc_carried, where=inactive[t])
                dh_prev = d @ w_hh
                xp.copyto(dh_prev, dh, where=inactive[t])
                dh = dh_prev
        n = ctx.needs_input_grad
        gw = None
        if n[1]:
            prev = _prev_states(hs, h0, reverse)
            gw = dgates.reshape(-1, G).T @ prev.reshape(-1, H)
        return (dgates if n[0] else None), gw, (dh if n[2] else None), (dc if n[3] else None), \
            None, None


class GRUSeq(Op):
    """One GRU layer-direction over a sequence.

    forward(xproj (L, N, 3H) = x W_ih^T + b_ih, w_hh (3H, H), b_hh (3H,) or None, h0 (N, H))
    -> (hs (L, N, H), h_n).
    """

    @staticmethod
    def forward(ctx, xproj, w_hh, b_hh, h0, reverse=False, inactive=None):
        xp = get_xp(xproj)
        L, N, G = xproj.shape
        H = G // 3
        acts = xp.empty_like(xproj)  # r, z, n
        hns = xp.empty((L, N, H), dtype=xproj.dtype)  # h W_hn^T + b_hn, before r multiplies it
        hs = xp.empty_like(hns)
        h = h0
        wt = w_hh.T
        hp = xp.empty((N, G), dtype=xproj.dtype)
        for t in _order(L, reverse):
            xp.matmul(h, wt, out=hp)
            if b_hh is not None:
                hp += b_hh
            a = acts[t]
            x_t = xproj[t]
            rz = a[:, :2 * H]
            xp.add(x_t[:, :2 * H], hp[:, :2 * H], out=rz)
            rz *= 0.5
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            r, z, nn_ = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            hns[t] = hp[:, 2 * H:]
            xp.multiply(r, hns[t], out=nn_)
            nn_ += x_t[:, 2 * H:]
            xp.tanh(nn_, out=nn_)
            # h' = n + z * (h - n)
            out = hs[t]
            xp.subtract(h, nn_, out=out)
            out *= z
            out += nn_
            if inactive is not None:
                xp.copyto(out, h, where=inactive[t])
            h = out
        ctx.reverse, ctx.inactive = reverse, inactive
        ctx.has_bias = b_hh is not None
        ctx.save_for_backward(acts, hns, hs, w_hh, h0)
        return _masked(hs, inactive), h.copy()

    @staticmethod
    def backward(ctx, g_hs, g_hn):
        acts, hns, hs, w_hh, h0 = ctx.saved_tensors
        xp = get_xp(acts)
        L, N, G = acts.shape
        H = G // 3
        reverse, inactive = ctx.reverse, ctx.inactive
        g_hs = _masked(g_hs, inactive)
        prev = _prev_states(hs, h0, reverse)
        dx = xp.empty_like(acts)
        dhp = xp.empty_like(acts)  # gradient of h W_hh^T + b_hh
        dh = g_hn.copy()
        for t in reversed(_order(L, reverse)):
            a = acts[t]
            r, z, n_ = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dh += g_hs[t]
            dn = dh * (1 - z) * (1 - n_ * n_)
            dr = dn * hns[t] * r * (1 - r)
            dz = dh * (prev[t] - n_) * z * (1 - z)
            d = dx[t]
            d[:, :H] = dr
            d[:, H:2 * H] = dz
            d[:, 2 * H:] = dn
            e = dhp[t]
            e[:, :2 * H] = d[:, :2 * H]
            xp.multiply(dn, r, out=e[:, 2 * H:])
            if inactive is None:
                dh = dh * z + e @ w_hh
            else:
                xp.copyto(d, 0, where=inactive[t])
                xp.copyto(e, 0, where=inactive[t])
                dh_prev = dh * z + e @ w_hh
                xp.copyto(dh_prev, dh, where=inactive[t])
                dh = dh_prev
        n = ctx.needs_input_grad
        gw = dhp.reshape(-1, G).T @ prev.reshape(-1, H) if n[1] else None
        gb = dhp.reshape(-1, G).sum(axis=0) if n[2] and ctx.has_bias else None
        return (dx if n[0] else None), gw, gb, (dh if n[3] else None), None, None


class RNNSeq(Op):
    """One Elman RNN layer-direction: h' = act(xproj_t + h W_hh^T), act tanh or relu.

    forward(xproj (L, N, H), w_hh (H, H), h0 (N, H)) -> (hs (L, N, H), h_n).
    """

    @staticmethod
    def forward(ctx, xproj, w_hh, h0, relu=False, reverse=False, inactive=None):
        xp = get_xp(xproj)
        L, N, H = xproj.shape
        hs = xp.empty_like(xproj)
        h = h0
        wt = w_hh.T
        for t in _order(L, reverse):
            out = hs[t]
            xp.matmul(h, wt, out=out)
            out += xproj[t]
            if relu:
                xp.maximum(out, 0, out=out)
            else:
                xp.tanh(out, out=out)
            if inactive is not None:
                xp.copyto(out, h, where=inactive[t])
            h = out
        ctx.relu, ctx.reverse, ctx.inactive = relu, reverse, inactive
        ctx.save_for_backward(hs, w_hh, h0)
        return _masked(hs, inactive), h.copy()

    @staticmethod
    def backward(ctx, g_hs, g_hn):
        hs, w_hh, h0 = ctx.saved_tensors
        xp = get_xp(hs)
        reverse, inactive = ctx.reverse, ctx.inactive
        g_hs = _masked(g_hs, inactive)
        dpre = xp.empty_like(hs)
        dh = g_hn.copy()
        for t in reversed(_order(hs.shape[0], reverse)):
            dh += g_hs[t]
            h = hs[t]
            d = dpre[t]
            if ctx.relu:
                xp.multiply(dh, h > 0, out=d)
            else:
                xp.multiply(dh, 1 - h * h, out=d)
            if inactive is None:
                dh = d @ w_hh
            else:
                xp.copyto(d, 0, where=inactive[t])
                dh_prev = d @ w_hh
                xp.copyto(dh_prev, dh, where=inactive[t])
                dh = dh_prev
        n = ctx.needs_input_grad
        gw = None
        if n[1]:
            prev = _prev_states(hs, h0, reverse)
            gw = dpre.reshape(-1, hs.shape[2]).T @ prev.reshape(-1, hs.shape[2])
        return (dpre if n[0] else None), gw, (dh if n[2] else None), None, None, None
