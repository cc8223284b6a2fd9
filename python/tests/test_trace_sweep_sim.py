"""edgesim.trace, edgesim.sweep and edgesim.simulate against the command line."""

import csv

import pytest

import edgesim


def test_trace_equals_cli_json(cli_json):
    t = edgesim.trace("llama7b_edge_llm_b5")
    assert t == cli_json("trace", "--workload", "llama7b_edge_llm_b5")
    assert t["workload"] == "llama7b_edge_llm_b5"


def test_trace_totals_equal_cli_csv(root, cli):
    """Per-entry byte totals and vector FLOPs summed in Python from trace() equal the sums
    of the columns of `edgesim trace --csv` (the CLI's table, not its JSON)."""
    path = root / "workloads" / "tiny_edge_llm.toml"
    t = edgesim.trace(path)
    lines = list(csv.DictReader(cli("trace", "--workload", path, "--csv")[1].splitlines()))
    assert [e["label"] for e in t["entries"]] == [r["label"] for r in lines]
    for field, column in [
        ("weight_bytes", "weight_bytes"),
        ("saved_bytes", "saved_bytes_per_seq"),
        ("checkpoint_bytes", "checkpoint_bytes_per_seq"),
        ("grad_bytes", "grad_bytes"),
        ("trainable_bytes", "trainable_bytes"),
        ("optimizer_bytes", "optimizer_bytes"),
    ]:
        total = sum(e[field] for e in t["entries"])
        assert total == sum(int(r[column]) for r in lines), field
    ops = [v for e in t["entries"] for v in e["vector_ops"]]
    vector = sum(v["elements"] * v["ops_per_element"] for v in ops)
    assert vector == pytest.approx(sum(float(r["vector_flops_per_seq"]) for r in lines), rel=1e-12)
    assert sum(e["weight_bytes"] for e in t["entries"]) > 0


def test_a_trace_dict_runs_like_its_workload():
    by_name = edgesim.run(workloads="llama7b_lora")
    by_trace = edgesim.run(traces=[edgesim.trace("llama7b_lora")])
    assert by_trace["results"] == by_name["results"]


def cell_matches(value, cell):
    """A row value against the CSV cell it stands for."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, (int, float)):
        return float(cell) == float(value)
    return cell == value


def write_spec(root, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f'base = "{root / "hw_configs" / "edge_llm_paper.toml"}"\n'
        f'workloads = ["{root / "workloads" / "tiny_lora.toml"}", '
        f'"{root / "workloads" / "tiny_edge_llm.toml"}"]\n'
        'combine = "product"\n'
        "[sweep]\n"
        '"sram.capacity_kib" = [64, 256, 1024]\n'
        '"dram.data_rate_mtps" = [1600, 3200]\n'
    )
    return spec


def test_sweep_rows_equal_cli_sweep_csv(root, tmp_path, cli):
    spec = write_spec(root, tmp_path)
    out = tmp_path / "out"
    cli("sweep", "--spec", spec, "--out", out, "--no-plots")
    with open(out / "sweep.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cells = list(reader)
    rows = edgesim.sweep(spec, as_list=True)
    assert len(rows) == len(cells) == 3 * 2 * 2
    for row, line in zip(rows, cells):
        assert list(row) == header
        for name, cell in zip(header, line):
            assert cell_matches(row[name], cell), (name, row[name], cell)
    assert any(r["pareto"] for r in rows)


def test_sweep_shard_and_spec_forms(root, tmp_path):
    tomllib = pytest.importorskip("tomllib")
    spec = write_spec(root, tmp_path)
    rows = edgesim.sweep(spec, as_list=True)
    text = spec.read_text()
    assert edgesim.sweep(text, as_list=True) == rows
    assert edgesim.sweep(tomllib.loads(text), as_list=True) == rows
    shard = edgesim.sweep(str(spec), shard="1/2", as_list=True)
    assert sorted({r["point"] for r in shard}) == [1, 3, 5]
    # Every figure but the Pareto mark (a front over the shard's rows) is the full run's.
    full = {(r["point"], r["workload"]): r for r in rows}
    for r in shard:
        want = dict(full[(r["point"], r["workload"])], pareto=None)
        assert dict(r, pareto=None) == want


def test_sweep_dataframe(root, tmp_path):
    pandas = pytest.importorskip("pandas")
    spec = write_spec(root, tmp_path)
    df = edgesim.sweep(spec)
    assert isinstance(df, pandas.DataFrame)
    rows = edgesim.sweep(spec, as_list=True)
    assert list(df.columns) == list(rows[0])
    assert len(df) == len(rows)
    assert df["step_s"].tolist() == [r["step_s"] for r in rows]
    # A smaller SRAM never makes a step faster (per workload and DRAM rate).
    for _, g in df.groupby(["workload", "dram.data_rate_mtps"]):
        g = g.sort_values("sram.capacity_kib")
        assert g["step_s"].is_monotonic_decreasing


def test_sweep_errors_name_the_spec(tmp_path):
    spec = {
        "base": "no/such/hw.toml",
        "workloads": ["llama7b_lora"],
        "sweep": {"sram.capacity_kib": [1]},
    }
    with pytest.raises(edgesim.EdgesimError, match="base"):
        edgesim.sweep(spec)


def test_simulate_equals_cli_sim_json(root, cli_json):
    path = root / "workloads" / "tiny_lora.toml"
    got = edgesim.simulate(workload=path)
    assert got == cli_json("sim", "--workload", path)
    assert got["schedule_source"] == "search"


def test_searched_schedule_replays_within_the_stated_gaps(root):
    path = root / "workloads" / "tiny_edge_llm.toml"
    run = edgesim.run(workloads=path, mode="paper", time_slack_pct=0)["results"][0]
    # With every effect on, the simulation never beats the analytic lower bound.
    full = edgesim.simulate(workload=path, mode="paper")
    c = full["comparison"]
    assert c["lower_bound_seconds"] == pytest.approx(run["lower_bound_seconds"], rel=1e-12)
    assert full["sim"]["seconds"] >= run["lower_bound_seconds"]
    # With the analytic model's assumptions it matches the `paper` model within 2%
    # (README, "the cycle-level simulator").
    ideal = edgesim.simulate(workload=path, mode="paper", disable="ideal")
    ci = ideal["comparison"]
    assert ci["sim_seconds"] == pytest.approx(ci["analytic_paper_seconds"], rel=0.02)
    # The replayed schedule, given back as a line, replays to the same cycles.
    again = edgesim.simulate(workload=path, mode="paper", schedule=full["schedule"])
    assert again["schedule_source"] == "given"
    assert again["sim"]["cycles"] == full["sim"]["cycles"]


def test_simulate_needs_one_input():
    with pytest.raises(edgesim.EdgesimError):
        edgesim.simulate()
    with pytest.raises(edgesim.EdgesimError, match="dma_request_bytes"):
        edgesim.simulate(workload="llama7b_lora", dma_request_bytes=100)


def test_simulate_a_trace_like_its_workload(root):
    path = root / "workloads" / "tiny_full.toml"
    assert edgesim.simulate(trace=edgesim.trace(path)) == edgesim.simulate(workload=path)
