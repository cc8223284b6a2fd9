//! Jane Austen's six novels from the R package janeaustenr (Debian `r-cran-janeaustenr`
//! 1.0.0-1): its lazy-load dataset `data/Rdata` holds one character vector per novel,
//! one element per line of the Project Gutenberg text; this module reads them and
//! reflows them into the `austen/<novel>.txt` files ([`super::NOVELS`]).

use super::NOVELS;
use super::gutenberg::join_paragraphs;
use super::rlazy::LazyLoadDb;
use crate::error::{Error, Result};

/// R object name of each novel in the janeaustenr dataset, in [`NOVELS`] order (the
/// package's publication order, as in its `austen_books()` factor levels).
pub const R_OBJECTS: [&str; 6] = [
    "sensesensibility",
    "prideprejudice",
    "mansfieldpark",
    "emma",
    "northangerabbey",
    "persuasion",
];

/// The R object name of a novel named as in [`NOVELS`].
pub fn r_object(novel: &str) -> Option<&'static str> {
    NOVELS
        .iter()
        .position(|n| *n == novel)
        .map(|i| R_OBJECTS[i])
}

/// One novel's reflowed text and its figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovelText {
    /// File name stem under `austen/` (from [`NOVELS`]).
    pub name: &'static str,
    /// The R object it came from.
    pub r_object: &'static str,
    /// Elements of the R character vector (lines of the Gutenberg text).
    pub lines: usize,
    /// Paragraphs after reflowing (non-empty lines of `text`).
    pub paragraphs: usize,
    /// The reflowed UTF-8 text.
    pub text: String,
}

impl NovelText {
    /// Characters (Unicode scalar values) of the text.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }
}

/// The lines of the R character vector `object` in `db`.
///
/// Errors: the object is missing, is not a character vector, or has an `NA` element (its
/// 1-based index is named).
pub fn novel_lines(db: &LazyLoadDb, object: &str) -> Result<Vec<String>> {
    let o = db.get(object)?;
    let lines = o.as_character().ok_or_else(|| {
        Error::input(
            format!("janeaustenr dataset `{object}`"),
            object,
            format!("not a character vector but {}", o.value.kind()),
        )
    })?;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.clone().ok_or_else(|| {
                Error::input(
                    format!("janeaustenr dataset `{object}`"),
                    format!("element {}", i + 1),
                    "NA line; every line must be a string",
                )
            })
        })
        .collect()
}

/// All six novels from the janeaustenr dataset, in [`NOVELS`] order.
///
/// Errors: as [`novel_lines`] for any novel.
pub fn extract(db: &LazyLoadDb) -> Result<Vec<NovelText>> {
    NOVELS
        .iter()
        .zip(R_OBJECTS)
        .map(|(&name, r_object)| {
            let lines = novel_lines(db, r_object)?;
            let r = join_paragraphs(&lines);
            Ok(NovelText {
                name,
                r_object,
                lines: lines.len(),
                paragraphs: r.paragraphs,
                text: r.text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::rlazy::tests::{blob, lgl_true, strs, write_db};
    use super::super::rserial::xdr::Xdr;
    use super::*;

    #[test]
    fn object_names_map_to_novel_files() {
        assert_eq!(r_object("pride_and_prejudice"), Some("prideprejudice"));
        assert_eq!(r_object("emma"), Some("emma"));
        assert_eq!(r_object("lady_susan"), None);
    }

    #[test]
    fn extract_reads_every_novel_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        // Stored in the package's alphabetical order, each novel its own two paragraphs.
        let mut objects: Vec<&str> = R_OBJECTS.to_vec();
        objects.sort_unstable();
        let blobs: Vec<(&str, Vec<u8>)> = objects
            .iter()
            .map(|o| (*o, blob(&strs(&[o, "a", "", "b"]))))
            .collect();
        let db = LazyLoadDb::open(&write_db(dir.path(), &blobs, &lgl_true)).unwrap();
        let novels = extract(&db).unwrap();
        let names: Vec<&str> = novels.iter().map(|n| n.name).collect();
        assert_eq!(names, NOVELS);
        for n in &novels {
            assert_eq!(n.text, format!("{} a\n\nb\n", n.r_object));
            assert_eq!((n.lines, n.paragraphs), (4, 2));
            assert_eq!(n.chars(), n.r_object.len() + 6);
        }
    }

    #[test]
    fn na_lines_and_other_kinds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Xdr::header(3);
        w.flags(16, 0, false, false)
            .int(2)
            .chars("x")
            .int(9)
            .int(-1);
        let mut i = Xdr::header(3);
        i.ints(&[1]);
        let base = write_db(
            dir.path(),
            &[("emma", blob(&w.0)), ("persuasion", blob(&i.0))],
            &lgl_true,
        );
        let db = LazyLoadDb::open(&base).unwrap();
        let e = novel_lines(&db, "emma").unwrap_err().to_string();
        assert!(e.contains("`emma`: element 2: NA line"), "{e}");
        let e = novel_lines(&db, "persuasion").unwrap_err().to_string();
        assert!(e.contains("not a character vector but integer"), "{e}");
        let e = extract(&db).unwrap_err().to_string();
        assert!(e.contains("sensesensibility: no such object"), "{e}");
    }
}
