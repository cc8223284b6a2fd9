//! Boundary values for the keys of a TOML file: each key is described by its kind and
//! the range its reader accepts; the generator picks the typical value most often, else
//! a boundary (the range's ends, just outside them, 0, 1, huge, fractional, negative,
//! NaN/inf, the wrong type) or the key is left out. An exhausted input yields the typical
//! value, so the empty input is a valid file.

use arbitrary::{Result, Unstructured};
use toml::{Table, Value};

/// The values a key accepts.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Integer in `[min, max]`, typically `typ`.
    Int(i64, i64, i64),
    /// Float in `[min, max]`, typically `typ`.
    Float(f64, f64, f64),
    /// One of these strings (each equally typical).
    Choice(&'static [&'static str]),
    /// A boolean.
    Bool,
}

/// A value for a key of `kind`, or `None` to leave the key out.
pub fn value(u: &mut Unstructured, kind: Kind) -> Result<Option<Value>> {
    let pick: u8 = u.int_in_range(0..=63)?;
    Ok(match kind {
        Kind::Int(min, max, typ) => match pick {
            0..=43 => Some(Value::Integer(typ)),
            44 => Some(Value::Integer(min)),
            45 => Some(Value::Integer(max)),
            46 => Some(Value::Integer(min.saturating_sub(1))),
            47 => Some(Value::Integer(max.saturating_add(1))),
            48 => Some(Value::Integer(0)),
            49 => Some(Value::Integer(1)),
            50 => Some(Value::Integer(i64::MAX)),
            51 => Some(Value::Integer(-1)),
            52 => Some(Value::Integer(i64::MIN)),
            53 => Some(Value::Float(typ as f64 + 0.5)),
            54 => Some(Value::Float(typ as f64)),
            55 => Some(Value::Float(f64::NAN)),
            56 => Some(Value::Float(f64::INFINITY)),
            57 => Some(Value::String(typ.to_string())),
            58 => Some(Value::Integer(1 << 32)),
            59..=62 => Some(Value::Integer(u.int_in_range(min..=max)?)),
            _ => None,
        },
        Kind::Float(min, max, typ) => match pick {
            0..=43 => Some(Value::Float(typ)),
            44 => Some(Value::Float(min)),
            45 => Some(Value::Float(max)),
            46 => Some(Value::Float(min - (min.abs() * 1e-9).max(1e-300))),
            47 => Some(Value::Float(max * (1.0 + 1e-9))),
            48 => Some(Value::Float(0.0)),
            49 => Some(Value::Integer(1)),
            50 => Some(Value::Float(1e300)),
            51 => Some(Value::Float(-0.5)),
            52 => Some(Value::Float(f64::MIN_POSITIVE)),
            53 => Some(Value::Float(typ * 0.5)),
            54 => Some(Value::Integer(typ as i64)),
            55 => Some(Value::Float(f64::NAN)),
            56 => Some(Value::Float(f64::INFINITY)),
            57 => Some(Value::Float(f64::NEG_INFINITY)),
            58 => Some(Value::Boolean(true)),
            59..=62 => {
                let f = f64::from(u.int_in_range(0..=u32::MAX)?) / f64::from(u32::MAX);
                Some(Value::Float(min + (max - min) * f))
            }
            _ => None,
        },
        Kind::Choice(options) => match pick {
            0..=55 => Some(Value::String(
                options[usize::from(pick) % options.len()].to_string(),
            )),
            56 => Some(Value::String(String::new())),
            57 => Some(Value::String(options[0].to_uppercase())),
            58 => Some(Value::Integer(1)),
            59..=62 => Some(Value::String(u.arbitrary::<String>()?)),
            _ => None,
        },
        Kind::Bool => match pick {
            0..=27 => Some(Value::Boolean(false)),
            28..=55 => Some(Value::Boolean(true)),
            56..=62 => Some(Value::String("true".into())),
            _ => None,
        },
    })
}

/// Sets `table[key]` to a value of `kind` (or leaves it out).
pub fn set(u: &mut Unstructured, table: &mut Table, key: &str, kind: Kind) -> Result<()> {
    if let Some(v) = value(u, kind)? {
        table.insert(key.to_string(), v);
    }
    Ok(())
}

/// Sets every `(key, kind)` of `keys` in `table`.
pub fn set_all(u: &mut Unstructured, table: &mut Table, keys: &[(&str, Kind)]) -> Result<()> {
    for &(k, kind) in keys {
        set(u, table, k, kind)?;
    }
    Ok(())
}

/// Now and then an unknown key (the readers must name it).
pub fn maybe_unknown(u: &mut Unstructured, table: &mut Table) -> Result<()> {
    if u.int_in_range(0u8..=63)? == 63 {
        table.insert("unknown_key".into(), Value::Integer(1));
    }
    Ok(())
}

/// A list of `n` values of `kind` (each via [`value`]; left-out entries are skipped).
pub fn list(u: &mut Unstructured, n: usize, kind: Kind) -> Result<Value> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if let Some(v) = value(u, kind)? {
            out.push(v);
        }
    }
    Ok(Value::Array(out))
}
