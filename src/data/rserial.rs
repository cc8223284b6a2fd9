//! Reader of R's serialization format (the bytes inside `.rds` files and inside every blob
//! of a lazy-load database), for the data-carrying object kinds.
//!
//! Format source: R Internals manual, section 1.8 "Serialization Formats", and R's
//! `src/main/serialize.c` (`ReadItem`, `InStringVec`, the flag macros) and
//! `src/include/Defn.h` (the CHARSXP encoding bits), R 4.x. Summary:
//!
//! - Header: `X\n` (XDR, i.e. big-endian binary; `A\n` ASCII and `B\n` native binary are
//!   not read), then three 32-bit integers: format version (2 or 3), the writer's R
//!   version, the minimal reader version; version 3 adds the native encoding (an integer
//!   length and that many bytes).
//! - Every item starts with a 32-bit flags word: bits 0-7 the SEXP type, bit 8 "is object",
//!   bit 9 "has attributes", bit 10 "has tag", bits 12-31 the "levels" (for a CHARSXP, its
//!   encoding: 1<<1 bytes, 1<<2 latin1, 1<<3 UTF-8, 1<<6 ASCII).
//! - Pseudo-types: 254 `NILVALUE_SXP` (R `NULL`); 255 `REFSXP`, a back-reference to the
//!   n-th (1-based) symbol or persistent object read so far, n in bits 8-31 of the flags or,
//!   when those are 0, in the next integer; 247 `PERSISTSXP`, a string vector (an integer
//!   0, a length, CHARSXPs) naming an object saved by a hook (R uses it for environments,
//!   e.g. `env::2` in help databases).
//! - `SYMSXP` (1): one CHARSXP, the name. `LISTSXP` (2), a pairlist node: attributes (if
//!   flagged), tag (if flagged), CAR, then CDR, another node or `NULL`.
//! - Vectors: a length (32-bit; -1 announces a long vector whose length follows as two
//!   32-bit halves, high first), the elements, then the attributes pairlist if flagged.
//!   `LGLSXP` (10) and `INTSXP` (13): 32-bit integers, NA = -2^31. `REALSXP` (14): IEEE
//!   doubles. `STRSXP` (16) and `VECSXP` (19) / `EXPRSXP` (20): items. `CHARSXP` (9): a
//!   length (-1 = `NA_character_`) and that many bytes.
//!
//! Every other type (closures, environments, language objects, ALTREP, bytecode...) is an
//! error naming the type code, the file and the byte offset. Nested depth is bounded
//! ([`MAX_DEPTH`]) and every length is checked against the bytes left before anything is
//! allocated, so a malformed input is an error, never a panic or a huge allocation.

use crate::error::{Error, Result};

/// Deepest nesting of vectors and pairlist values accepted; R data objects nest a few
/// levels (a data frame's columns, an Rd help object's sections), so this only stops
/// crafted inputs from exhausting the stack.
pub const MAX_DEPTH: usize = 512;

/// SEXP type codes, `src/include/Rinternals.h`.
const SYMSXP: u32 = 1;
const LISTSXP: u32 = 2;
const CHARSXP: u32 = 9;
const LGLSXP: u32 = 10;
const INTSXP: u32 = 13;
const REALSXP: u32 = 14;
const STRSXP: u32 = 16;
const VECSXP: u32 = 19;
const EXPRSXP: u32 = 20;
/// Serialization pseudo-types, `src/main/serialize.c`.
const PERSISTSXP: u32 = 247;
const NILVALUE_SXP: u32 = 254;
const REFSXP: u32 = 255;

/// Flag bits of an item header, `src/main/serialize.c`.
const HAS_ATTR_BIT: u32 = 1 << 9;
const HAS_TAG_BIT: u32 = 1 << 10;
/// CHARSXP encoding bits ("levels"), `src/include/Defn.h`.
const BYTES_MASK: u32 = 1 << 1;
const LATIN1_MASK: u32 = 1 << 2;
const UTF8_MASK: u32 = 1 << 3;
const ASCII_MASK: u32 = 1 << 6;

/// R's integer and logical NA (`NA_INTEGER`, `NA_LOGICAL`): the smallest 32-bit integer.
const NA_INT: i32 = i32::MIN;

/// An R value with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct RObject {
    /// The value.
    pub value: RValue,
    /// Attributes in stored order, as (name, value) pairs (e.g. `names`, `class`).
    pub attributes: Vec<(String, RObject)>,
}

/// The R value kinds this reader understands. Missing values are `None`.
#[derive(Debug, Clone, PartialEq)]
pub enum RValue {
    /// `NULL`.
    Null,
    /// A symbol (`SYMSXP`), by name.
    Symbol(String),
    /// A pairlist (`LISTSXP`), node by node: optional tag (a symbol name) and value.
    Pairlist(Vec<(Option<String>, RObject)>),
    /// A generic vector (`VECSXP`, R `list`) or expression vector (`EXPRSXP`).
    List(Vec<RObject>),
    /// A character vector (`STRSXP`), decoded to UTF-8.
    Character(Vec<Option<String>>),
    /// An integer vector (`INTSXP`).
    Integer(Vec<Option<i32>>),
    /// A logical vector (`LGLSXP`).
    Logical(Vec<Option<bool>>),
    /// A double vector (`REALSXP`); R's `NA_real_` is a NaN and stays one.
    Real(Vec<f64>),
    /// An object saved through a persistence hook (`PERSISTSXP`), by its names.
    Persistent(Vec<String>),
}

impl RValue {
    /// R's name of the value's kind (`character`, `list`...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            RValue::Null => "NULL",
            RValue::Symbol(_) => "symbol",
            RValue::Pairlist(_) => "pairlist",
            RValue::List(_) => "list",
            RValue::Character(_) => "character",
            RValue::Integer(_) => "integer",
            RValue::Logical(_) => "logical",
            RValue::Real(_) => "double",
            RValue::Persistent(_) => "persistent reference",
        }
    }
}

impl RObject {
    fn plain(value: RValue) -> Self {
        RObject {
            value,
            attributes: Vec::new(),
        }
    }

    /// The attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&RObject> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The elements of a character vector, or `None` for any other kind.
    pub fn as_character(&self) -> Option<&[Option<String>]> {
        match &self.value {
            RValue::Character(v) => Some(v),
            _ => None,
        }
    }

    /// The `names` attribute as strings (`None` for a missing name), if it is a character
    /// vector.
    pub fn names(&self) -> Option<&[Option<String>]> {
        self.attr("names").and_then(RObject::as_character)
    }

    /// The element of a named list (`VECSXP` with `names`) called `name`.
    pub fn list_item(&self, name: &str) -> Option<&RObject> {
        let RValue::List(items) = &self.value else {
            return None;
        };
        let names = self.names()?;
        names
            .iter()
            .position(|n| n.as_deref() == Some(name))
            .and_then(|i| items.get(i))
    }

    /// Every string in this object and below it (values and attributes, depth first), for
    /// searching a document-like object such as an Rd help page.
    pub fn all_strings(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(o) = stack.pop() {
            // Pushed so that the value's elements pop before the attributes.
            stack.extend(o.attributes.iter().rev().map(|(_, x)| x));
            match &o.value {
                RValue::Character(v) => out.extend(v.iter().flatten().map(String::as_str)),
                RValue::List(v) => stack.extend(v.iter().rev()),
                RValue::Pairlist(v) => stack.extend(v.iter().rev().map(|(_, x)| x)),
                _ => {}
            }
        }
        out
    }
}

/// Header of a serialization stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version: 2 or 3.
    pub version: i32,
    /// Native encoding of the writer (version 3 only), e.g. `UTF-8`.
    pub native_encoding: Option<String>,
}

/// Reads one serialized R object from `bytes` (starting with `X\n`); `source` names the
/// file (and object) in errors.
///
/// Errors ([`Error::Input`] with `source` as the file and the byte offset as the key): a
/// header other than `X\n` with version 2 or 3, truncated input, an unsupported SEXP type
/// (the code is named), invalid UTF-8 in a string declared UTF-8, a bad reference index,
/// nesting deeper than [`MAX_DEPTH`], or bytes left over after the object.
pub fn read_object(bytes: &[u8], source: &str) -> Result<(Header, RObject)> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        source,
        refs: Vec::new(),
        latin1_native: false,
    };
    let header = r.header()?;
    let obj = r.item(0)?;
    if r.pos != bytes.len() {
        return Err(r.err(format!(
            "{} bytes left after the serialized object",
            bytes.len() - r.pos
        )));
    }
    Ok((header, obj))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    source: &'a str,
    /// Symbols and persistent objects in reading order (REFSXP targets, 1-based).
    refs: Vec<RObject>,
    /// The writer's native encoding is latin1: unflagged strings are decoded as latin1.
    latin1_native: bool,
}

impl<'a> Reader<'a> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::input(self.source, format!("byte {}", self.pos), msg)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(format!(
                "truncated: {n} bytes needed, {} left",
                self.buf.len() - self.pos
            )));
        }
        let buf: &'a [u8] = self.buf;
        let s = &buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn int(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn header(&mut self) -> Result<Header> {
        let magic = self.take(2)?;
        if magic != b"X\n" {
            let what = match magic {
                b"A\n" => "ASCII serialization",
                b"B\n" => "native binary serialization",
                [0x1f, 0x8b] => "a gzip stream (decompress first)",
                _ => "not an R serialization",
            };
            self.pos = 0;
            return Err(self.err(format!(
                "expected the XDR header \"X\\n\", found {magic:02x?} ({what})"
            )));
        }
        let version = self.int()?;
        if !(2..=3).contains(&version) {
            self.pos -= 4;
            return Err(self.err(format!(
                "serialization format version {version}; readable: 2, 3"
            )));
        }
        let _writer_version = self.int()?;
        let _min_reader_version = self.int()?;
        let native_encoding = if version == 3 {
            let n = self.length()?;
            let b = self.take(n)?;
            let enc = String::from_utf8_lossy(b).into_owned();
            let e = enc.to_ascii_lowercase();
            self.latin1_native = matches!(e.as_str(), "latin1" | "iso-8859-1" | "iso8859-1");
            Some(enc)
        } else {
            None
        };
        Ok(Header {
            version,
            native_encoding,
        })
    }

    /// A non-negative 32-bit length (or a long-vector length), checked against the bytes
    /// left so that no allocation exceeds the input.
    fn length(&mut self) -> Result<usize> {
        let at = self.pos;
        let n = self.int()?;
        let len = if n == -1 {
            let hi = self.int()? as u32 as u64;
            let lo = self.int()? as u32 as u64;
            (hi << 32) | lo
        } else if n < 0 {
            self.pos = at;
            return Err(self.err(format!("negative length {n}")));
        } else {
            n as u64
        };
        let left = (self.buf.len() - self.pos) as u64;
        if len > left {
            self.pos = at;
            return Err(self.err(format!(
                "truncated: length {len} exceeds the {left} bytes left"
            )));
        }
        Ok(len as usize)
    }

    fn item(&mut self, depth: usize) -> Result<RObject> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let at = self.pos;
        let flags = self.int()? as u32;
        let ty = flags & 0xff;
        let has_attr = flags & HAS_ATTR_BIT != 0;
        match ty {
            NILVALUE_SXP => Ok(RObject::plain(RValue::Null)),
            REFSXP => {
                let idx = match flags >> 8 {
                    0 => self.int()? as i64,
                    i => i as i64,
                };
                match usize::try_from(idx - 1).ok().and_then(|i| self.refs.get(i)) {
                    Some(o) => Ok(o.clone()),
                    None => {
                        self.pos = at;
                        Err(self.err(format!(
                            "reference {idx} to an unknown object ({} known)",
                            self.refs.len()
                        )))
                    }
                }
            }
            PERSISTSXP => {
                if self.int()? != 0 {
                    return Err(self.err("PERSISTSXP string vector must start with 0"));
                }
                let n = self.length()?;
                let mut names = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let s = self.charsxp()?;
                    names.push(s.ok_or_else(|| self.err("NA in a persistent name"))?);
                }
                let o = RObject::plain(RValue::Persistent(names));
                self.refs.push(o.clone());
                Ok(o)
            }
            SYMSXP => {
                let name = self.charsxp()?.ok_or_else(|| self.err("NA symbol name"))?;
                let o = RObject::plain(RValue::Symbol(name));
                self.refs.push(o.clone());
                Ok(o)
            }
            LISTSXP => self.pairlist(flags, depth),
            CHARSXP => {
                self.pos = at;
                let s = self.charsxp()?;
                Ok(RObject::plain(RValue::Character(vec![s])))
            }
            LGLSXP | INTSXP => {
                let n = self.length()?;
                let raw = self.take(
                    n.checked_mul(4)
                        .ok_or_else(|| self.err("length overflow"))?,
                )?;
                let ints = raw
                    .chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                let value = if ty == INTSXP {
                    RValue::Integer(ints.map(|v| (v != NA_INT).then_some(v)).collect())
                } else {
                    RValue::Logical(ints.map(|v| (v != NA_INT).then_some(v != 0)).collect())
                };
                self.with_attributes(value, has_attr, depth)
            }
            REALSXP => {
                let n = self.length()?;
                let raw = self.take(
                    n.checked_mul(8)
                        .ok_or_else(|| self.err("length overflow"))?,
                )?;
                let v = raw
                    .chunks_exact(8)
                    .map(|c| f64::from_be_bytes(c.try_into().expect("chunk of 8")))
                    .collect();
                self.with_attributes(RValue::Real(v), has_attr, depth)
            }
            STRSXP => {
                let n = self.length()?;
                let mut v = Vec::with_capacity(n.min(self.buf.len() / 8));
                for _ in 0..n {
                    v.push(self.charsxp()?);
                }
                self.with_attributes(RValue::Character(v), has_attr, depth)
            }
            VECSXP | EXPRSXP => {
                let n = self.length()?;
                let mut v = Vec::with_capacity(n.min(self.buf.len() / 4));
                for _ in 0..n {
                    v.push(self.item(depth + 1)?);
                }
                self.with_attributes(RValue::List(v), has_attr, depth)
            }
            other => {
                self.pos = at;
                Err(self.err(format!(
                    "unsupported R SEXP type {other} ({}); readable: NULL, symbol, \
                     pairlist, logical, integer, double, character, list, expression, \
                     persistent reference",
                    sexp_name(other)
                )))
            }
        }
    }

    fn with_attributes(&mut self, value: RValue, has_attr: bool, depth: usize) -> Result<RObject> {
        let attributes = if has_attr {
            self.attributes(depth)?
        } else {
            Vec::new()
        };
        Ok(RObject { value, attributes })
    }

    /// An attribute pairlist: every node tagged.
    fn attributes(&mut self, depth: usize) -> Result<Vec<(String, RObject)>> {
        let at = self.pos;
        let list = self.item(depth + 1)?;
        let RValue::Pairlist(nodes) = list.value else {
            self.pos = at;
            return Err(self.err("attributes are not a pairlist"));
        };
        nodes
            .into_iter()
            .map(|(tag, v)| match tag {
                Some(t) => Ok((t, v)),
                None => Err(self.err("untagged attribute")),
            })
            .collect()
    }

    /// A pairlist starting at a node whose flags were just read; the CDR chain is walked
    /// iteratively. Attributes of the first node become the list's; those of later nodes
    /// (which R never attaches to data) are read and dropped.
    fn pairlist(&mut self, first_flags: u32, depth: usize) -> Result<RObject> {
        let mut flags = first_flags;
        let mut attributes = Vec::new();
        let mut nodes = Vec::new();
        loop {
            if flags & HAS_ATTR_BIT != 0 {
                let a = self.attributes(depth)?;
                if nodes.is_empty() {
                    attributes = a;
                }
            }
            let tag = if flags & HAS_TAG_BIT != 0 {
                let at = self.pos;
                match self.item(depth + 1)?.value {
                    RValue::Symbol(s) => Some(s),
                    RValue::Null => None,
                    _ => {
                        self.pos = at;
                        return Err(self.err("pairlist tag is not a symbol"));
                    }
                }
            } else {
                None
            };
            let car = self.item(depth + 1)?;
            nodes.push((tag, car));
            let at = self.pos;
            flags = self.int()? as u32;
            match flags & 0xff {
                NILVALUE_SXP => break,
                LISTSXP => continue,
                other => {
                    self.pos = at;
                    return Err(self.err(format!(
                        "pairlist continues with SEXP type {other} ({}); expected a \
                         pairlist node or NULL",
                        sexp_name(other)
                    )));
                }
            }
        }
        Ok(RObject {
            value: RValue::Pairlist(nodes),
            attributes,
        })
    }

    /// A CHARSXP item (flags included), decoded to UTF-8; `None` is `NA_character_`.
    fn charsxp(&mut self) -> Result<Option<String>> {
        let at = self.pos;
        let flags = self.int()? as u32;
        if flags & 0xff != CHARSXP {
            self.pos = at;
            return Err(self.err(format!(
                "expected a string (CHARSXP, type 9), found SEXP type {} ({})",
                flags & 0xff,
                sexp_name(flags & 0xff)
            )));
        }
        let n = self.int()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            self.pos -= 4;
            return Err(self.err(format!("negative string length {n}")));
        }
        let bytes_at = self.pos;
        let bytes = self.take(n as usize)?;
        let levels = flags >> 12;
        let latin1 = levels & LATIN1_MASK != 0
            || (levels & (UTF8_MASK | ASCII_MASK | BYTES_MASK) == 0 && self.latin1_native);
        let s = if latin1 {
            bytes.iter().map(|&b| b as char).collect()
        } else {
            match std::str::from_utf8(bytes) {
                Ok(s) => s.to_string(),
                Err(e) => {
                    self.pos = bytes_at + e.valid_up_to();
                    return Err(self.err("invalid UTF-8 in a string not marked latin1"));
                }
            }
        };
        // A CHARSXP's attributes (R never writes any) would follow; read and drop them.
        if flags & HAS_ATTR_BIT != 0 {
            self.attributes(0)?;
        }
        Ok(Some(s))
    }
}

/// R's name of a SEXP type code, for error messages (`src/include/Rinternals.h`,
/// `src/main/serialize.c`).
pub fn sexp_name(code: u32) -> &'static str {
    match code {
        0 => "NILSXP",
        1 => "SYMSXP",
        2 => "LISTSXP",
        3 => "CLOSXP",
        4 => "ENVSXP",
        5 => "PROMSXP",
        6 => "LANGSXP",
        7 => "SPECIALSXP",
        8 => "BUILTINSXP",
        9 => "CHARSXP",
        10 => "LGLSXP",
        13 => "INTSXP",
        14 => "REALSXP",
        15 => "CPLXSXP",
        16 => "STRSXP",
        17 => "DOTSXP",
        19 => "VECSXP",
        20 => "EXPRSXP",
        21 => "BCODESXP",
        22 => "EXTPTRSXP",
        23 => "WEAKREFSXP",
        24 => "RAWSXP",
        25 => "S4SXP",
        238 => "ALTREP_SXP",
        239 => "ATTRLISTSXP",
        240 => "ATTRLANGSXP",
        241 => "BASEENV_SXP",
        242 => "EMPTYENV_SXP",
        243 => "BCREPREF",
        244 => "BCREPDEF",
        245 => "GENERICREFSXP",
        246 => "CLASSREFSXP",
        247 => "PERSISTSXP",
        248 => "PACKAGESXP",
        249 => "NAMESPACESXP",
        250 => "BASENAMESPACE_SXP",
        251 => "MISSINGARG_SXP",
        252 => "UNBOUNDVALUE_SXP",
        253 => "GLOBALENV_SXP",
        254 => "NILVALUE_SXP",
        255 => "REFSXP",
        _ => "unknown type",
    }
}

/// Hand-assembly of XDR serialization bytes for tests (this module's and the lazy-load
/// database's): each call appends exactly the words the format section above describes.
#[cfg(test)]
pub(crate) mod xdr {
    /// A serialization stream under construction.
    pub struct Xdr(pub Vec<u8>);

    impl Xdr {
        /// `X\n`, the version, writer R 4.2.1, minimal reader R 3.5.0, and for version 3
        /// the native encoding `UTF-8`.
        pub fn header(version: i32) -> Self {
            let mut w = Xdr(b"X\n".to_vec());
            w.int(version).int(0x0004_0201).int(0x0003_0500);
            if version == 3 {
                w.int(5);
                w.0.extend_from_slice(b"UTF-8");
            }
            w
        }
        pub fn int(&mut self, v: i32) -> &mut Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        /// An item header: type, levels, attribute and tag bits.
        pub fn flags(&mut self, ty: u32, levels: u32, attr: bool, tag: bool) -> &mut Self {
            let f = ty | (levels << 12) | (u32::from(attr) << 9) | (u32::from(tag) << 10);
            self.int(f as i32)
        }
        /// A CHARSXP flagged ASCII (64) or UTF-8 (8) as its bytes require.
        pub fn chars(&mut self, s: &str) -> &mut Self {
            let levels = if s.is_ascii() { 64 } else { 8 };
            self.flags(9, levels, false, false).int(s.len() as i32);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        pub fn sym(&mut self, name: &str) -> &mut Self {
            self.flags(1, 0, false, false).chars(name)
        }
        pub fn nil(&mut self) -> &mut Self {
            self.int(254)
        }
        /// A character vector without attributes.
        pub fn strs(&mut self, v: &[&str]) -> &mut Self {
            self.flags(16, 0, false, false).int(v.len() as i32);
            for s in v {
                self.chars(s);
            }
            self
        }
        pub fn ints(&mut self, v: &[i32]) -> &mut Self {
            self.flags(13, 0, false, false).int(v.len() as i32);
            for &x in v {
                self.int(x);
            }
            self
        }
        /// A `names` attribute pairlist for the vector just opened with `attr = true`.
        pub fn names_attr(&mut self, names: &[&str]) -> &mut Self {
            self.flags(2, 0, false, true).sym("names").strs(names).nil()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::xdr::Xdr;
    use super::*;

    fn read(bytes: &[u8]) -> Result<RObject> {
        read_object(bytes, "test.rds").map(|(_, o)| o)
    }

    /// c("ab", NA, "\u{e9}" stored latin1), every word written out.
    const STRSXP_V3: &[u8] = &[
        b'X', b'\n', //
        0, 0, 0, 3, // format version 3
        0, 4, 2, 1, // written by R 4.2.1
        0, 3, 5, 0, // readable from R 3.5.0
        0, 0, 0, 5, b'U', b'T', b'F', b'-', b'8', // native encoding
        0, 0, 0, 0x10, // STRSXP, no attributes
        0, 0, 0, 3, // length 3
        0, 4, 0, 9, // CHARSXP, levels 64 (ASCII)
        0, 0, 0, 2, b'a', b'b', //
        0, 0, 0, 9, // CHARSXP
        0xff, 0xff, 0xff, 0xff, // length -1: NA_character_
        0, 0, 0x40, 9, // CHARSXP, levels 4 (latin1)
        0, 0, 0, 1, 0xe9, // latin1 e-acute
    ];

    #[test]
    fn character_vector_with_na_and_latin1() {
        let (h, o) = read_object(STRSXP_V3, "t.rds").unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.native_encoding.as_deref(), Some("UTF-8"));
        assert_eq!(
            o.value,
            RValue::Character(vec![Some("ab".into()), None, Some("\u{e9}".into())])
        );
        assert!(o.attributes.is_empty());
    }

    #[test]
    fn every_prefix_of_a_valid_stream_is_a_clean_error() {
        for k in 0..STRSXP_V3.len() {
            let e = read(&STRSXP_V3[..k]).unwrap_err().to_string();
            assert!(e.starts_with("test.rds: byte "), "{k}: {e}");
        }
        let mut longer = STRSXP_V3.to_vec();
        longer.push(0);
        assert!(
            read(&longer)
                .unwrap_err()
                .to_string()
                .contains("1 bytes left")
        );
    }

    #[test]
    fn named_list_of_integer_logical_and_double() {
        // list(x = c(1L, NA), y = c(TRUE, FALSE, NA), z = 0.5), version 2.
        let mut w = Xdr::header(2);
        w.flags(19, 0, true, false).int(3);
        w.ints(&[1, i32::MIN]);
        w.flags(10, 0, false, false)
            .int(3)
            .int(1)
            .int(0)
            .int(i32::MIN);
        w.flags(14, 0, false, false).int(1);
        w.0.extend_from_slice(&0.5f64.to_be_bytes());
        w.names_attr(&["x", "y", "z"]);
        let o = read(&w.0).unwrap();
        assert_eq!(
            o.list_item("x").unwrap().value,
            RValue::Integer(vec![Some(1), None])
        );
        assert_eq!(
            o.list_item("y").unwrap().value,
            RValue::Logical(vec![Some(true), Some(false), None])
        );
        assert_eq!(o.list_item("z").unwrap().value, RValue::Real(vec![0.5]));
        assert!(o.list_item("w").is_none());
        assert_eq!(o.names().unwrap().len(), 3);
    }

    #[test]
    fn tagged_pairlist_and_symbol_references() {
        // pairlist(a = "u", a = "v", "w"): the second tag is REFSXP 1 packed in the flags,
        // then a symbol read through an unpacked REFSXP (index in the next word).
        let mut w = Xdr::header(3);
        w.flags(2, 0, false, true).sym("a").strs(&["u"]);
        w.flags(2, 0, false, true).int(0x1ff).strs(&["v"]);
        w.flags(2, 0, false, false).strs(&["w"]);
        w.nil();
        let o = read(&w.0).unwrap();
        let RValue::Pairlist(nodes) = &o.value else {
            panic!("{o:?}")
        };
        let tags: Vec<_> = nodes.iter().map(|(t, _)| t.as_deref()).collect();
        assert_eq!(tags, [Some("a"), Some("a"), None]);
        assert_eq!(nodes[2].1.as_character().unwrap()[0].as_deref(), Some("w"));

        let mut w = Xdr::header(2);
        w.flags(19, 0, false, false).int(2).sym("s").int(255).int(1);
        let o = read(&w.0).unwrap();
        let sym = RObject::plain(RValue::Symbol("s".into()));
        assert_eq!(o.value, RValue::List(vec![sym.clone(), sym]));
    }

    #[test]
    fn long_vector_length_and_persistent_reference() {
        let mut w = Xdr::header(3);
        w.flags(19, 0, false, false).int(2);
        w.flags(13, 0, false, false)
            .int(-1)
            .int(0)
            .int(2)
            .int(7)
            .int(8);
        w.int(247).int(0).int(1).chars("env::2");
        let o = read(&w.0).unwrap();
        let RValue::List(items) = o.value else {
            panic!()
        };
        assert_eq!(items[0].value, RValue::Integer(vec![Some(7), Some(8)]));
        assert_eq!(items[1].value, RValue::Persistent(vec!["env::2".into()]));
    }

    #[test]
    fn bad_headers_are_named() {
        let e = read(b"RDX2\nX\n").unwrap_err().to_string();
        assert!(
            e.contains("test.rds: byte 0") && e.contains("not an R serialization"),
            "{e}"
        );
        let e = read(&[0x1f, 0x8b, 8, 0]).unwrap_err().to_string();
        assert!(e.contains("gzip"), "{e}");
        let e = read(b"A\n3\n").unwrap_err().to_string();
        assert!(e.contains("ASCII"), "{e}");
        let mut w = Xdr::header(2);
        w.0[5] = 4; // version 4
        let e = read(&w.0).unwrap_err().to_string();
        assert!(
            e.contains("version 4") && e.contains("readable: 2, 3"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_sexp_type_names_code_file_and_offset() {
        let mut w = Xdr::header(2);
        w.flags(19, 0, false, false)
            .int(1)
            .flags(3, 0, false, false);
        let e = read(&w.0).unwrap_err().to_string();
        assert!(
            e.contains("test.rds: byte 22: unsupported R SEXP type 3 (CLOSXP)"),
            "{e}"
        );
        let mut w = Xdr::header(3);
        w.flags(238, 0, false, false);
        let e = read(&w.0).unwrap_err().to_string();
        assert!(e.contains("type 238 (ALTREP_SXP)"), "{e}");
    }

    #[test]
    fn malformed_contents_are_clean_errors() {
        // A length far beyond the input is refused before allocating.
        let mut w = Xdr::header(2);
        w.flags(16, 0, false, false).int(i32::MAX);
        assert!(read(&w.0).unwrap_err().to_string().contains("exceeds"));
        // A reference to nothing.
        let mut w = Xdr::header(2);
        w.int(0x5ff);
        let e = read(&w.0).unwrap_err().to_string();
        assert!(
            e.contains("reference 5 to an unknown object (0 known)"),
            "{e}"
        );
        // Bytes flagged UTF-8 that are not.
        let mut w = Xdr::header(2);
        w.flags(16, 0, false, false)
            .int(1)
            .flags(9, 8, false, false)
            .int(2);
        w.0.extend_from_slice(&[b'a', 0xe9]);
        let e = read(&w.0).unwrap_err().to_string();
        assert!(e.contains("invalid UTF-8") && e.contains("byte 31"), "{e}");
        // A STRSXP element that is not a CHARSXP.
        let mut w = Xdr::header(2);
        w.flags(16, 0, false, false).int(1).ints(&[1]);
        assert!(
            read(&w.0)
                .unwrap_err()
                .to_string()
                .contains("expected a string")
        );
        // Nesting beyond MAX_DEPTH.
        let mut w = Xdr::header(2);
        for _ in 0..=MAX_DEPTH + 1 {
            w.flags(19, 0, false, false).int(1);
        }
        w.nil();
        assert!(
            read(&w.0)
                .unwrap_err()
                .to_string()
                .contains("nesting deeper")
        );
    }

    #[test]
    fn all_strings_walks_values_and_attributes() {
        let mut w = Xdr::header(2);
        w.flags(19, 0, true, false)
            .int(2)
            .strs(&["a", "b"])
            .strs(&["c"]);
        w.names_attr(&["n1", "n2"]);
        let o = read(&w.0).unwrap();
        assert_eq!(o.all_strings(), ["a", "b", "c", "n1", "n2"]);
    }
}
