//! The two sensitivity CSVs in the number format of the authors' LLaMA-7B file.

use super::Sensitivity;

/// Formats a float like Python's `repr`, the number format of the authors'
/// `llama7b_layerwise_pruning_mse.csv` (`0.0`, `0.05`, `4.655122756958008e-05`): the
/// shortest digit count that round-trips, ties between two such digit strings broken to
/// even (Python's correctly rounded repr; Rust's shortest formatter breaks them upward,
/// which shows on f32-valued MSEs such as `0.0005807876586914062`), positional notation
/// for exponents -4..16 and scientific with a signed two-digit exponent otherwise.
pub fn py_float(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let shortest = format!("{:e}", v.abs()); // e.g. "5.807876586914063e-4"
    let digits = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .replace('.', "")
        .len()
        .max(1);
    // Same digit count, exact decimal expansion rounded half-to-even.
    let exact = format!("{:.*e}", digits - 1, v.abs());
    let (mantissa, exp) = exact.split_once('e').unwrap_or((&exact, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mantissa.replace('.', "");
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if d.len() <= int_len {
                format!("{d}{}.0", "0".repeat(int_len - d.len()))
            } else {
                format!("{}.{}", &d[..int_len], &d[int_len..])
            }
        } else {
            format!("0.{}{d}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let m = if d.len() > 1 {
            format!("{}.{}", &d[..1], &d[1..])
        } else {
            d.clone()
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    format!("{sign}{body}")
}

impl Sensitivity {
    /// `pruning_mse.csv`: header `layer,sparsity,sample,mse`, CRLF line ends and Python
    /// float formatting, byte-compatible with the authors' LLaMA-7B file.
    pub fn pruning_csv(&self) -> String {
        let mut s = String::from("layer,sparsity,sample,mse\r\n");
        for r in &self.pruning {
            s += &format!(
                "{},{},{},{}\r\n",
                r.layer,
                py_float(r.sparsity),
                r.sample,
                py_float(r.mse)
            );
        }
        s
    }

    /// `quant_mse.csv`: header `layer,bits,sample,mse`, same conventions.
    pub fn quant_csv(&self) -> String {
        let mut s = String::from("layer,bits,sample,mse\r\n");
        for r in &self.quant {
            s += &format!(
                "{},{},{},{}\r\n",
                r.layer,
                r.bits,
                r.sample,
                py_float(r.mse)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::luc::sensitivity::PruneMse;

    #[test]
    fn python_float_format() {
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(0.05), "0.05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(4.655122756958008e-05), "4.655122756958008e-05");
        assert_eq!(py_float(0.00012), "0.00012");
        assert_eq!(py_float(0.17), "0.17");
        assert_eq!(py_float(3.0), "3.0");
        assert_eq!(py_float(1.5e20), "1.5e+20");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(123456.5), "123456.5");
        assert_eq!(py_float(-0.25), "-0.25");
        assert_eq!(py_float(0.0005807876586914062), "0.0005807876586914062");
        assert_eq!(py_float(1e-5), "1e-05");
    }

    /// Every line of the authors' file re-formats to itself (the writer's number format
    /// is theirs).
    #[test]
    fn reproduces_the_shared_file_format() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/llama7b_layerwise_pruning_mse.csv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("{} is shipped with the crate", path.display());
        };
        let mut s = Sensitivity::default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            s.pruning.push(PruneMse {
                layer: f[0].parse().unwrap(),
                sparsity: f[1].parse().unwrap(),
                sample: f[2].parse().unwrap(),
                mse: f[3].parse().unwrap(),
            });
        }
        let ours = s.pruning_csv();
        for (a, b) in ours.split("\r\n").zip(text.split("\r\n")) {
            assert_eq!(a, b);
        }
        assert_eq!(ours, text);
    }
}
