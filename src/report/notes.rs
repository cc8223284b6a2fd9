//! Facts about a run's inputs stated in the report body (once each) instead of as
//! warnings before it: e.g. a LUC policy built from a sensitivity table that lacks a
//! layer, or that uses the pruning sensitivity as the quantisation proxy. The user can
//! read them with the figures they qualify; nothing in them needs action.

/// Adds `note` to `notes` unless it is already there (several workloads can share one
/// sensitivity table; a fact is stated once).
pub fn push_unique(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}

/// The notes as a text block after a report: empty for no notes, else a blank line,
/// `Notes on the inputs:` and one indented `- ` line per note.
pub fn notes_text(notes: &[String]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut s = String::from("\nNotes on the inputs:\n");
    for n in notes {
        s.push_str("  - ");
        s.push_str(n);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fact_once_and_nothing_without_facts() {
        let mut v = Vec::new();
        push_unique(&mut v, "a: proxy".into());
        push_unique(&mut v, "a: proxy".into());
        push_unique(&mut v, "b: layer 31".into());
        assert_eq!(v.len(), 2);
        assert_eq!(
            notes_text(&v),
            "\nNotes on the inputs:\n  - a: proxy\n  - b: layer 31\n"
        );
        assert_eq!(notes_text(&[]), "");
    }
}
