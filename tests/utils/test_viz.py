"""The autograd graph walk (graph_of) and its picture (make_dot)."""

import shutil
import sys

import pytest

import torchlite
from torchlite import nn
from torchlite.autograd import Function
from torchlite.errors import MachineError
from torchlite.utils import viz
from torchlite.utils.viz import (
    GraphvizBinaryNotFoundError,
    GraphvizNotInstalledError,
    graph_of,
    make_dot,
)


def _small_graph():
    torchlite.manual_seed(0)
    w = nn.Parameter(torchlite.randn(3))
    x = torchlite.randn(2, 3)
    y = (x * w).tanh().sum()
    return y, w


def _names(graph):
    return [n.name for n in graph.nodes if n.kind == "backward"]


def test_walk_nodes_edges_and_leaves():
    y, w = _small_graph()
    g = graph_of(y, {"w": w})
    assert [(n.kind, n.label) for n in g.nodes] == [
        ("output", "()"),
        ("backward", "SumBackward0"),
        ("backward", "TanhBackward0"),
        ("backward", "MulBackward0"),
        ("backward", "AccumulateGrad"),
        ("parameter", "w\n (3)"),
    ]
    assert [(e.src, e.dst) for e in g.edges] == [("1", "0"), ("2", "1"), ("3", "2"), ("4", "3"),
                                                 ("5", "4")]
    assert g.outputs == ["0"]
    leaf = g.by_kind("parameter")[0]
    assert leaf.obj is w and leaf.shape == (3,) and leaf.dtype == "float32"
    assert [n.name for n in g.inputs_of("3")] == ["AccumulateGrad"]
    assert g.node("4").obj.variable is w


def test_walk_names_leaves_from_named_parameters_or_not_at_all():
    model = nn.Linear(3, 2)
    out = model(torchlite.randn(4, 3)).sum()
    named = graph_of(out, model.named_parameters())
    assert sorted(n.label for n in named.by_kind("parameter")) == ["bias\n (2)",
                                                                   "weight\n (2, 3)"]
    unnamed = graph_of(out)
    assert not unnamed.by_kind("parameter")
    assert sorted(n.label for n in unnamed.by_kind("tensor")) == ["(2)", "(2, 3)"]


class _Halves(Function):
    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n].clone(), x[n:].clone()

    @staticmethod
    def backward(ctx, ga, gb):
        return torchlite.cat([ga, gb])


def test_walk_shares_nodes_and_keeps_output_indices():
    x = torchlite.randn(4, 3, requires_grad=True)
    a, b = _Halves.apply(x)  # one node, two outputs
    out = a * b + x[:2]
    g = graph_of([out, a])
    accs = [n for n in g.nodes if n.name == "AccumulateGrad"]
    assert len(accs) == 1 and len(g.by_kind("tensor")) == 1  # x is used twice, drawn once
    halves = g.inputs_of(g.outputs[1])[0]
    assert halves.name == "_HalvesBackward"
    from_halves = [e for e in g.edges if e.src == halves.id]
    assert sorted(e.index for e in from_halves) == [0, 0, 1]  # a to the output and to mul, b
    assert len(g.outputs) == 2


def test_walk_of_a_leaf_and_of_a_tensor_without_grad():
    w = nn.Parameter(torchlite.ones(2))
    g = graph_of(w, {"w": w})
    assert [(n.kind, n.label) for n in g.nodes] == [("output", "w\n (2)")] and not g.edges
    g = graph_of(torchlite.ones(2) * 2)
    assert len(g.nodes) == 1 and not g.edges


def test_walk_of_a_deep_graph_does_not_recurse():
    x = torchlite.ones(1, requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() + 100):
        y = y * 1.0
    g = graph_of(y)
    assert len(g.nodes) == sys.getrecursionlimit() + 100 + 3


def test_walk_lists_saved_tensors_and_attributes():
    x = torchlite.randn(2, 3, requires_grad=True)
    y = x.tanh().sum(dim=1)
    g = graph_of(y)
    tanh = next(n for n in g.nodes if n.name == "TanhBackward0")
    assert [(s.shape, s.dtype) for s in tanh.saved] == [((2, 3), "float32")]
    y.sum().backward()
    assert not graph_of(y).node(tanh.id).saved  # freed by backward


def test_walk_rejects_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="Tensor"):
        graph_of([1.0])
    with pytest.raises(TypeError, match="'w'"):
        graph_of(torchlite.ones(1), {"w": 1.0})


class _Scale(Function):
    @staticmethod
    def forward(ctx, x, k, y):
        return x * k + y

    @staticmethod
    def backward(ctx, g):
        return g, None, g


def test_custom_function_next_functions_list_tensor_arguments_only():
    x = torchlite.randn(3, requires_grad=True)
    fns = _Scale.apply(x, 2.0, torchlite.randn(3)).grad_fn.next_functions
    assert len(fns) == 2 and fns[0][0].variable is x and fns[1] == (None, 0)


@pytest.mark.parity
def test_next_functions_match_pytorch():
    torch = pytest.importorskip("torch")

    def _name(fn):  # PyTorch's AccumulateGrad.name() has its C++ namespace
        return fn.name().removeprefix("torch::autograd::")

    def walk(lib):
        x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
        w = lib.tensor([0.1, 0.2], requires_grad=True)
        c = lib.tensor([1.0, 1.0])
        out = ((x * w).exp() + c).sum()
        seen, order, todo = set(), [], [out.grad_fn]
        while todo:
            fn = todo.pop(0)
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            nxt = [(_name(f), i) for f, i in fn.next_functions if f is not None]
            var = getattr(fn, "variable", None)
            order.append((_name(fn), nxt,
                          None if var is None else tuple(var.shape)))
            todo += [f for f, _ in fn.next_functions if f is not None]
        return order

    assert walk(torchlite) == walk(torch)


# ----------------------------------------------------------------------------------------------
# make_dot


def test_make_dot_without_the_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(viz, "_DIGRAPH", [])
    y, _ = _small_graph()
    with pytest.raises(GraphvizNotInstalledError, match=r"pip install 'torchlite\[viz\]'") as e:
        make_dot(y)
    assert isinstance(e.value, ImportError) and isinstance(e.value, MachineError)
    assert "\n" not in str(e.value)


def test_make_dot_source_for_a_known_graph():
    pytest.importorskip("graphviz", reason="the [viz] extra (graphviz) is not installed")
    y, w = _small_graph()
    dot = make_dot(y, params={"w": w})
    assert dot.source.splitlines() == [
        "digraph {",
        '\tgraph [size="12,12"]',
        "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box "
        "style=filled]",
        '\t0 [label="()" fillcolor=darkolivegreen1]',
        "\t1 [label=SumBackward0]",
        "\t2 [label=TanhBackward0]",
        "\t3 [label=MulBackward0]",
        "\t4 [label=AccumulateGrad]",
        '\t5 [label="w',
        ' (3)" fillcolor=lightblue]',
        "\t1 -> 0",
        "\t2 -> 1",
        "\t3 -> 2",
        "\t4 -> 3",
        "\t5 -> 4",
        "}",
    ]


def test_make_dot_shows_attributes_and_saved_tensors():
    pytest.importorskip("graphviz", reason="the [viz] extra (graphviz) is not installed")
    x = torchlite.randn(2, 3, requires_grad=True)
    y = x.tanh().sum(dim=1, keepdim=True)
    plain = make_dot(y).source
    assert "orange" not in plain and "saved tensor" not in plain
    attrs = make_dot(y, show_attrs=True).source
    assert "keepdim: True" in attrs and "[saved tensor (2, 3)]" in attrs
    saved = make_dot(y, show_saved=True).source
    assert saved.count("fillcolor=orange") == 1 and "[dir=none]" in saved


def test_make_dot_render_without_the_dot_program(monkeypatch, tmp_path):
    pytest.importorskip("graphviz", reason="the [viz] extra (graphviz) is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    y, _ = _small_graph()
    dot = make_dot(y)
    assert dot.source.startswith("digraph")  # DOT text needs no program
    for draw in (lambda: dot.render(tmp_path / "g", format="svg"), lambda: dot.pipe("png")):
        with pytest.raises(GraphvizBinaryNotFoundError, match="apt install graphviz") as e:
            draw()
        assert isinstance(e.value, RuntimeError) and "\n" not in str(e.value)


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot program is not installed (apt install graphviz)")
def test_make_dot_renders_svg_and_png(tmp_path):
    pytest.importorskip("graphviz", reason="the [viz] extra (graphviz) is not installed")
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    y = model(torchlite.randn(2, 3)).mean()
    dot = make_dot(y, params=dict(model.named_parameters()))
    svg = dot.render(tmp_path / "model", format="svg")
    text = open(svg).read()
    assert "<svg" in text and "0.weight" in text and "AccumulateGrad" in text
    assert dot.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"
