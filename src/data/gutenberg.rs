//! Undo Project Gutenberg's hard wrapping: plain-text Gutenberg books break every
//! paragraph into lines of at most about 70 characters and separate paragraphs by blank
//! lines; the tokeniser should see a paragraph as one line of prose.
//!
//! The rule, and all it changes:
//! - every line is trimmed of leading and trailing whitespace (`str::trim`, Unicode
//!   White_Space); this removes the indentation of verse, letters and centred headings
//!   (the janeaustenr vectors have no trailing whitespace);
//! - a paragraph is a maximal run of lines that are non-empty after trimming; its lines
//!   are joined with a single space;
//! - paragraphs are separated by exactly one blank line (runs of blank lines collapse to
//!   one; leading and trailing blank lines vanish);
//! - the text ends with one newline, or is empty when there is no paragraph.
//!
//! Characters inside lines are left as they are (no case, quote or dash changes).

/// A reflowed text and its paragraph count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reflowed {
    /// Paragraphs, one per line, separated by blank lines, ending with a newline.
    pub text: String,
    /// Number of paragraphs.
    pub paragraphs: usize,
}

/// Joins the hard-wrapped `lines` (without their line terminators) into paragraphs, by
/// the rule in the module doc.
pub fn join_paragraphs<S: AsRef<str>>(lines: &[S]) -> Reflowed {
    let mut text = String::with_capacity(lines.iter().map(|l| l.as_ref().len() + 1).sum());
    let mut paragraphs = 0;
    let mut in_paragraph = false;
    for line in lines {
        let line = line.as_ref().trim();
        if line.is_empty() {
            if in_paragraph {
                text.push('\n');
                in_paragraph = false;
            }
            continue;
        }
        if in_paragraph {
            text.push(' ');
        } else {
            if paragraphs > 0 {
                text.push('\n');
            }
            paragraphs += 1;
            in_paragraph = true;
        }
        text.push_str(line);
    }
    if in_paragraph {
        text.push('\n');
    }
    Reflowed { text, paragraphs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_wrapped_lines_and_separates_paragraphs_by_one_blank_line() {
        let lines = [
            "",
            "CHAPTER I",
            "",
            "",
            "Emma Woodhouse, handsome, clever, and rich, with a comfortable home",
            "and happy disposition, seemed to unite some of the best blessings",
            "",
            "    My first doth affliction denote,",
            "      Which my second is destin'd to feel",
            "",
            "",
        ];
        let r = join_paragraphs(&lines);
        let expected = "CHAPTER I\n\
                        \n\
                        Emma Woodhouse, handsome, clever, and rich, with a comfortable home \
                        and happy disposition, seemed to unite some of the best blessings\n\
                        \n\
                        My first doth affliction denote, Which my second is destin'd to feel\n";
        assert_eq!(r.text, expected);
        assert_eq!(r.paragraphs, 3);
    }

    #[test]
    fn whitespace_only_lines_are_blank_and_inner_characters_are_kept() {
        let r = join_paragraphs(&["a  b\t", " \t ", "\"c\"--d", "e"]);
        assert_eq!(r.text, "a  b\n\n\"c\"--d e\n");
        assert_eq!(r.paragraphs, 2);
    }

    #[test]
    fn no_paragraph_gives_empty_text() {
        let empty: [&str; 0] = [];
        assert_eq!(join_paragraphs(&empty).text, "");
        let r = join_paragraphs(&["", "  ", ""]);
        assert_eq!((r.text.as_str(), r.paragraphs), ("", 0));
    }

    #[test]
    fn paragraph_count_equals_blank_separated_blocks_of_the_output() {
        // Property: the output has one line per paragraph and no blank line at either end.
        let lines = ["x", "y", "", "", "z", "", "w", "v", "u"];
        let r = join_paragraphs(&lines);
        let non_empty = r.text.lines().filter(|l| !l.is_empty()).count();
        assert_eq!(non_empty, r.paragraphs);
        assert_eq!(r.text, "x y\n\nz\n\nw v u\n");
    }
}
