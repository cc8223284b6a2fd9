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
