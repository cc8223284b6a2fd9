//! Reader of an R lazy-load database (`<base>.rdx` index + `<base>.rdb` blobs), the form
//! in which installed R packages keep their datasets (`data/Rdata.*`) and help pages.
//!
//! Format source: R's `src/library/base/R/lazyload.R` (`makeLazyLoadDB`, `lazyLoadDBexec`)
//! and `src/main/serialize.c` (`R_lazyLoadDBinsertValue`, `R_decompress1`), R 4.x:
//!
//! - `.rdx` is a serialized R list (see [`super::rserial`]) with `variables` (a named list;
//!   each element an integer pair: byte offset and byte length of the object's blob in the
//!   `.rdb`), `references` (the same for environments the objects refer to) and
//!   `compressed` (`TRUE` = zlib, `FALSE` = none, `2` = bzip2, `3` = xz). `saveRDS` writes
//!   the index gzip-compressed; older R wrote it as a 4-byte big-endian length followed by
//!   a zlib stream; both, and a raw `X\n` stream, are accepted.
//! - Each `.rdb` blob is a 4-byte big-endian uncompressed length followed by a zlib stream
//!   of one serialized object. Only zlib (and uncompressed) databases are read; bzip2 and
//!   xz are an error.

use super::rserial::{RObject, RValue, read_object};
use crate::error::{Error, Result};
use flate2::read::{GzDecoder, ZlibDecoder};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How the blobs of a database are compressed (`compressed` in the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored as serialized bytes (`compressed = FALSE`).
    None,
    /// 4-byte big-endian length + zlib stream (`compressed = TRUE`).
    Zlib,
}

/// An opened lazy-load database: the index and the blob file's bytes.
#[derive(Debug, Clone)]
pub struct LazyLoadDb {
    rdb_path: PathBuf,
    rdb: Vec<u8>,
    /// Object name -> (offset, length) in the `.rdb`, in index order.
    variables: Vec<(String, (usize, usize))>,
    compression: Compression,
}

impl LazyLoadDb {
    /// Opens `<base>.rdx` and `<base>.rdb` (`base` without extension, e.g.
    /// `.../janeaustenr/data/Rdata`; a `base` ending in `.rdx` or `.rdb` is accepted too).
    ///
    /// Errors: either file missing or unreadable, an index that is not a serialized list
    /// with `variables` and `compressed`, offsets outside the `.rdb`, a compression other
    /// than zlib or none.
    pub fn open(base: &Path) -> Result<Self> {
        let base = match base.extension().and_then(|e| e.to_str()) {
            Some("rdx" | "rdb") => base.with_extension(""),
            _ => base.to_path_buf(),
        };
        let rdx_path = base.with_extension("rdx");
        let rdb_path = base.with_extension("rdb");
        let rdx = std::fs::read(&rdx_path).map_err(|e| Error::io(&rdx_path, e))?;
        let rdb = std::fs::read(&rdb_path).map_err(|e| Error::io(&rdb_path, e))?;
        let rdx_name = rdx_path.display().to_string();
        let index = read_object(&decompress_index(&rdx, &rdx_name)?, &rdx_name)?.1;
        let bad = |key: &str, msg: &str| Error::input(&rdx_name, key, msg);
        let compression = match index.list_item("compressed").map(|o| &o.value) {
            Some(RValue::Logical(v)) if v.as_slice() == [Some(true)] => Compression::Zlib,
            Some(RValue::Logical(v)) if v.as_slice() == [Some(false)] => Compression::None,
            Some(RValue::Integer(v)) if v.as_slice() == [Some(1)] => Compression::Zlib,
            Some(RValue::Integer(v)) if v.as_slice() == [Some(0)] => Compression::None,
            Some(RValue::Integer(v)) if v.as_slice() == [Some(2)] => {
                return Err(bad(
                    "compressed",
                    "bzip2 (2) is not supported; readable: zlib",
                ));
            }
            Some(RValue::Integer(v)) if v.as_slice() == [Some(3)] => {
                return Err(bad("compressed", "xz (3) is not supported; readable: zlib"));
            }
            _ => {
                return Err(bad(
                    "compressed",
                    "missing or not one of TRUE, FALSE, 0-3; readable: TRUE (zlib), FALSE",
                ));
            }
        };
        let vars = index
            .list_item("variables")
            .ok_or_else(|| bad("variables", "missing from the index"))?;
        let (RValue::List(items), Some(names)) = (&vars.value, vars.names()) else {
            return Err(bad("variables", "not a named list"));
        };
        if items.len() != names.len() {
            return Err(bad("variables", "names and values differ in length"));
        }
        let mut variables = Vec::with_capacity(items.len());
        for (name, item) in names.iter().zip(items) {
            let name = name.clone().ok_or_else(|| bad("variables", "NA name"))?;
            let pair = offset_pair(item).ok_or_else(|| {
                bad(
                    &format!("variables${name}"),
                    "not a pair of non-negative (offset, length)",
                )
            })?;
            if pair.0.checked_add(pair.1).is_none_or(|end| end > rdb.len()) {
                return Err(bad(
                    &format!("variables${name}"),
                    &format!(
                        "blob at {} of {} bytes exceeds {} ({} bytes)",
                        pair.0,
                        pair.1,
                        rdb_path.display(),
                        rdb.len()
                    ),
                ));
            }
            variables.push((name, pair));
        }
        Ok(LazyLoadDb {
            rdb_path,
            rdb,
            variables,
            compression,
        })
    }

    /// Object names in index order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|(n, _)| n.as_str())
    }

    /// The blob compression of this database.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Reads the object `name`.
    ///
    /// Errors: unknown name (the known ones are listed), a corrupt blob (length prefix,
    /// zlib stream, decompressed size), or a serialization error (see
    /// [`super::rserial::read_object`]); the file is named `<rdb>:<name>`.
    pub fn get(&self, name: &str) -> Result<RObject> {
        let source = format!("{}:{name}", self.rdb_path.display());
        let (off, len) = self
            .variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                let known: Vec<&str> = self.names().collect();
                Error::input(
                    self.rdb_path.display().to_string(),
                    name,
                    format!("no such object; known: {}", known.join(", ")),
                )
            })?;
        let blob = &self.rdb[off..off + len];
        let bytes = match self.compression {
            Compression::None => blob.to_vec(),
            Compression::Zlib => inflate_prefixed(blob, &source)?,
        };
        Ok(read_object(&bytes, &source)?.1)
    }
}

/// `(offset, length)` from an integer or double pair.
fn offset_pair(o: &RObject) -> Option<(usize, usize)> {
    let to = |x: f64| (x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53)).then_some(x as usize);
    match &o.value {
        RValue::Integer(v) if v.len() == 2 => {
            Some((usize::try_from(v[0]?).ok()?, usize::try_from(v[1]?).ok()?))
        }
        RValue::Real(v) if v.len() == 2 => Some((to(v[0])?, to(v[1])?)),
        _ => None,
    }
}

/// The serialized bytes of an index file: gzip, raw `X\n`, or length-prefixed zlib.
fn decompress_index(rdx: &[u8], name: &str) -> Result<Vec<u8>> {
    if rdx.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(rdx)
            .read_to_end(&mut out)
            .map_err(|e| Error::input(name, "gzip", format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else if rdx.starts_with(b"X\n") {
        Ok(rdx.to_vec())
    } else {
        inflate_prefixed(rdx, name)
    }
}

/// A 4-byte big-endian uncompressed length followed by a zlib stream of exactly that many
/// bytes (`R_decompress1`).
///
/// Errors: fewer than 4 bytes, a stream that is not zlib (the first byte of a zlib stream
/// names the deflate method, 0x?8), a corrupt stream, or a decompressed size other than
/// the prefix.
pub fn inflate_prefixed(blob: &[u8], source: &str) -> Result<Vec<u8>> {
    let Some((len, stream)) = blob.split_first_chunk::<4>() else {
        return Err(Error::input(
            source,
            "length prefix",
            format!(
                "blob of {} bytes is shorter than its 4-byte length",
                blob.len()
            ),
        ));
    };
    let len = u32::from_be_bytes(*len) as usize;
    // RFC 1950: CMF low nibble 8 = deflate, and (CMF*256 + FLG) is a multiple of 31.
    let is_zlib = stream.len() >= 2
        && stream[0] & 0x0f == 8
        && (u16::from(stream[0]) * 256 + u16::from(stream[1])) % 31 == 0;
    if !is_zlib {
        let what = match stream.first() {
            Some(b'B') if stream.starts_with(b"BZh") => "bzip2",
            Some(0xfd) => "xz",
            Some(b'X') => "uncompressed serialization",
            _ => "unknown",
        };
        return Err(Error::input(
            source,
            "compression",
            format!("blob is not a zlib stream ({what}); readable: zlib"),
        ));
    }
    let mut out = Vec::with_capacity(len.min(1 << 30));
    ZlibDecoder::new(stream)
        .take(len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::input(source, "zlib", format!("corrupt zlib stream: {e}")))?;
    if out.len() != len {
        return Err(Error::input(
            source,
            "length prefix",
            format!(
                "zlib stream inflates to {}{} bytes, prefix says {len}",
                out.len().min(len),
                if out.len() > len { "+" } else { "" }
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::rserial::xdr::Xdr;
    use super::*;
    use flate2::Compression as Level;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Level::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A 4-byte big-endian length + zlib blob, as `R_compress1` writes it.
    pub(crate) fn blob(serialized: &[u8]) -> Vec<u8> {
        let mut b = (serialized.len() as u32).to_be_bytes().to_vec();
        b.extend(zlib(serialized));
        b
    }

    /// Index: list(variables = list(<name> = c(off, len), ...), references = list(),
    /// compressed = <compressed>), gzip-compressed as `saveRDS` writes it.
    fn index(vars: &[(&str, usize, usize)], compressed: &dyn Fn(&mut Xdr)) -> Vec<u8> {
        let mut w = Xdr::header(3);
        w.flags(19, 0, true, false).int(3);
        w.flags(19, 0, true, false).int(vars.len() as i32);
        for (_, off, len) in vars {
            w.ints(&[*off as i32, *len as i32]);
        }
        let names: Vec<&str> = vars.iter().map(|v| v.0).collect();
        w.names_attr(&names);
        w.flags(19, 0, false, false).int(0);
        compressed(&mut w);
        w.names_attr(&["variables", "references", "compressed"]);
        let mut gz = GzEncoder::new(Vec::new(), Level::default());
        gz.write_all(&w.0).unwrap();
        gz.finish().unwrap()
    }

    pub(crate) fn lgl_true(w: &mut Xdr) {
        w.flags(10, 0, false, false).int(1).int(1);
    }

    /// Writes `<dir>/Rdata.rdb` from `blobs` and `<dir>/Rdata.rdx` indexing them.
    pub(crate) fn write_db(
        dir: &Path,
        blobs: &[(&str, Vec<u8>)],
        compressed: &dyn Fn(&mut Xdr),
    ) -> PathBuf {
        let mut rdb = Vec::new();
        let mut vars = Vec::new();
        for (name, b) in blobs {
            vars.push((*name, rdb.len(), b.len()));
            rdb.extend_from_slice(b);
        }
        let base = dir.join("Rdata");
        std::fs::write(base.with_extension("rdb"), rdb).unwrap();
        std::fs::write(base.with_extension("rdx"), index(&vars, compressed)).unwrap();
        base
    }

    pub(crate) fn strs(v: &[&str]) -> Vec<u8> {
        let mut w = Xdr::header(3);
        w.strs(v);
        w.0
    }

    #[test]
    fn assembled_database_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let base = write_db(
            dir.path(),
            &[
                ("first", blob(&strs(&["It is a truth", ""]))),
                ("second", blob(&strs(&["caf\u{e9}"]))),
            ],
            &lgl_true,
        );
        let db = LazyLoadDb::open(&base).unwrap();
        assert_eq!(db.compression(), Compression::Zlib);
        assert_eq!(db.names().collect::<Vec<_>>(), ["first", "second"]);
        let o = db.get("second").unwrap();
        assert_eq!(o.as_character().unwrap(), [Some("caf\u{e9}".to_string())]);
        let o = LazyLoadDb::open(&base.with_extension("rdx"))
            .unwrap()
            .get("first")
            .unwrap();
        assert_eq!(
            o.as_character().unwrap()[0].as_deref(),
            Some("It is a truth")
        );
        let e = db.get("third").unwrap_err().to_string();
        assert!(
            e.contains("third: no such object; known: first, second"),
            "{e}"
        );
    }

    #[test]
    fn length_prefixed_zlib_index_and_uncompressed_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let base = write_db(dir.path(), &[("x", strs(&["a"]))], &|w| {
            w.flags(10, 0, false, false).int(1).int(0);
        });
        // Re-store the index the pre-saveRDS way: 4-byte length + zlib.
        let rdx = base.with_extension("rdx");
        let mut raw = Vec::new();
        GzDecoder::new(&std::fs::read(&rdx).unwrap()[..])
            .read_to_end(&mut raw)
            .unwrap();
        std::fs::write(&rdx, blob(&raw)).unwrap();
        let db = LazyLoadDb::open(&base).unwrap();
        assert_eq!(db.compression(), Compression::None);
        assert_eq!(db.get("x").unwrap().as_character().unwrap().len(), 1);
    }

    #[test]
    fn other_compressions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = write_db(dir.path(), &[("x", blob(&strs(&["a"])))], &|w| {
            w.ints(&[3]);
        });
        let e = LazyLoadDb::open(&base).unwrap_err().to_string();
        assert!(
            e.contains("Rdata.rdx: compressed: xz (3) is not supported"),
            "{e}"
        );
        // A database claiming zlib whose blob is bzip2.
        let mut b = 10u32.to_be_bytes().to_vec();
        b.extend_from_slice(b"BZh91AY&SY");
        let base = write_db(dir.path(), &[("x", b)], &lgl_true);
        let e = LazyLoadDb::open(&base)
            .unwrap()
            .get("x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Rdata.rdb:x: compression: blob is not a zlib stream (bzip2)"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_blobs_and_offsets_are_clean_errors() {
        let dir = tempfile::tempdir().unwrap();
        // Length prefix disagreeing with the stream.
        let mut b = blob(&strs(&["abc"]));
        b[3] += 1;
        let base = write_db(dir.path(), &[("x", b)], &lgl_true);
        let e = LazyLoadDb::open(&base)
            .unwrap()
            .get("x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("length prefix") && e.contains("prefix says"),
            "{e}"
        );
        // Truncated zlib stream.
        let mut b = blob(&strs(&["abcdefgh"; 40]));
        b.truncate(b.len() - 6);
        let base = write_db(dir.path(), &[("x", b)], &lgl_true);
        let e = LazyLoadDb::open(&base)
            .unwrap()
            .get("x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Rdata.rdb:x: zlib: corrupt zlib stream"), "{e}");
        // A blob shorter than its length word.
        assert!(
            inflate_prefixed(&[0, 0], "b")
                .unwrap_err()
                .to_string()
                .contains("shorter than its 4-byte length")
        );
        // An offset beyond the .rdb.
        let base = write_db(dir.path(), &[("x", blob(&strs(&["a"])))], &lgl_true);
        let len = std::fs::metadata(base.with_extension("rdb")).unwrap().len();
        std::fs::write(base.with_extension("rdb"), vec![0u8; len as usize - 1]).unwrap();
        let e = LazyLoadDb::open(&base).unwrap_err().to_string();
        assert!(e.contains("variables$x") && e.contains("exceeds"), "{e}");
        // Missing files name the path.
        let e = LazyLoadDb::open(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.rdx"), "{e}");
    }

    #[test]
    fn serialization_errors_name_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Xdr::header(3);
        w.flags(4, 0, false, false); // ENVSXP
        let base = write_db(dir.path(), &[("env", blob(&w.0))], &lgl_true);
        let e = LazyLoadDb::open(&base)
            .unwrap()
            .get("env")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Rdata.rdb:env: byte 23: unsupported R SEXP type 4 (ENVSXP)"),
            "{e}"
        );
    }
}
