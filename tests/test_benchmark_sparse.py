"""The sparse bench suite at its quick sizes: every row runs in torchlite, the floor and (where
installed) PyTorch, and their checks agree before anything is timed."""

import pytest

from torchlite import benchmark

pytest.importorskip("scipy", reason="needs the sparse extra: pip install 'torchlite[sparse]'")

TINY = dict(repeat=2, warmup=1, threads=1, quick=True)


@pytest.mark.parametrize("use_torch", [False, True])
def test_sparse_suite_runs(use_torch):
    if use_torch:
        pytest.importorskip("torch")
    rep = benchmark.run(["sparse"], use_torch=use_torch, **TINY).to_dict()
    rows = {r["name"]: r for r in rep["rows"]}
    assert list(rows) == ["spmm", "emb sparse", "emb dense", "coo 1M"]
    assert rows["emb sparse"]["check"]["rows moved"] == rows["emb dense"]["check"]["rows moved"]
    assert rows["coo 1M"]["check"]["MB held"] < 40
    for r in rows.values():
        assert r["times"]["torchlite"]["median_ms"] > 0
