"""torchlite.cuda's memory functions and the tracking allocator behind them.

The allocator's logic is tested through a fake pool; the functions themselves on the GPU where
one exists (the `device` fixture) and, without one, for PyTorch's CPU-only behaviour.
"""

from __future__ import annotations

import pytest

import torchlite
from torchlite._cuda_memory import OutOfMemoryError, TrackingAllocator, format_bytes


class FakeOOM(MemoryError):
    pass


class FakePool:
    """A memory pool per device: malloc hands out sizes, free gives them back."""

    def __init__(self, capacity: int = 1 << 20) -> None:
        self.capacity = capacity
        self.device = 0
        self.used = {0: 0, 1: 0}
        self.held = {0: 0, 1: 0}

    def malloc(self, n: int):
        if self.used[self.device] + n > self.capacity:
            raise FakeOOM(f"Out of memory allocating {n:,} bytes")
        self.used[self.device] += n
        self.held[self.device] = max(self.held[self.device], self.used[self.device])
        return ("ptr", self.device, n)

    def free(self, n: int) -> None:
        self.used[self.device] -= n

    def allocator(self, **kw) -> TrackingAllocator:
        return TrackingAllocator(self.malloc, used_bytes=lambda: self.used[self.device],
                                 total_bytes=lambda: self.held[self.device],
                                 current_device=lambda: self.device, oom_errors=FakeOOM, **kw)


def test_format_bytes():
    assert format_bytes(0) == "0 bytes" and format_bytes(1023) == "1023 bytes"
    assert format_bytes(1024) == "1.00 KiB" and format_bytes(1536) == "1.50 KiB"
    assert format_bytes(2 << 30) == "2.00 GiB" and format_bytes(5 * 2**40) == "5.00 TiB"
    assert format_bytes(3 * 2**60) == "3072.00 PiB"


def test_allocator_returns_the_pools_memory_and_tracks_the_peak():
    pool = FakePool()
    alloc = pool.allocator()
    assert alloc(100) == ("ptr", 0, 100)
    alloc(300)
    assert alloc.max_allocated(0) == 400
    pool.free(300)  # frees bypass the allocator: the peak stays
    alloc(50)
    assert alloc.max_allocated(0) == 400
    alloc(500)
    assert alloc.max_allocated(0) == 650
    alloc.reset_peak(0, pool.used[0])
    assert alloc.max_allocated(0) == 650  # 650 still in use
    pool.free(600)
    alloc.reset_peak(0, pool.used[0])
    assert alloc.max_allocated(0) == 50


def test_allocator_keeps_a_peak_per_device():
    pool = FakePool()
    alloc = pool.allocator()
    alloc(1000)
    pool.device = 1
    alloc(10)
    assert alloc.max_allocated(0) == 1000 and alloc.max_allocated(1) == 10
    assert alloc.max_allocated(2) == 0
    alloc.reset_peak(1, 0)
    assert alloc.max_allocated(1) == 0 and alloc.max_allocated(0) == 1000


def test_out_of_memory_names_the_request_the_pool_and_a_fix():
    pool = FakePool(capacity=(3 << 30) - 1)
    alloc = pool.allocator(device_memory=lambda: (512 << 20, 80 << 30))
    alloc(1 << 30)
    with pytest.raises(OutOfMemoryError) as exc:
        alloc(2 << 30)
    msg = str(exc.value)
    assert isinstance(exc.value, RuntimeError) and isinstance(exc.value.__cause__, FakeOOM)
    assert "\n" not in msg
    assert "tried to allocate 2.00 GiB" in msg and "cuda:0" in msg
    assert "1.00 GiB (1073741824 bytes) are in use" in msg
    assert "pool holds 1.00 GiB (1073741824 bytes)" in msg
    assert "512.00 MiB free of 80.00 GiB" in msg
    assert "smaller batch size" in msg
    assert alloc.max_allocated(0) == 1 << 30  # the failed request did not count


def test_out_of_memory_message_survives_failing_queries():
    def broken():
        raise RuntimeError("driver gone")

    alloc = TrackingAllocator(lambda n: (_ for _ in ()).throw(FakeOOM()), used_bytes=broken,
                              total_bytes=broken, current_device=broken, oom_errors=FakeOOM,
                              device_memory=broken)
    with pytest.raises(OutOfMemoryError, match=r"on the GPU: tried to allocate 10 bytes; try"):
        alloc(10)


def test_other_errors_pass_through():
    def malloc(n):
        raise ValueError("negative size")

    alloc = TrackingAllocator(malloc, used_bytes=lambda: 0, total_bytes=lambda: 0,
                              current_device=lambda: 0, oom_errors=FakeOOM)
    with pytest.raises(ValueError, match="negative size"):
        alloc(-1)


def test_out_of_memory_error_is_exported_like_pytorchs():
    assert torchlite.cuda.OutOfMemoryError is OutOfMemoryError
    assert torchlite.OutOfMemoryError is OutOfMemoryError
    assert issubclass(OutOfMemoryError, RuntimeError)


def test_memory_functions_without_a_gpu_behave_as_pytorchs(cupy_missing):
    if torchlite.cuda.is_available():
        pytest.skip("a GPU is present")
    c = torchlite.cuda
    # PyTorch without CUDA: the counters read 0 and empty_cache does nothing ...
    assert c.memory_allocated() == 0 and c.max_memory_allocated() == 0
    assert c.memory_reserved() == 0 and c.memory_allocated("cuda:0") == 0
    assert c.max_memory_allocated(0) == 0 and c.memory_reserved(torchlite.device("cuda")) == 0
    assert c.empty_cache() is None
    # ... and what needs a device raises the error that names the extras
    for call in (c.get_device_name, c.reset_peak_memory_stats, lambda: c.get_device_name(0)):
        with pytest.raises(RuntimeError) as exc:
            call()
        msg = str(exc.value)
        assert "CUDA is not available" in msg and "torchlite[cuda12]" in msg
        assert "torchlite[cuda13]" in msg
    assert c.is_available() is False


def test_memory_functions_reject_a_cpu_device():
    for fn in (torchlite.cuda.memory_allocated, torchlite.cuda.max_memory_allocated,
               torchlite.cuda.memory_reserved, torchlite.cuda.reset_peak_memory_stats):
        with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
            fn("cpu")


def test_memory_counters_on_the_gpu(device):
    if device != "cuda":
        pytest.skip("GPU memory counters")
    c = torchlite.cuda
    c.synchronize()
    before = c.memory_allocated()
    x = torchlite.zeros(1 << 20, device="cuda")  # 4 MiB
    now = c.memory_allocated()
    assert now - before >= 4 << 20
    assert c.max_memory_allocated() >= now and c.memory_reserved() >= now
    assert c.memory_allocated(0) == c.memory_allocated("cuda:0") == now
    del x
    assert c.memory_allocated() == before
    assert c.max_memory_allocated() >= now  # the peak stays ...
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == before  # ... until reset
    c.empty_cache()
    assert c.memory_reserved() >= c.memory_allocated()
    assert isinstance(c.get_device_name(), str) and c.get_device_name(0)


def test_out_of_memory_on_the_gpu(device):
    if device != "cuda":
        pytest.skip("GPU out-of-memory")
    with pytest.raises(torchlite.cuda.OutOfMemoryError) as exc:
        torchlite.empty(1 << 50, dtype=torchlite.uint8, device="cuda")  # 1 PiB
    msg = str(exc.value)
    assert "tried to allocate 1.00 PiB" in msg and "in use by tensors" in msg
    assert "smaller batch size" in msg
    x = torchlite.ones(4, device="cuda")  # the GPU still works afterwards
    assert float(x.sum()) == 4.0
