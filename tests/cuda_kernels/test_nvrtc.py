"""Every fused kernel's CUDA C compiles with NVRTC, CuPy's compiler, for float32 and float64.

NVRTC needs no GPU, only CuPy and the NVRTC library (the nvidia-cuda-nvrtc wheel or a CUDA
toolkit), so where those are installed this finds what the host C++ compiler behind the
emulator cannot: CUDA-only syntax errors and math overloads NVRTC lacks. It compiles for
compute capability 9.0 (H100/H200). Skipped without CuPy or NVRTC.

RawKernels compile from the exact source and options their wrappers pass. ElementwiseKernels
are CuPy-generated around an operation; here each operation is placed in a kernel of the same
shape (the preamble first, `T` a typedef inside the kernel, inputs as const values, outputs as
references), all of one dtype in one program.
"""

from __future__ import annotations

import numpy as np
import pytest

from torchlite._cuda_kernels import _common, activation, cross_entropy, dropout, optim

ARCH = "-arch=compute_90"
DTYPES = [np.float32, np.float64]

RAW = [
    ("tl_adam", lambda dt: optim.raw_source(optim.ADAM_SOURCE, dt), _common.EXACT),
    ("tl_sgd", lambda dt: optim.raw_source(optim.SGD_SOURCE, dt), _common.EXACT),
    ("tl_ce_forward", lambda dt: cross_entropy.raw_source(cross_entropy.FORWARD_SOURCE, dt),
     _common.EXACT),
    ("tl_ce_backward", lambda dt: cross_entropy.raw_source(cross_entropy.BACKWARD_SOURCE, dt),
     _common.EXACT),
    ("tl_dropout", dropout.raw_source, ()),
]


@pytest.fixture(scope="module")
def nvrtc():
    """compile(source, name, options): NVRTC's PTX, or an error naming the line."""
    pytest.importorskip("cupy")
    from cupy.cuda import compiler

    def compile_(source: str, name: str, options=()) -> str:
        prog = compiler._NVRTCProgram(source, f"{name}.cu")
        ptx = prog.compile((ARCH, *options))
        return ptx[0].decode() if isinstance(ptx, tuple) else ptx.decode()

    try:
        compile_('extern "C" __global__ void tl_probe() {}', "tl_probe")
    except Exception as e:  # no NVRTC library: nothing to compile with
        pytest.skip(f"NVRTC is not usable here: {type(e).__name__}: {e}")
    return compile_


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,source,options", RAW, ids=[r[0] for r in RAW])
def test_raw_kernels_compile(nvrtc, name, source, options, dtype):
    ptx = nvrtc(source(dtype), name, options)
    assert f".entry {name}(" in ptx


def _elementwise_kernel(name: str, in_params: str, out_params: str, operation: str,
                        ctype: str) -> str:
    """`operation` in a kernel shaped like the one CuPy generates (see the module docstring)."""
    def params(spec):
        return [p.split() for p in spec.split(",")]

    types = {"T": ctype, "float32": "float", "float64": "double"}
    ins, outs = params(in_params), params(out_params)
    args = [f"const {types[t]}* __restrict__ in_{n}" for t, n in ins]
    args += [f"{types[t]}* __restrict__ out_{n}" for t, n in outs]
    body = [f"const {types[t]} {n} = in_{n}[i];" for t, n in ins]
    body += [f"{types[t]}& {n} = out_{n}[i];" for t, n in outs]
    return (f'extern "C" __global__ void {name}({", ".join(args)}, long long size) {{\n'
            f"  typedef {ctype} T;\n"
            f"  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < size;"
            f" i += (long long)blockDim.x * gridDim.x) {{\n"
            f"    {' '.join(body)}\n    {operation};\n  }}\n}}\n")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_elementwise_operations_compile(nvrtc, dtype):
    ctype = _common.ctype(dtype)
    kernels = []
    for act in activation.ACTIVATIONS:
        for kind, spec in (("fwd", activation.forward_kernel_spec(act)),
                           ("bwd", activation.backward_kernel_spec(act))):
            kernels.append((f"tl_bias_act_{kind}_{act or 'none'}", spec))
    kernels.append(("tl_mask_from_uniform", dropout.UNIFORM_MASK))
    source = activation.PREAMBLE + "".join(
        _elementwise_kernel(name, *spec, ctype) for name, spec in kernels)
    ptx = nvrtc(source, f"elementwise_{ctype}", _common.EXACT)
    for name, _ in kernels:
        assert f".entry {name}(" in ptx


def test_a_broken_kernel_fails_to_compile(nvrtc):
    # the kernel's CHUNK left undefined: NVRTC must refuse, or the tests above check nothing
    bad = optim.raw_source(optim.SGD_SOURCE, np.float32).replace("#define CHUNK", "#define X")
    with pytest.raises(Exception, match='identifier "CHUNK" is undefined'):
        nvrtc(bad, "tl_sgd", _common.EXACT)
