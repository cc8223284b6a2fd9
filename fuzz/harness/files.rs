//! Paths the harnesses need: the repository root (so that relative paths in shipped
//! files, e.g. a workload's `../data/...csv`, resolve) and a scratch directory for the
//! readers that take a path (safetensors directories, GGUF files, tokenizer.json).

use std::path::{Path, PathBuf};

/// The repository root: the including crate's manifest directory, or its parent when that
/// is the `fuzz/` crate.
pub fn repo_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.join("fuzz_targets").is_dir() {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// A scratch directory private to this process, thread and `name` (created once; the
/// replay test runs targets on parallel threads).
pub fn scratch(name: &str) -> PathBuf {
    let tid = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let dir =
        std::env::temp_dir().join(format!("edgesim-fuzz-{}-{tid}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Writes `bytes` to `dir/file` (replacing it) and returns the path.
pub fn put(dir: &Path, file: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, bytes).expect("scratch write");
    p
}
