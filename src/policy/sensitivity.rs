//! Readers for per-layer sensitivity CSVs.
//!
//! - Pruning: header `layer,sparsity,sample,mse` (the format of the authors' measured
//!   LLaMA-7B file shipped in `data/`): MSE of the model output when only `layer` is
//!   pruned to `sparsity`, on calibration sample `sample`.
//! - Quantisation: header `layer,bits,sample,mse`.
//!
//! Columns may come in any order; every value is validated and a bad row is an error
//! naming the file, line, column and the allowed range. Rows are grouped by layer index
//! (sorted), never by file order: the reference code read its per-layer files in
//! directory order and so mapped sensitivities to the wrong layers.

use crate::error::{Error, Result};
use std::path::Path;

/// What the second column varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitivityKind {
    /// Pruning sensitivity: column `sparsity` in [0, 1].
    Pruning,
    /// Quantisation sensitivity: column `bits`, an integer in [1, 32].
    Quantization,
}

impl SensitivityKind {
    fn level_column(self) -> &'static str {
        match self {
            SensitivityKind::Pruning => "sparsity",
            SensitivityKind::Quantization => "bits",
        }
    }
}

/// One validated CSV row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensitivityRow {
    /// Decoder layer index.
    pub layer: u32,
    /// Sparsity (pruning) or bits (quantisation) of the measurement.
    pub level: f64,
    /// Calibration sample index.
    pub sample: u32,
    /// Measured mean squared error (>= 0).
    pub mse: f64,
    /// 1-based line in the file (for error messages).
    pub line: u64,
}

/// A parsed sensitivity file.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityTable {
    /// File name (for messages).
    pub file: String,
    /// Pruning or quantisation.
    pub kind: SensitivityKind,
    /// All rows, in file order.
    pub rows: Vec<SensitivityRow>,
}

/// Number of calibration samples averaged per (layer, level) by the reference code.
pub const REFERENCE_SAMPLES: u32 = 7;

impl SensitivityTable {
    /// Reads a CSV file of the given kind.
    pub fn from_file(path: &Path, kind: SensitivityKind) -> Result<Self> {
        let text = crate::io_util::read_to_string(path)?;
        Self::from_csv_str(&path.display().to_string(), &text, kind)
    }

    /// Parses CSV text; `file` names it in errors.
    pub fn from_csv_str(file: &str, text: &str, kind: SensitivityKind) -> Result<Self> {
        let level_col = kind.level_column();
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| Error::input(file, "line 1", format!("cannot read header: {e}")))?
            .clone();
        let want = ["layer", level_col, "sample", "mse"];
        let mut idx = [0usize; 4];
        for (slot, name) in idx.iter_mut().zip(want) {
            *slot = headers.iter().position(|h| h == name).ok_or_else(|| {
                Error::input(
                    file,
                    "line 1",
                    format!(
                        "missing column `{name}`; expected header {}",
                        want.join(",")
                    ),
                )
            })?;
        }
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Error::input(file, format!("line {line}"), format!("unreadable row: {e}"))
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.iter().all(|f| f.is_empty()) {
                continue;
            }
            if rec.len() != headers.len() {
                return Err(Error::input(
                    file,
                    format!("line {line}"),
                    format!(
                        "{} fields, expected {} ({})",
                        rec.len(),
                        headers.len(),
                        headers.iter().collect::<Vec<_>>().join(",")
                    ),
                ));
            }
            let field = |k: usize| rec.get(idx[k]).unwrap_or("");
            let at = |k: usize| format!("line {line}, column {}", want[k]);
            let layer = parse_uint(field(0), 0, 65535).ok_or_else(|| {
                Error::input(
                    file,
                    at(0),
                    format!("`{}` is not an integer in [0, 65535]", field(0)),
                )
            })? as u32;
            let level = match kind {
                SensitivityKind::Pruning => parse_num(field(1))
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        Error::input(
                            file,
                            at(1),
                            format!("`{}` is not a number in [0, 1]", field(1)),
                        )
                    })?,
                SensitivityKind::Quantization => parse_uint(field(1), 1, 32).ok_or_else(|| {
                    Error::input(
                        file,
                        at(1),
                        format!("`{}` is not an integer in [1, 32]", field(1)),
                    )
                })? as f64,
            };
            let sample = parse_uint(field(2), 0, u32::MAX as u64).ok_or_else(|| {
                Error::input(
                    file,
                    at(2),
                    format!("`{}` is not a non-negative integer", field(2)),
                )
            })? as u32;
            let mse = parse_num(field(3)).filter(|x| *x >= 0.0).ok_or_else(|| {
                Error::input(
                    file,
                    at(3),
                    format!("`{}` is not a finite number >= 0", field(3)),
                )
            })?;
            rows.push(SensitivityRow {
                layer,
                level,
                sample,
                mse,
                line,
            });
        }
        if rows.is_empty() {
            return Err(Error::input(file, "rows", "no data rows"));
        }
        Ok(SensitivityTable {
            file: file.to_string(),
            kind,
            rows,
        })
    }

    /// Highest layer index + 1.
    pub fn layer_count(&self) -> u32 {
        self.rows.iter().map(|r| r.layer + 1).max().unwrap_or(0)
    }

    /// Per-layer sensitivity as the reference code computes it: the mean MSE over all
    /// levels and the samples with index `< max_samples`, for layers `0..layers`.
    /// `None` marks a missing layer: no rows, or every selected MSE exactly zero (the
    /// shared LLaMA-7B file's layer 31 is such an artefact of the authors' generator).
    /// A row whose layer is `>= layers` is an error naming its line.
    pub fn per_layer_mean(&self, layers: u32, max_samples: u32) -> Result<Vec<Option<f64>>> {
        let mut sum = vec![0.0; layers as usize];
        let mut count = vec![0u64; layers as usize];
        let mut selected: Vec<Vec<f64>> = vec![Vec::new(); layers as usize];
        for r in &self.rows {
            if r.layer >= layers {
                return Err(Error::input(
                    &self.file,
                    format!("line {}, column layer", r.line),
                    format!(
                        "layer {} is out of range; allowed [0, {}] for a {}-layer model",
                        r.layer,
                        layers.saturating_sub(1),
                        layers
                    ),
                ));
            }
            if r.sample < max_samples {
                sum[r.layer as usize] += r.mse;
                count[r.layer as usize] += 1;
                selected[r.layer as usize].push(r.mse);
            }
        }
        Ok((0..layers as usize)
            .map(|j| {
                if count[j] == 0 || sum[j] == 0.0 {
                    None
                } else if sum[j].is_finite() {
                    Some(sum[j] / count[j] as f64)
                } else {
                    // The plain sum of MSEs near f64::MAX overflowed (inf / count would
                    // reach eq. 2 as NaN): the scaled mean of the same values is finite.
                    Some(super::stats::finite_mean(&selected[j]))
                }
            })
            .collect())
    }
}

fn parse_num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn parse_uint(s: &str, lo: u64, hi: u64) -> Option<u64> {
    s.parse::<u64>().ok().filter(|x| (lo..=hi).contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        SensitivityTable::from_csv_str("s.csv", text, SensitivityKind::Pruning)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_and_averages_sorted_by_layer() {
        // Rows out of order: the mean must still land on the right layer.
        let t = SensitivityTable::from_csv_str(
            "s.csv",
            "layer,sparsity,sample,mse\n1,0.5,0,4\n0,0.5,0,1\n1,0.1,0,2\n0,0.1,0,3\n0,0.1,9,100\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        assert_eq!(t.layer_count(), 2);
        // Sample 9 is beyond the first 7 and ignored: layer 0 = (1+3)/2, layer 1 = (4+2)/2.
        let m = t.per_layer_mean(3, 7).unwrap();
        assert_eq!(m, vec![Some(2.0), Some(3.0), None]);
        let e = t.per_layer_mean(1, 7).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("[0, 0]"), "{e}");
    }

    #[test]
    fn means_of_huge_mses_stay_finite() {
        // The per-layer sum 1e308 + 1e308 overflows; the mean (1e308) does not.
        let t = SensitivityTable::from_csv_str(
            "s.csv",
            "layer,sparsity,sample,mse\n0,0.5,0,1e308\n0,0.5,1,1e308\n1,0.5,0,0.1\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        let m = t.per_layer_mean(2, 7).unwrap();
        let m0 = m[0].unwrap();
        assert!((m0 - 1e308).abs() <= 1e308 * 1e-15, "{m0}");
        assert_eq!(m[1], Some(0.1));
        // f64::MAX everywhere: the mean is f64::MAX itself.
        let max = format!("{:e}", f64::MAX);
        let t = SensitivityTable::from_csv_str(
            "s.csv",
            &format!("layer,sparsity,sample,mse\n0,0.5,0,{max}\n0,0.1,0,{max}\n"),
            SensitivityKind::Pruning,
        )
        .unwrap();
        assert_eq!(t.per_layer_mean(1, 7).unwrap(), vec![Some(f64::MAX)]);
    }

    #[test]
    fn all_zero_layer_is_missing() {
        let t = SensitivityTable::from_csv_str(
            "s.csv",
            "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,0\n1,0.5,1,0.0\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        assert_eq!(t.per_layer_mean(2, 7).unwrap(), vec![Some(1.0), None]);
    }

    #[test]
    fn bad_rows_name_file_line_column_and_range() {
        let e = err("layer,sparsity,sample,mse\n0,0.5,0,abc\n");
        assert!(
            e.contains("s.csv: line 2, column mse") && e.contains(">= 0"),
            "{e}"
        );
        let e = err("layer,sparsity,sample,mse\n0,0.5,0,-1\n");
        assert!(e.contains("column mse"), "{e}");
        let e = err("layer,sparsity,sample,mse\n-1,0.5,0,1\n");
        assert!(
            e.contains("column layer") && e.contains("[0, 65535]"),
            "{e}"
        );
        let e = err("layer,sparsity,sample,mse\n0,1.5,0,1\n");
        assert!(e.contains("column sparsity") && e.contains("[0, 1]"), "{e}");
        let e = err("layer,sparsity,sample,mse\n0,0.5,0\n");
        assert!(
            e.contains("line 2") && e.contains("3 fields, expected 4"),
            "{e}"
        );
        let e = err("layer,sample,mse\n0,0,1\n");
        assert!(e.contains("missing column `sparsity`"), "{e}");
        let e = err("layer,sparsity,sample,mse\n");
        assert!(e.contains("no data rows"), "{e}");
        let e = SensitivityTable::from_csv_str(
            "q.csv",
            "layer,bits,sample,mse\n0,4.5,0,1\n",
            SensitivityKind::Quantization,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("column bits") && e.contains("[1, 32]"), "{e}");
    }

    #[test]
    fn missing_file_is_an_input_error() {
        let e = SensitivityTable::from_file(Path::new("/no/such.csv"), SensitivityKind::Pruning)
            .unwrap_err();
        assert!(e.is_input() && e.to_string().contains("/no/such.csv"));
    }
}
