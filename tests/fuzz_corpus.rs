//! Replays every fuzz target's committed inputs (the seeds `fuzz/seeds/<target>/` and the
//! minimised corpus `fuzz/corpus/<target>/`) through the
//! same harness the fuzzer runs (`fuzz/harness`), on the stable toolchain: every input
//! the fuzzer kept, and every crash found and fixed since, must give a clean error or a
//! finite result without panicking.
//!
//! `write_seed_corpus` (ignored) regenerates `fuzz/seeds/` from the shipped inputs and
//! the crate's own writers: `cargo test --release --test fuzz_corpus -- --ignored`.

#[path = "../fuzz/harness/mod.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target)
}

/// The files of `dir`, sorted (none when it does not exist).
fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.expect("corpus entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(target: &str) {
    let (_, run) = harness::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("known target");
    let mut files = files_of(&seed_dir(target));
    assert!(!files.is_empty(), "{target}: no seed files");
    files.extend(files_of(&corpus_dir(target)));
    for f in &files {
        let data = std::fs::read(f).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", f.display());
    }
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        /// Every harness has a replay test (a new target must be added above).
        #[test]
        fn every_target_is_replayed() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in harness::TARGETS {
                assert!(tested.contains(name), "no replay test for {name}");
            }
            assert_eq!(tested.len(), harness::TARGETS.len());
        }
    };
}

replay_tests!(
    hw_toml,
    workload_toml,
    sweep_spec,
    policy_toml,
    sensitivity_csv,
    trace_json,
    llama_config,
    safetensors,
    gguf,
    tokenizer_json,
    calib,
    gguf_tokenizer_struct,
    hw_struct,
    workload_struct,
    schedule_spec,
);

/// The seeds reach past the parsers: each reader accepts its shipped or written seed
/// files, and the structure-aware generators' empty input is a valid file.
#[test]
fn seeds_are_accepted() {
    use edgesim::hw::HwConfig;
    use edgesim::llm::checkpoint::{LlamaConfig, gguf};
    use edgesim::workload::{Trace, Workload};
    let seeds = |target: &str| -> Vec<(PathBuf, Vec<u8>)> {
        let v: Vec<_> = files_of(&seed_dir(target))
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        assert!(!v.is_empty(), "{target}: no seed");
        v
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (p, b) in seeds("hw_toml") {
        HwConfig::from_toml_str("hw.toml", &text(&b)).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    let wfile = root.join("workloads/seed.toml").display().to_string();
    for (p, b) in seeds("workload_toml") {
        Workload::from_toml_str(&wfile, &text(&b)).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    let sfile = root.join("hw_configs/sweeps/seed.toml");
    for (p, b) in seeds("sweep_spec") {
        edgesim::dse::SweepSpec::from_toml_str(&sfile, &text(&b))
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    for (p, b) in seeds("policy_toml") {
        edgesim::policy::Policy::from_toml_str("p.toml", &text(&b))
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    for (p, b) in seeds("trace_json") {
        Trace::from_json_str("t.json", &text(&b)).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    for (p, b) in seeds("llama_config") {
        LlamaConfig::from_json_str("c.json", &text(&b)).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    for (p, b) in seeds("schedule_spec") {
        let t = text(&b);
        let ok = if p.extension().is_some_and(|e| e == "toml") {
            edgesim::search::schedule_spec::schedule_from_toml("s.toml", &t).map(|_| ())
        } else {
            t.parse::<edgesim::cost::Schedule>().map(|_| ())
        };
        ok.unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        harness::tiny_config().to_json_string(),
    )
    .unwrap();
    for (p, b) in seeds("safetensors") {
        std::fs::write(tmp.path().join("model.safetensors"), &b).unwrap();
        edgesim::llm::checkpoint::Checkpoint::load_dir(tmp.path())
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    for (p, b) in seeds("gguf") {
        let f = tmp.path().join("m.gguf");
        std::fs::write(&f, &b).unwrap();
        gguf::load(&f).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let has_tokenizer = p.to_string_lossy().contains("tokenizer");
        assert_eq!(
            edgesim::llm::tokenizer::Tokenizer::from_gguf(&f).is_ok(),
            has_tokenizer,
            "{p:?}"
        );
    }
    for (p, b) in seeds("tokenizer_json") {
        let f = tmp.path().join("tokenizer.json");
        std::fs::write(&f, &b).unwrap();
        edgesim::llm::tokenizer::Tokenizer::from_file(&f).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    let mut u = arbitrary::Unstructured::new(&[]);
    HwConfig::from_toml_str("hw_struct.toml", &harness::hw_text(&mut u).unwrap()).unwrap();
    let mut u = arbitrary::Unstructured::new(&[]);
    Workload::from_toml_str(&wfile, &harness::workload_text(&mut u).unwrap()).unwrap();
}

/// Seeds: the shipped files, and small checkpoints, GGUF files and tokenizers written by
/// the crate's own writers.
#[test]
#[ignore = "regenerates fuzz/seeds"]
fn write_seed_corpus() {
    use edgesim::llm::checkpoint::StoreDtype;
    use edgesim::llm::checkpoint::gguf::{GgmlDType, gguf_parts};
    use edgesim::workload::Workload;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = seed_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let copy_dir = |target: &str, dir: &str, ext: &str| {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == ext) {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                write(target, &name, &std::fs::read(&p).unwrap());
            }
        }
    };
    copy_dir("hw_toml", "hw_configs", "toml");
    copy_dir("workload_toml", "workloads", "toml");
    copy_dir("sweep_spec", "hw_configs/sweeps", "toml");
    copy_dir("policy_toml", "workloads/policies", "toml");
    copy_dir("sensitivity_csv", "data", "csv");
    copy_dir("sensitivity_csv", "data/smollm2", "csv");
    for t in ["hw_struct", "workload_struct", "gguf_tokenizer_struct"] {
        write(t, "empty", b"");
    }
    // Schedules: a searched line, a line with every kind of token, a `[schedule]` table.
    let line = "zigzag:4 micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/70%/0%";
    write("schedule_spec", "searched.txt", line.as_bytes());
    let line = "row micro-batch 2 prefetch off recompute 3 ssd w/s/o 15%/5%/100%";
    write("schedule_spec", "row.txt", line.as_bytes());
    write(
        "schedule_spec",
        "schedule.toml",
        b"[schedule]\ntraversal = \"column\"\nmicro_batch_size = 1\nprefetch = true\n\
          recompute = 2\nweights_on_ssd = 0.25\nsaved_on_ssd = \"70%\"\n",
    );

    // Trace files of the tiny workloads (the analytic builder's output).
    for w in [
        "tiny_lora",
        "tiny_edge_llm",
        "tiny_lst",
        "tiny_partial",
        "tiny_full",
    ] {
        let wl = Workload::from_file(&root.join(format!("workloads/{w}.toml"))).unwrap();
        let json = wl.trace().unwrap().to_json_string();
        write("trace_json", &format!("{w}.json"), json.as_bytes());
    }

    let cfg = harness::tiny_config();
    write("llama_config", "tiny.json", cfg.to_json_string().as_bytes());
    write(
        "llama_config",
        "smollm2.json",
        edgesim::llm::checkpoint::LlamaConfig::smollm2_135m()
            .to_json_string()
            .as_bytes(),
    );

    let (ckpt, _) = edgesim::llm::synth::synth_config(cfg, 7).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (dtype, name) in [
        (StoreDtype::F32, "f32"),
        (StoreDtype::F16, "f16"),
        (StoreDtype::BF16, "bf16"),
    ] {
        let d = tmp.path().join(name);
        ckpt.save(&d, dtype, 1).unwrap();
        let bytes = std::fs::read(d.join("model.safetensors")).unwrap();
        write("safetensors", &format!("{name}.safetensors"), &bytes);
    }

    for (dtype, name) in [(GgmlDType::F32, "f32"), (GgmlDType::Q8_0, "q8_0")] {
        let mut parts = gguf_parts(&ckpt, dtype, 64).unwrap();
        write("gguf", &format!("{name}.gguf"), &parts.to_bytes().unwrap());
        if dtype == GgmlDType::Q8_0 {
            parts.metadata.extend(harness::tiny_metadata());
            write("gguf", "q8_0-tokenizer.gguf", &parts.to_bytes().unwrap());
        }
    }

    let md: std::collections::HashMap<_, _> = harness::tiny_metadata().into_iter().collect();
    let tok = edgesim::llm::tokenizer::gguf::from_metadata("tiny", &md).unwrap();
    write(
        "tokenizer_json",
        "tiny.json",
        tok.to_string(false).unwrap().as_bytes(),
    );

    // calib: header (format, seq_len u16 LE, max_samples, vocabulary) + file.
    let calib_text = std::fs::read(root.join("data/calibration_text.txt")).unwrap();
    for (name, header, body) in [
        ("ids", [1u8, 4, 0, 8, 0], b"1, 2 3,4\n\n5 6\n7\n".to_vec()),
        (
            "auto-ids",
            [0u8, 3, 0, 2, 0],
            b"10 20 30 40\n255\n".to_vec(),
        ),
        ("text-bytes", [2u8, 32, 0, 16, 0], calib_text.clone()),
        ("text-bpe", [6u8, 16, 0, 16, 1], calib_text),
    ] {
        let mut bytes = header.to_vec();
        bytes.extend(body);
        write("calib", name, &bytes);
    }
}

/// Triage: prints the file a structure-aware input stands for
/// (`EDGESIM_FUZZ_INPUT=path cargo test --release --test fuzz_corpus show_struct_input --
/// --ignored --nocapture`; `hw_struct` and `workload_struct` inputs).
#[test]
#[ignore = "triage aid; needs EDGESIM_FUZZ_INPUT"]
fn show_struct_input() {
    let path = std::env::var("EDGESIM_FUZZ_INPUT").expect("EDGESIM_FUZZ_INPUT=file");
    let data = std::fs::read(&path).unwrap();
    let mut u = arbitrary::Unstructured::new(&data);
    let text = if path.contains("hw_struct") {
        harness::hw_text(&mut u)
    } else {
        harness::workload_text(&mut u)
    };
    println!("{}", text.unwrap());
}
