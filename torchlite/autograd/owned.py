"""Gradient arrays that their maker hands over whole, so a leaf may keep them uncopied.

The engine stores a leaf's first gradient as it arrives unless the array may be shared with
something else: a view (its `base` is set) or one it has handed out already; those it copies.
Some fresh arrays look like views although nothing else holds them: onnxruntime's outputs are
NumPy arrays over memory the session allocated (their base is a capsule), reshaped. Mixed
precision rounds each weight gradient on onnxruntime, and copying it again cost a full pass
per weight per step (160 us of a 4.7 ms MLP step at batch 128). The maker of such an array
marks it here; only arrays that no cache or other object references may be marked.
"""

from __future__ import annotations

import weakref

_owned: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def hand_over(arr):
    """Mark `arr` as referenced by nothing but the caller; returns it."""
    _owned[id(arr)] = arr
    return arr


def is_handed_over(arr) -> bool:
    """Whether `arr` itself (not just an object at its address) was marked by `hand_over`."""
    return _owned.get(id(arr)) is arr
