"""Files built to exhaust memory or time are refused before they cost it: an .npz whose member
inflates to 2 GiB from 2 MB (a decompression bomb), one whose .npy header declares more data than
the archive holds, and configs nested 50,000 deep, expanding a billion aliases, or holding a
10 MB value. Each runs in a fresh process whose peak memory is read back: a refusal that came
only after inflating would show gigabytes there.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from torchlite.datasets import DatasetError, load_npz

GIB = 1 << 30


def _npy_header(shape, dtype="<f4") -> bytes:
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    text += " " * (127 - 10 - len(text)) + "\n"  # the whole header is 128 bytes
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def _deflated_zeros(head: bytes, zeros: int) -> bytes:
    """Raw deflate of `head` then `zeros` zero bytes, without compressing them all: after a full
    flush, every further 16 MiB of zeros compresses to the same bytes, so one is repeated."""
    chunk = 1 << 24
    assert zeros % chunk == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head + bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (zeros // chunk - 1) + c.flush()


def _zip(path: Path, members: dict[str, tuple[bytes, int]]) -> None:
    """A zip of already-deflated members {name: (data, declared inflated size)} (CRC left 0:
    a reader that inflates first finds out only at the end)."""
    local, central = b"", b""
    for name, (data, size) in members.items():
        fname = name.encode()
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, 0, len(data),
                               size, len(fname), 0, 0, 0, 0, 0, len(local)) + fname
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, len(data), size,
                             len(fname), 0) + fname + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central),
                      len(local), 0)
    path.write_bytes(local + central + end)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    head = _npy_header((2 * GIB // 32, 8))
    y = np.zeros(10, np.int64)
    y_npy = _npy_header((10,), "<i8") + y.tobytes()
    _zip(path, {"x.npy": (_deflated_zeros(head, 2 * GIB), len(head) + 2 * GIB),
                "y.npy": (zlib.compress(y_npy, 9)[2:-4], len(y_npy))})
    assert path.stat().st_size < 4 << 20
    return path


def _peak_mib_of(code: str) -> tuple[str, float]:
    """Run `code` in a fresh interpreter; (what it printed, its peak resident memory in MiB).

    The peak is the process's own high-water mark (VmHWM), which starts anew at exec;
    getrusage's ru_maxrss would carry over the peak of the pytest process that started it."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the peak memory from /proc (Linux)")
    script = textwrap.dedent(code) + textwrap.dedent("""
        with open("/proc/self/status") as f:
            hwm = next(line for line in f if line.startswith("VmHWM:"))
        print(int(hwm.split()[1]) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    *lines, peak = out.stdout.strip().splitlines()
    return "\n".join(lines), float(peak)


def test_a_decompression_bomb_is_refused_before_it_is_inflated(bomb):
    said, peak = _peak_mib_of(f"""
        from torchlite.datasets import DatasetError, load_npz
        try:
            load_npz({str(bomb)!r})
        except DatasetError as exc:
            print(exc)
    """)
    assert "refused as a decompression bomb" in said and "'x'" in said
    assert peak < 600, f"peak memory {peak:.0f} MiB: the member was inflated"


def test_infer_refuses_the_bomb_through_the_cli(bomb):
    said, peak = _peak_mib_of(f"""
        from typer.testing import CliRunner
        from torchlite_cli.main import app
        r = CliRunner().invoke(app, ["infer", {str(bomb)!r}])
        print(r.exit_code, r.output.strip())
    """)
    assert said.startswith("3 error: ") and "decompression bomb" in said
    assert peak < 600, f"peak memory {peak:.0f} MiB: the member was inflated"


def test_a_header_that_declares_more_than_the_archive_holds(tmp_path):
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(forged, "w") as z:  # x claims 9 rows of 3 and holds 4
        z.writestr("x.npy", _npy_header((9, 3)) + np.ones((4, 3), np.float32).tobytes())
        z.writestr("y.npy", _npy_header((9,), "<i8") + np.arange(9).tobytes())
    with pytest.raises(DatasetError, match=r"forged.npz: array 'x'.* header declares shape "
                                           r"\[9, 3\].*truncated or corrupt"):
        load_npz(forged)


def test_inputs_and_targets_of_different_lengths_are_refused_from_their_headers(tmp_path):
    path = tmp_path / "mismatch.npz"
    np.savez(path, x=np.ones((5, 3), np.float32), y=np.arange(4))
    with pytest.raises(DatasetError, match="inputs have 5 samples but targets have 4"):
        load_npz(path)


CONFIG_TAIL = "data: {dataset: digits}\nmodel: {type: mlp}\nloss: {type: CrossEntropyLoss}\n" \
              "optimizer: {type: SGD, lr: 0.1}\n"


def _laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nname: *a9\n" + CONFIG_TAIL  # 9**10 strings once expanded


@pytest.mark.parametrize("text, fragment", [
    ("name: x\nnested: " + "[" * 50_000 + "]" * 50_000 + "\n" + CONFIG_TAIL,
     "nested too deeply to be a config"),
    (_laughs(), "more than 100000 values after expanding aliases"),
    ("name: x\n" + CONFIG_TAIL.replace("type: mlp", "type: " + "m" * 900_000),
     "model.type: unknown type 'mmmm"),
    ("name: " + "x" * 2_000_000 + "\n" + CONFIG_TAIL, "file too large for a config"),
], ids=["deep", "billion-laughs", "huge-value", "huge-file"])
def test_config_bombs_are_one_line_exit_2(tmp_path, text, fragment):
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    said, peak = _peak_mib_of(f"""
        from typer.testing import CliRunner
        from torchlite_cli.main import app
        r = CliRunner().invoke(app, ["validate", {str(path)!r}])
        print(r.exit_code, len(r.output.splitlines()), len(r.output))
        print(r.output)
    """)
    code, lines, chars = map(int, said.splitlines()[0].split())
    assert (code, lines) == (2, 1), said[:2000]
    assert fragment in said and "Traceback" not in said
    assert chars < 1300, "the offending value was echoed whole"
    assert peak < 600
