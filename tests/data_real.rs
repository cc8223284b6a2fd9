//! The fetched real data (`scripts/fetch-real-data.sh`): the Jane Austen texts against
//! figures taken from the janeaustenr package itself (its tests, its help pages) and from
//! a published count, read through the R lazy-load reader; the pinned sums; the CLI.

mod common;

use edgesim::data::austen::{self, R_OBJECTS};
use edgesim::data::pinned::{self, FileState};
use edgesim::data::rlazy::{Compression, LazyLoadDb};
use edgesim::data::{JANEAUSTENR_DIR, NOVELS, RealData};
use std::process::Command;

/// The raw line vectors of the six novels, in `NOVELS` order.
fn raw_novels(d: &RealData) -> Vec<Vec<String>> {
    let db = LazyLoadDb::open(&d.janeaustenr_rdata()).unwrap();
    assert_eq!(db.compression(), Compression::Zlib);
    let mut names: Vec<&str> = db.names().collect();
    names.sort_unstable();
    let mut expected = R_OBJECTS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "the dataset holds exactly the six novels");
    R_OBJECTS
        .iter()
        .map(|o| austen::novel_lines(&db, o).unwrap())
        .collect()
}

/// `all_books_in_order` of the package's `tests/testthat/test_austen_books.R`: the
/// novels' titles in publication order, which is `NOVELS` order.
fn titles_from_package_tests(d: &RealData) -> Vec<String> {
    let path = d
        .dir
        .join(JANEAUSTENR_DIR)
        .join("tests")
        .join("test_austen_books.R");
    let src = std::fs::read_to_string(&path).unwrap();
    let start = src.find("all_books_in_order <- c(").expect("title vector") + 24;
    let body = &src[start..start + src[start..].find(')').unwrap()];
    body.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect()
}

#[test]
fn novels_start_with_their_titles_in_the_package_order() {
    let Some(d) = common::real_data_or_skip("novels_start_with_their_titles_in_the_package_order")
    else {
        return;
    };
    let titles = titles_from_package_tests(&d);
    assert_eq!(titles.len(), 6);
    for (name, title) in NOVELS.iter().zip(&titles) {
        let text = std::fs::read_to_string(d.novel(name)).unwrap();
        let first = text.lines().next().unwrap();
        // The package test spells "Sense & Sensibility"; the Gutenberg title page says
        // "SENSE AND SENSIBILITY".
        assert_eq!(
            first.to_uppercase(),
            title.replace('&', "and").to_uppercase(),
            "{name}"
        );
    }
}

#[test]
fn line_counts_match_the_package_and_the_published_total() {
    let Some(d) =
        common::real_data_or_skip("line_counts_match_the_package_and_the_published_total")
    else {
        return;
    };
    let raw = raw_novels(&d);
    let lines: Vec<usize> = raw.iter().map(Vec::len).collect();
    let idx = |n: &str| NOVELS.iter().position(|x| *x == n).unwrap();
    // test_austen_books.R: "Persuasion has fewer lines than Emma".
    assert!(lines[idx("persuasion")] < lines[idx("emma")]);
    // Silge and Robinson, "Text Mining with R" (O'Reilly 2017), section 1.3:
    // austen_books() has 73,422 rows, one per line of the six novels.
    assert_eq!(lines.iter().sum::<usize>(), 73_422);
    // The help page of `persuasion` (help/janeaustenr.rdb, an Rd object read through the
    // same lazy-load reader): "A character vector with 8328 elements". The other five
    // pages still give the counts of the data files replaced in janeaustenr 0.1.1.
    let help =
        LazyLoadDb::open(&d.dir.join(JANEAUSTENR_DIR).join("help").join("janeaustenr")).unwrap();
    let rd = help.get("persuasion").unwrap();
    let documented: usize = rd
        .all_strings()
        .iter()
        .find_map(|s| {
            s.trim_end()
                .strip_prefix("A character vector with ")?
                .strip_suffix(" elements")?
                .parse()
                .ok()
        })
        .expect("format line of the persuasion help page");
    assert_eq!(documented, 8328);
    assert_eq!(lines[idx("persuasion")], documented);
}

#[test]
fn text_files_are_the_raw_lines_reflowed() {
    let Some(d) = common::real_data_or_skip("text_files_are_the_raw_lines_reflowed") else {
        return;
    };
    for (name, raw) in NOVELS.iter().zip(raw_novels(&d)) {
        let text = std::fs::read_to_string(d.novel(name)).unwrap();
        // Same words in the same order: reflowing only moves whitespace.
        let raw_words: Vec<&str> = raw.iter().flat_map(|l| l.split_whitespace()).collect();
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words, raw_words, "{name}");
        // Paragraph count, counted naively: a non-blank raw line after a blank one (or at
        // the start) opens a paragraph; the file has one line per paragraph, one blank
        // line between, a final newline.
        let mut opened = 0;
        let mut prev_blank = true;
        for l in &raw {
            let blank = l.trim().is_empty();
            if !blank && prev_blank {
                opened += 1;
            }
            prev_blank = blank;
        }
        let file_lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(file_lines.len(), 2 * opened, "{name}");
        assert!(file_lines.iter().step_by(2).all(|l| !l.is_empty()));
        assert!(file_lines.iter().skip(1).step_by(2).all(|l| l.is_empty()));
    }
}

#[test]
fn famous_first_sentences_are_single_paragraphs() {
    let Some(d) = common::real_data_or_skip("famous_first_sentences_are_single_paragraphs") else {
        return;
    };
    let text = |n: &str| std::fs::read_to_string(d.novel(n)).unwrap();
    let pp = text("pride_and_prejudice");
    assert!(pp.lines().any(|l| l
        == "It is a truth universally acknowledged, that a single man in possession of a \
            good fortune, must be in want of a wife."));
    let emma = text("emma");
    assert!(emma.lines().any(|l| l.starts_with(
        "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy \
         disposition, seemed to unite some of the best blessings of existence;"
    )));
    // Mansfield Park's one non-ASCII character, the pound sign (janeaustenr 0.1.5 "fixed
    // encoding for Mansfield Park"), decoded from a string flagged UTF-8.
    assert!(text("mansfield_park").contains("her £20,000"));
    for n in NOVELS.iter().filter(|n| **n != "mansfield_park") {
        assert!(text(n).is_ascii(), "{n}");
    }
}

#[test]
fn every_pinned_file_is_present_with_its_sum() {
    let Some(d) = common::real_data_or_skip("every_pinned_file_is_present_with_its_sum") else {
        return;
    };
    let st = pinned::status(&d.dir).unwrap();
    assert_eq!(st.len(), 15);
    for s in st {
        assert_eq!(s.state, FileState::Ok, "{}", s.pinned.path);
    }
}

#[test]
fn cli_regenerates_identical_files() {
    let Some(d) = common::real_data_or_skip("cli_regenerates_identical_files") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["data", "austen", "--json", "--rdb"])
        .arg(d.janeaustenr_rdata())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let novels = v["novels"].as_array().unwrap();
    assert_eq!(novels.len(), 6);
    for (n, name) in novels.iter().zip(NOVELS) {
        assert_eq!(n["name"], name);
        assert_eq!(n["pinned"], true);
        let fresh = std::fs::read(out.path().join(format!("{name}.txt"))).unwrap();
        assert_eq!(fresh, std::fs::read(d.novel(name)).unwrap(), "{name}");
        assert_eq!(n["bytes"], fresh.len());
        assert_eq!(n["sha256"], pinned::sha256_hex(&fresh));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["data", "status", "--json"])
        .env("EDGESIM_DATA", &d.dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["from"], "$EDGESIM_DATA");
}

#[test]
fn cli_errors_name_the_file_and_exit_codes_differ() {
    // No real data needed: a missing dataset is bad input (2); an empty data directory
    // is reported file by file and fails (1).
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["data", "austen", "--rdb", "/nonexistent/Rdata", "--out"])
        .arg(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/Rdata.rdx"));
    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["data", "status"])
        .env("EDGESIM_DATA", empty.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("austen/emma.txt") && out.contains("missing"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("fetch-real-data.sh"));
}
