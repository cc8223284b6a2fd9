//! Helpers shared by integration tests.

#![allow(dead_code)]

use edgesim::data::RealData;

/// The fetched real model and corpus, or `None` with the reason printed, so a local run
/// without them skips the real-model tests. Under CI (`CI` set) missing data is a
/// failure: `.ci/run` fetches it, so a skip there would hide a broken fetch.
pub fn real_data_or_skip(test: &str) -> Option<RealData> {
    match RealData::locate() {
        Ok(d) => Some(d),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{test}: real data required under CI: {e}")
        }
        Err(e) => {
            eprintln!("skipping {test}: {e}");
            None
        }
    }
}

/// The fetched SmolLM2 GGUF file alone (the novels may be missing), or `None` with the
/// reason printed; under CI a missing file is a failure, as in [`real_data_or_skip`].
pub fn real_gguf_or_skip(test: &str) -> Option<std::path::PathBuf> {
    let path = edgesim::data::data_dir()
        .join("smollm2")
        .join(edgesim::data::SMOLLM2_GGUF);
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{} not found; run `bash scripts/fetch-real-data.sh`",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{test}: real data required under CI: {why}");
    }
    eprintln!("skipping {test}: {why}");
    None
}
