"""EventList.table(): PyTorch's layout (columns, widths, units, footer), sorting, row limits,
and the optional columns (memory, input shapes, source locations)."""

from __future__ import annotations

import re

import pytest

import torchlite
import torchlite.nn as nn
from torchlite.profiler import ProfilerActivity, profile, record_function
from torchlite.profiler.table import format_memory, format_time

CPU = [ProfilerActivity.CPU]


def run(**kw):
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    with profile(activities=CPU, **kw) as p:
        with record_function("model_inference"):
            model(torchlite.randn(2, 8)).sum().backward()
    return p


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_layout_as_pytorch():
    table = run().key_averages().table(sort_by="self_cpu_time_total", row_limit=4)
    lines = table.rstrip("\n").split("\n")
    rule = lines[0]
    assert set(rule) == {"-", " "} and lines[2] == rule and lines[-2] == rule
    assert columns(lines[1]) == ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total",
                                 "CPU time avg", "# of Calls"]
    widths = [len(seg) for seg in rule.split("  ") if seg]
    assert widths[1:] == [12] * 6  # numeric columns are 12 wide, two spaces apart
    assert len(lines) == 3 + 4 + 2  # rules and header, row_limit rows, rule and footer
    assert re.fullmatch(r"Self CPU time total: \d+\.\d{3}(us|ms|s)", lines[-1])
    for row in lines[3:7]:
        cells = columns(row)
        assert re.fullmatch(r"-?\d+\.\d\d%", cells[1]) and re.fullmatch(r"\d+", cells[-1])
        assert re.fullmatch(r"\d+\.\d{3}(us|ms|s)", cells[2])


def test_sorted_largest_first():
    avg = run().key_averages()
    for key in ("self_cpu_time_total", "cpu_time_total", "count", "cpu_time"):
        table = avg.table(sort_by=key)
        names = [columns(r)[0] for r in table.split("\n")[3:-3]]
        want = [e.key for e in sorted(avg, key=lambda e: getattr(e, key), reverse=True)]
        assert names == want, key


def test_unknown_sort_key():
    with pytest.raises(ValueError, match="sort_by must be one of"):
        run().key_averages().table(sort_by="speed")


def test_memory_columns_with_profile_memory():
    table = run(profile_memory=True).key_averages().table()
    header = columns(table.split("\n")[1])
    assert header[-3:] == ["CPU Mem", "Self CPU Mem", "# of Calls"]
    assert re.search(r"\d+(\.\d\d)? (B|KB|MB|GB)", table)
    assert "CPU Mem" not in run().key_averages().table()


def test_input_shapes_column_when_grouped_by_them():
    p = run(record_shapes=True)
    assert "Input Shapes" not in p.key_averages().table()
    table = p.key_averages(group_by_input_shape=True).table()
    assert columns(table.split("\n")[1])[-1] == "Input Shapes"
    assert "[[2, 16], [4, 16], [4]]" in table  # the last Linear


def test_source_location_column_with_stacks():
    p = run(with_stack=True)
    assert "Source Location" not in p.key_averages().table()
    table = p.key_averages(group_by_stack_n=3).table(max_src_column_width=40)
    assert columns(table.split("\n")[1])[-1] == "Source Location"
    assert "test_table.py(" in table
    assert max(len(seg) for seg in table.split("\n")[0].split("  ")) <= 55


def test_long_names_are_cut():
    with profile(activities=CPU) as p:
        with record_function("x" * 80):
            pass
    row = p.key_averages().table().split("\n")[3]
    assert columns(row)[0] == "x" * 52 + "..."


def test_top_level_events_only_and_header():
    table = run().events().table(top_level_events_only=True, header="my run")
    lines = table.split("\n")
    assert lines[1] == "my run" and "only display top-level" in lines[3]
    assert [columns(r)[0] for r in lines[7:-3]] == ["model_inference"]


def test_empty():
    with profile(activities=CPU) as p:
        pass
    assert p.key_averages().table() == ""


@pytest.mark.parametrize("us, text", [(0.5, "0.500us"), (999.9994, "999.999us"),
                                      (1500, "1.500ms"), (2.5e6, "2.500s")])
def test_time_units(us, text):
    assert format_time(us) == text


@pytest.mark.parametrize("nbytes, text", [(0, "0 B"), (1023, "1023 B"), (2048, "2.00 KB"),
                                          (-3 << 20, "-3.00 MB"), (5 << 30, "5.00 GB")])
def test_memory_units(nbytes, text):
    assert format_memory(nbytes) == text


@pytest.mark.parity
def test_header_matches_pytorchs():
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity as TA
    from torch.profiler import profile as tprofile

    with tprofile(activities=[TA.CPU], profile_memory=True) as tp:
        torch.nn.Linear(8, 4)(torch.randn(2, 8)).sum().backward()
    theirs = tp.key_averages().table(row_limit=1).split("\n")
    ours = run(profile_memory=True).key_averages().table(row_limit=1).split("\n")
    assert columns(ours[1]) == columns(theirs[1])
    assert ours[0].split("  ")[1:] == theirs[0].split("  ")[1:]  # widths past the name column
    assert ours[-2].split(":")[0] == theirs[-2].split(":")[0]
