//! A schedule written by the user: the one-line form `edgesim run` prints, or a
//! `[schedule]` table in a TOML file (`--schedule SPEC` of `run`, `sim` and `sweep`).
//!
//! One-line form, exactly as [`Schedule`]'s `Display` writes it (tokens separated by
//! white space):
//!
//! ```text
//! TRAVERSAL micro-batch N prefetch on|off recompute K ssd w/s/o W%/S%/O%
//! zigzag:4 micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/70%/0%
//! ```
//!
//! - `TRAVERSAL`: `row`, `column` or `zigzag:B` (B >= 1 micro-batches per block);
//! - `N`: sequences per micro-batch, an integer >= 1;
//! - `K`: forward columns recomputed in backward, an integer in 0..=4294967295, taken in
//!   the model's ranking (`cost::Model::recompute_order`);
//! - `W%/S%/O%`: whole percentages 0..=100 of the stored weights, the saved activations
//!   and the gradients + optimizer state kept on the SSD.
//!
//! A percentage that is a multiple of 5 is read as the search's placement grid computes
//! it, `(p / 5) x 0.05` (`search::space::grid` at the default step,
//! [`PLACEMENT_GRID_STEP`]; e.g. 70% is `14 x 0.05 = 0.7000000000000001`), so a printed
//! schedule of a search, read back, is bit for bit the schedule the search evaluated and
//! gives the same figures; other percentages are `p / 100`.
//!
//! TOML form (a file whose only table is `[schedule]`; keys named after the fields of
//! [`Schedule`] and [`Placement`], as `run --json` writes them):
//!
//! ```toml
//! [schedule]
//! traversal = "zigzag:4"     # required: row, column or zigzag:B
//! micro_batch_size = 1       # required: integer >= 1
//! prefetch = true            # required: true or false
//! recompute = 0              # optional, default 0: recomputed forward columns
//! weights_on_ssd = 0.0       # optional, default 0: a fraction in [0, 1] or "N%"
//! saved_on_ssd = "70%"       # optional, default 0
//! optimizer_on_ssd = 0       # optional, default 0
//! ```
//!
//! A fraction given as a number is used as written (`0.7`); the percent string is read
//! like the one-line form. Whether the schedule fits a workload (micro-batch dividing the
//! sequences per step, block size dividing the micro-batches, recomputation within the
//! recomputable columns, capacities) is decided when it is evaluated
//! ([`super::fixed`]), since one schedule may be given for several workloads and points.

use crate::cost::{Placement, Schedule};
use crate::error::{Error, Result};
use crate::grid::Traversal;
use crate::toml_util::{Section, parse};
use std::path::Path;
use std::str::FromStr;

/// Where errors of the one-line form point: the command-line flag.
pub const SPEC_FLAG: &str = "--schedule";

/// Step of the search's default placement grid (`SearchOptions::default().placement_step`):
/// percentages that are multiples of `100 x` this step are read as grid points.
pub const PLACEMENT_GRID_STEP: f64 = 0.05;

/// The one-line form, for error messages.
const FORM: &str = "TRAVERSAL micro-batch N prefetch on|off recompute K ssd w/s/o W%/S%/O%";

/// The fraction a whole percentage `pct` (0..=100) stands for: the search's grid point
/// `(pct / 5) x 0.05` when `pct` is a multiple of 5, else `pct / 100` (see the module doc).
pub fn percent_fraction(pct: u32) -> f64 {
    if pct.is_multiple_of(5) {
        // The arithmetic of `search::space::grid`: index times step.
        (pct / 5) as f64 * PLACEMENT_GRID_STEP
    } else {
        pct as f64 / 100.0
    }
}

/// An error of the one-line form on `key`.
fn err(key: &str, msg: impl Into<String>) -> Error {
    Error::input(SPEC_FLAG, key, msg)
}

/// A whole percentage 0..=100 written `P%`.
fn percent(key: &str, tok: &str) -> Result<u32> {
    let bad = || {
        err(
            key,
            format!("`{tok}`: expected a whole percentage from 0% to 100% (e.g. 70%)"),
        )
    };
    let digits = tok.strip_suffix('%').ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match digits.parse::<u32>() {
        Ok(p) if p <= 100 => Ok(p),
        _ => Err(bad()),
    }
}

/// A traversal token, with the error naming the schedule key.
fn traversal(file: &str, key: &str, tok: &str) -> Result<Traversal> {
    Traversal::from_str(tok).map_err(|_| {
        Error::input(
            file,
            key,
            format!("`{tok}`: expected row, column or zigzag:B with B >= 1"),
        )
    })
}

/// Parses the one-line form (see the module doc). Errors name the offending token, the
/// key it stands for and the allowed values; the file is [`SPEC_FLAG`].
pub fn parse_schedule(text: &str) -> Result<Schedule> {
    let mut toks = text.split_whitespace();
    let mut next = |key: &str, after: &str| {
        toks.next().ok_or_else(|| {
            err(
                key,
                format!("missing after `{after}`; the form is `{FORM}`"),
            )
        })
    };
    let keyword = |tok: &str, want: &str, after: &str| {
        if tok == want {
            Ok(())
        } else {
            Err(err(
                want,
                format!("expected `{want}` after `{after}`, found `{tok}`; the form is `{FORM}`"),
            ))
        }
    };
    let first = next("traversal", "--schedule")?;
    let t = traversal(SPEC_FLAG, "traversal", first)?;
    keyword(next("micro-batch", first)?, "micro-batch", first)?;
    let tok = next("micro-batch", "micro-batch")?;
    let micro_batch_size = match tok.parse::<u64>() {
        Ok(n) if n >= 1 && tok.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(err(
                "micro-batch",
                format!("`{tok}`: expected an integer >= 1 (sequences per micro-batch)"),
            ));
        }
    };
    keyword(next("prefetch", tok)?, "prefetch", tok)?;
    let tok = next("prefetch", "prefetch")?;
    let prefetch = match tok {
        "on" => true,
        "off" => false,
        _ => return Err(err("prefetch", format!("`{tok}`: expected on or off"))),
    };
    keyword(next("recompute", tok)?, "recompute", tok)?;
    let tok = next("recompute", "recompute")?;
    let recompute = match tok.parse::<u32>() {
        Ok(k) if tok.bytes().all(|b| b.is_ascii_digit()) => k,
        _ => {
            return Err(err(
                "recompute",
                format!(
                    "`{tok}`: expected an integer in 0..={} (forward columns recomputed)",
                    u32::MAX
                ),
            ));
        }
    };
    keyword(next("ssd", tok)?, "ssd", tok)?;
    keyword(next("w/s/o", "ssd")?, "w/s/o", "ssd")?;
    let tok = next("w/s/o", "w/s/o")?;
    let parts: Vec<&str> = tok.split('/').collect();
    if parts.len() != 3 {
        return Err(err(
            "w/s/o",
            format!(
                "`{tok}`: expected three percentages W%/S%/O% (weights, saved activations, \
                 gradients + optimizer state on the SSD), each 0% to 100%"
            ),
        ));
    }
    let w = percent("w/s/o weights", parts[0])?;
    let s = percent("w/s/o saved", parts[1])?;
    let o = percent("w/s/o optimizer", parts[2])?;
    if let Some(extra) = toks.next() {
        return Err(err(
            "schedule",
            format!("unexpected `{extra}` after the SSD percentages; the form is `{FORM}`"),
        ));
    }
    Ok(Schedule {
        traversal: t,
        micro_batch_size,
        prefetch,
        recompute,
        placement: Placement {
            weights_on_ssd: percent_fraction(w),
            saved_on_ssd: percent_fraction(s),
            optimizer_on_ssd: percent_fraction(o),
        },
    })
}

impl FromStr for Schedule {
    type Err = Error;
    /// The one-line form ([`parse_schedule`]).
    fn from_str(s: &str) -> Result<Self> {
        parse_schedule(s)
    }
}

/// A placement fraction of the `[schedule]` table: a number in [0, 1] used as written, or
/// a percentage string read like the one-line form; 0 when absent.
fn fraction(sec: &Section<'_>, key: &str) -> Result<f64> {
    match sec.raw(key) {
        None => Ok(0.0),
        Some(toml::Value::String(s)) => percent(key, s.trim())
            .map(percent_fraction)
            .map_err(|_| {
                sec.err(
                    key,
                    format!("\"{s}\": expected a fraction in [0, 1] or a whole percentage \"0%\" to \"100%\""),
                )
            }),
        // `+ 0.0` turns -0.0 into 0.0, which prints as `0%` and reads back.
        Some(_) => sec.f64_in(key, 0.0, 1.0).map(|f| f + 0.0),
    }
}

#[cfg(test)]
mod negative_zero {
    #[test]
    fn a_negative_zero_fraction_prints_as_0_and_reads_back() {
        let s = super::schedule_from_toml(
            "s.toml",
            "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\nweights_on_ssd = -0.0\n",
        )
        .unwrap();
        let line = s.to_string();
        assert!(line.ends_with("0%/0%/0%"), "{line}");
        assert_eq!(super::parse_schedule(&line).unwrap(), s);
    }
}

/// Reads a schedule from TOML text whose only table is `[schedule]` (see the module doc);
/// `file` names the source in errors (`file: schedule.micro_batch_size: ...`).
pub fn schedule_from_toml(file: &str, text: &str) -> Result<Schedule> {
    let table = parse(file, text)?;
    let root = Section::root(file, &table);
    let sec = root.section("schedule")?;
    root.deny_unknown()?;
    let t = sec.str("traversal")?;
    let traversal = traversal(file, &sec.key_path("traversal"), t)?;
    let micro_batch_size = sec.u64_in("micro_batch_size", 1, u64::MAX)?;
    let prefetch = sec
        .opt_bool("prefetch")?
        .ok_or_else(|| sec.err("prefetch", "missing; expected true or false"))?;
    let recompute = sec.u64_or("recompute", 0, 0, u32::MAX as u64)? as u32;
    let placement = Placement {
        weights_on_ssd: fraction(&sec, "weights_on_ssd")?,
        saved_on_ssd: fraction(&sec, "saved_on_ssd")?,
        optimizer_on_ssd: fraction(&sec, "optimizer_on_ssd")?,
    };
    sec.deny_unknown()?;
    Ok(Schedule {
        traversal,
        micro_batch_size,
        prefetch,
        recompute,
        placement,
    })
}

/// Reads a `[schedule]` TOML file.
pub fn schedule_from_file(path: &Path) -> Result<Schedule> {
    let text = crate::io_util::read_to_string(path)?;
    schedule_from_toml(&path.display().to_string(), &text)
}

/// The schedule of `--schedule SPEC`: a TOML file when `spec` names an existing file or
/// ends in `.toml`, else the one-line form.
pub fn load_schedule(spec: &str) -> Result<Schedule> {
    let p = Path::new(spec);
    if p.is_file() || spec.trim_end().ends_with(".toml") {
        schedule_from_file(p)
    } else {
        parse_schedule(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key_of(e: Error) -> (String, String) {
        match e {
            Error::Input { file, key, msg } => {
                assert_eq!(file, SPEC_FLAG);
                (key, msg)
            }
            other => panic!("not an input error: {other}"),
        }
    }

    #[test]
    fn the_printed_example_parses() {
        let s: Schedule = "zigzag:4 micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/70%/0%"
            .parse()
            .unwrap();
        assert_eq!(s.traversal, Traversal::Zigzag(4));
        assert_eq!(s.micro_batch_size, 1);
        assert!(s.prefetch);
        assert_eq!(s.recompute, 0);
        assert_eq!(s.placement.weights_on_ssd, 0.0);
        // 14 grid steps of 0.05, not the literal 0.7.
        assert_eq!(s.placement.saved_on_ssd, 14.0 * 0.05);
        assert_ne!(s.placement.saved_on_ssd, 0.7);
        assert_eq!(s.placement.optimizer_on_ssd, 0.0);
    }

    #[test]
    fn percentages_are_the_search_grid_and_print_back() {
        let grid =
            crate::search::space::grid(crate::search::SearchOptions::default().placement_step);
        assert_eq!(grid.len(), 21);
        for (k, g) in grid.iter().enumerate() {
            assert_eq!(percent_fraction(5 * k as u32).to_bits(), g.to_bits(), "{k}");
        }
        assert_eq!(
            crate::search::SearchOptions::default().placement_step,
            PLACEMENT_GRID_STEP
        );
        for p in 0..=100u32 {
            let f = percent_fraction(p);
            assert!((f - p as f64 / 100.0).abs() < 1e-15, "{p}");
            assert_eq!(format!("{:.0}", f * 100.0), p.to_string());
        }
    }

    #[test]
    fn errors_name_the_token_and_the_allowed_values() {
        let bad = [
            (
                "diagonal micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
                "traversal",
                "`diagonal`",
            ),
            (
                "zigzag:0 micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
                "traversal",
                "zigzag:B",
            ),
            (
                "row micro-batch 0 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
                "micro-batch",
                "`0`",
            ),
            (
                "row micro-batch -1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
                "micro-batch",
                ">= 1",
            ),
            (
                "row micro-batch 1 prefetch yes recompute 0 ssd w/s/o 0%/0%/0%",
                "prefetch",
                "on or off",
            ),
            (
                "row micro-batch 1 prefetch on recompute x ssd w/s/o 0%/0%/0%",
                "recompute",
                "0..=4294967295",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/101%/0%",
                "w/s/o saved",
                "`101%`",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/5",
                "w/s/o optimizer",
                "0% to 100%",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%",
                "w/s/o",
                "three percentages",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0.5%/0%/0%",
                "w/s/o weights",
                "whole",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0% extra",
                "schedule",
                "`extra`",
            ),
            (
                "row micro-batch 1 prefetch on recompute 0",
                "ssd",
                "missing",
            ),
            (
                "row mb 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
                "micro-batch",
                "found `mb`",
            ),
            ("", "traversal", "missing"),
        ];
        for (text, key, needle) in bad {
            let (k, msg) = key_of(parse_schedule(text).unwrap_err());
            assert_eq!(k, key, "{text}: {msg}");
            assert!(msg.contains(needle), "{text}: {msg}");
        }
    }

    #[test]
    fn the_toml_table_reads_every_field() {
        let s = schedule_from_toml(
            "s.toml",
            "[schedule]\ntraversal = \"zigzag:4\"\nmicro_batch_size = 2\nprefetch = true\n\
             recompute = 3\nweights_on_ssd = 0.25\nsaved_on_ssd = \"70%\"\n",
        )
        .unwrap();
        assert_eq!(
            s,
            Schedule {
                traversal: Traversal::Zigzag(4),
                micro_batch_size: 2,
                prefetch: true,
                recompute: 3,
                placement: Placement {
                    weights_on_ssd: 0.25,
                    saved_on_ssd: percent_fraction(70),
                    optimizer_on_ssd: 0.0,
                },
            }
        );
        // The same schedule in one line.
        assert_eq!(
            s.to_string().parse::<Schedule>().unwrap(),
            Schedule {
                placement: Placement {
                    weights_on_ssd: percent_fraction(25),
                    ..s.placement
                },
                ..s
            }
        );
    }

    #[test]
    fn toml_errors_name_file_and_key() {
        let cases = [
            ("", "schedule", "missing table"),
            (
                "[schedule]\nmicro_batch_size = 1\nprefetch = true\n",
                "schedule.traversal",
                "missing",
            ),
            (
                "[schedule]\ntraversal = \"spiral\"\nmicro_batch_size = 1\nprefetch = true\n",
                "schedule.traversal",
                "`spiral`",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 0\nprefetch = true\n",
                "schedule.micro_batch_size",
                "allowed [1,",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\n",
                "schedule.prefetch",
                "true or false",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\nsaved_on_ssd = 1.5\n",
                "schedule.saved_on_ssd",
                "allowed [0, 1]",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\nsaved_on_ssd = \"70\"\n",
                "schedule.saved_on_ssd",
                "\"0%\" to \"100%\"",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\nrecompute = -1\n",
                "schedule.recompute",
                "allowed [0, 4294967295]",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\nprefetching = true\n",
                "schedule.prefetching",
                "unknown key",
            ),
            (
                "[schedule]\ntraversal = \"row\"\nmicro_batch_size = 1\nprefetch = true\n[other]\n",
                "other",
                "unknown key",
            ),
        ];
        for (text, key, needle) in cases {
            match schedule_from_toml("s.toml", text).unwrap_err() {
                Error::Input { file, key: k, msg } => {
                    assert_eq!(
                        (file.as_str(), k.as_str()),
                        ("s.toml", key),
                        "{text}: {msg}"
                    );
                    assert!(msg.contains(needle), "{text}: {msg}");
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn load_schedule_tells_a_file_from_the_one_line_form() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sched.toml");
        std::fs::write(
            &p,
            "[schedule]\ntraversal = \"column\"\nmicro_batch_size = 4\nprefetch = false\n",
        )
        .unwrap();
        let s = load_schedule(p.to_str().unwrap()).unwrap();
        assert_eq!(
            s.to_string(),
            "column micro-batch 4 prefetch off recompute 0 ssd w/s/o 0%/0%/0%"
        );
        let missing = dir.path().join("none.toml");
        assert!(matches!(
            load_schedule(missing.to_str().unwrap()),
            Err(Error::Io { .. })
        ));
        assert_eq!(load_schedule(&s.to_string()).unwrap(), s);
    }

    fn traversal_strategy() -> impl Strategy<Value = Traversal> {
        prop_oneof![
            Just(Traversal::Row),
            Just(Traversal::Column),
            (1u64..=u64::MAX).prop_map(Traversal::Zigzag),
        ]
    }

    fn schedule_strategy() -> impl Strategy<Value = Schedule> {
        (
            traversal_strategy(),
            1u64..=u64::MAX,
            any::<bool>(),
            any::<u32>(),
            (0u32..=100, 0u32..=100, 0u32..=100),
        )
            .prop_map(
                |(traversal, micro_batch_size, prefetch, recompute, (w, s, o))| Schedule {
                    traversal,
                    micro_batch_size,
                    prefetch,
                    recompute,
                    placement: Placement {
                        weights_on_ssd: percent_fraction(w),
                        saved_on_ssd: percent_fraction(s),
                        optimizer_on_ssd: percent_fraction(o),
                    },
                },
            )
    }

    proptest! {
        #[test]
        fn random_schedules_round_trip(s in schedule_strategy()) {
            let text = s.to_string();
            let back: Schedule = text.parse().unwrap();
            // Bit for bit, fractions included.
            prop_assert_eq!(back.placement.weights_on_ssd.to_bits(), s.placement.weights_on_ssd.to_bits());
            prop_assert_eq!(back.placement.saved_on_ssd.to_bits(), s.placement.saved_on_ssd.to_bits());
            prop_assert_eq!(back.placement.optimizer_on_ssd.to_bits(), s.placement.optimizer_on_ssd.to_bits());
            prop_assert_eq!(back, s);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn extra_white_space_is_accepted(s in schedule_strategy(), sep in "[ \t]{1,3}") {
            let text = s.to_string();
            let spaced = format!("  {}\n", text.split(' ').collect::<Vec<_>>().join(&sep));
            prop_assert_eq!(spaced.parse::<Schedule>().unwrap(), s);
        }

        #[test]
        fn a_replaced_token_is_refused_by_name(s in schedule_strategy(), i in 0usize..10, junk in "[a-zA-Z#.?-]{1,6}") {
            let text = s.to_string();
            let mut toks: Vec<String> = text.split(' ').map(str::to_string).collect();
            // Tokens: traversal, micro-batch, N, prefetch, on|off, recompute, K, ssd, w/s/o, fractions.
            let i = i.min(toks.len() - 1);
            prop_assume!(toks[i] != junk && !(i == 0 && ["row", "column"].contains(&junk.as_str()))
                && !(i == 4 && ["on", "off"].contains(&junk.as_str())));
            toks[i] = junk.clone();
            let expected = ["traversal", "micro-batch", "micro-batch", "prefetch", "prefetch",
                "recompute", "recompute", "ssd", "w/s/o", "w/s/o"][i];
            match toks.join(" ").parse::<Schedule>() {
                Ok(v) => prop_assert!(false, "accepted {v}"),
                Err(Error::Input { file, key, msg }) => {
                    prop_assert_eq!(file, SPEC_FLAG);
                    prop_assert!(key.starts_with(expected), "{} vs {}: {}", key, expected, msg);
                    prop_assert!(msg.contains(&junk) || msg.contains("missing"), "{}", msg);
                }
                Err(other) => prop_assert!(false, "{}", other),
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            let _ = text.parse::<Schedule>();
            let _ = schedule_from_toml("x.toml", &text);
        }
    }
}
