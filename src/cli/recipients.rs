//! Turning `-r` and `-R` arguments into recipients.

use std::path::{Path, PathBuf};

use super::error::CliError;
use crate::crypto::Recipient;

/// Read a recipients file: one public key a line, `#` comments, blank lines
/// ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<Recipient>, CliError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| CliError::Input(path.to_path_buf(), e))?;
    parse_recipients_text(&text, path)
}

/// Parse the text of a recipients file.
pub fn parse_recipients_text(text: &str, path: &Path) -> Result<Vec<Recipient>, CliError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let r = line
            .parse::<Recipient>()
            .map_err(|e| CliError::RecipientsFile {
                path: PathBuf::from(path),
                line: i + 1,
                msg: e.to_string(),
            })?;
        out.push(r);
    }
    Ok(out)
}

/// Add `r` unless already present, keeping first-seen order.
pub fn push_unique(list: &mut Vec<Recipient>, r: Recipient) {
    if !list.contains(&r) {
        list.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Identity, os_rng};

    #[test]
    fn recipients_file_with_comments_and_a_bad_line() {
        let a = Identity::generate(&mut os_rng()).recipient();
        let text = format!("# team\n\n{a}\n  # indented comment\n");
        assert_eq!(
            parse_recipients_text(&text, Path::new("f")).unwrap(),
            vec![a]
        );
        let err = parse_recipients_text("age1bogus\n", Path::new("f")).unwrap_err();
        assert!(err.to_string().starts_with("f: line 1:"), "{err}");
    }
}
