"""edgesim.run: the document of `edgesim run --json`, and hardware inputs."""

import re

import pytest

import edgesim


def leaves(d, prefix=""):
    """{dotted key: value} of the non-dict values of nested dicts."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(leaves(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_default_run_equals_cli_json(cli_json):
    assert edgesim.run() == cli_json("run")


def test_run_options_equal_cli_flags(root, cli_json):
    tiny = root / "workloads" / "tiny_lora.toml"
    full = root / "workloads" / "tiny_full.toml"
    got = edgesim.run(
        workloads=[str(tiny), full],  # a str path and a Path
        mode="paper",
        time_slack_pct=0.0,
        pareto=True,
    )
    want = cli_json(
        "run", "--workload", tiny, "--workload", full, "--mode", "paper",
        "--time-slack", "0", "--pareto",
    )
    assert got == want
    assert [r["workload"] for r in got["results"]] == ["tiny_lora", "tiny_full"]
    assert all(r["pareto"] for r in got["results"])


def test_cycle_engine_equals_cli(root, cli_json):
    tiny = root / "workloads" / "tiny_lora.toml"
    got = edgesim.run(workloads=tiny, engine="cycle")
    assert got == cli_json("run", "--workload", tiny, "--engine", "cycle")
    assert got["results"][0]["sim"]["cycles"] > 0


def test_hw_dict_with_one_override_differs_in_exactly_that_key(root, tmp_path, cli_json):
    default = edgesim.hardware()
    assert default["sram"]["capacity_kib"] == 1024
    changed = edgesim.hardware(hw=default, hw_overrides={"sram.capacity_kib": 512})
    a, b = leaves(default), leaves(changed)
    assert a.keys() == b.keys()
    assert {k for k in a if a[k] != b[k]} == {"sram.capacity_kib"}
    assert b["sram.capacity_kib"] == 512

    # The same change made by editing the file's text, run by the command line.
    text = (root / "hw_configs" / "edge_llm_paper.toml").read_text()
    edited, n = re.subn(r"(?m)^capacity_kib\s*=\s*1024\b", "capacity_kib = 512", text)
    assert n == 1, "the SRAM capacity line of the default hardware file"
    hw_file = tmp_path / "sram512.toml"
    hw_file.write_text(edited)
    tiny = root / "workloads" / "tiny_edge_llm.toml"
    got = edgesim.run(hw=default, hw_overrides={"sram.capacity_kib": 512}, workloads=tiny)
    assert got == cli_json("run", "--hw", hw_file, "--workload", tiny)
    # ... and the same as the dict with the value changed in Python, or the file.
    d = edgesim.hardware()
    d["sram"]["capacity_kib"] = 512
    assert edgesim.run(hw=d, workloads=tiny) == got
    assert edgesim.run(hw=hw_file, workloads=tiny) == got
    assert edgesim.run(hw=edited, workloads=tiny) == got  # a TOML string


def test_out_of_range_override_names_key_and_range(root, tmp_path, cli):
    with pytest.raises(edgesim.EdgesimError) as e:
        edgesim.run(hw_overrides={"sram.capacity_kib": -5})
    err = e.value
    assert isinstance(err, ValueError)
    assert err.key == "sram.capacity_kib"
    assert "sram.capacity_kib" in str(err)
    # The allowed range is the one the command line states for the same value in a file.
    text = (root / "hw_configs" / "edge_llm_paper.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(re.sub(r"(?m)^capacity_kib\s*=\s*1024\b", "capacity_kib = -5", text))
    code, _, stderr = cli("hw", "--hw", bad, check=False)
    assert code == 2
    cli_range = re.search(r"allowed \[[^\]]*\]", stderr)
    assert cli_range, stderr
    assert cli_range.group(0) in str(err)
    assert err.msg.startswith("-5")


def test_dict_hardware_errors_name_the_dict():
    d = edgesim.hardware()
    d["dram"]["data_rate_mtps"] = 0
    with pytest.raises(edgesim.EdgesimError, match=r"<hw dict>.*dram\.data_rate_mtps"):
        edgesim.run(hw=d)
    d = edgesim.hardware()
    d["sram"]["capacity_kb"] = 1  # a slip for capacity_kib
    with pytest.raises(edgesim.EdgesimError, match="capacity_kib"):
        edgesim.hardware(hw=d)
    d = edgesim.hardware()
    d["sram"]["capacity_kib"] = None
    with pytest.raises(edgesim.EdgesimError, match="None"):
        edgesim.hardware(hw=d)


def test_bad_arguments_raise_edgesim_error():
    with pytest.raises(edgesim.EdgesimError, match="time_slack"):
        edgesim.run(time_slack_pct=150)
    with pytest.raises(edgesim.EdgesimError, match="mode"):
        edgesim.run(mode="fastest")
    with pytest.raises(edgesim.EdgesimError, match="engine"):
        edgesim.run(engine="quantum")
    with pytest.raises(edgesim.EdgesimError, match="embedded"):
        edgesim.run(workloads=["no_such_workload"])
    with pytest.raises(edgesim.EdgesimError, match="hw"):
        edgesim.run(hw=42)


def test_workload_as_dict_and_string_equal_the_file(root):
    tomllib = pytest.importorskip("tomllib")
    path = root / "workloads" / "tiny_lora.toml"
    text = path.read_text()
    want = edgesim.run(workloads=path)["results"]
    # An inline workload is named by its `name` key, else by its origin.
    got = edgesim.run(workloads=text)["results"]
    assert got[0]["workload"] == "<workload 1 string>"
    assert [dict(r, workload="tiny_lora") for r in got] == want
    table = tomllib.loads(text)
    got = edgesim.run(workloads=["llama7b_lora", table])["results"]
    assert got[1]["workload"] == "<workload 2 dict>"
    assert dict(got[1], workload="tiny_lora") == want[0]
    table["name"] = "tiny_lora"
    assert edgesim.run(workloads=table)["results"] == want


def test_speedup_is_the_ratio_of_step_times():
    doc = edgesim.run()
    lora, edge = doc["results"]
    assert doc["speedup"] == pytest.approx(
        lora["seconds_per_iteration"] / edge["seconds_per_iteration"], rel=1e-12
    )


def test_given_schedule_equals_cli(root, cli_json):
    tiny = root / "workloads" / "tiny_lora.toml"
    line = edgesim.simulate(workload=tiny)["schedule"]
    got = edgesim.run(workloads=tiny, schedule=line)
    assert got == cli_json("run", "--workload", tiny, "--schedule", line)
    assert got["given_schedule"] == line
    assert got["results"][0]["schedule_source"] == "given"


def test_trace_inputs_file_string_and_dict(root, tmp_path, cli):
    tiny = root / "workloads" / "tiny_lora.toml"
    trace_file = tmp_path / "tiny.trace.json"
    cli("trace", "--workload", tiny, "--out", trace_file)
    want = edgesim.run(traces=[trace_file])
    assert want["results"][0]["workload"] == "tiny_lora"
    assert edgesim.run(traces=str(trace_file)) == want
    assert edgesim.run(traces=trace_file.read_text()) == want
    assert edgesim.run(traces=edgesim.trace(tiny)) == want
    bad = edgesim.trace(tiny)
    i = next(i for i, e in enumerate(bad["entries"]) if e["gemms"])
    bad["entries"][i]["gemms"][0]["m"] = 0
    where = rf"<trace 1 dict>.*entries\[{i}\]\.gemms\[0\]\.m"
    with pytest.raises(edgesim.EdgesimError, match=where):
        edgesim.run(traces=[bad])
