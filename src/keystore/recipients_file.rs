//! Recipients files (`-R FILE`): one public key a line, `#` comments and
//! blank lines ignored, as age reads them.

use std::path::{Path, PathBuf};

use super::KeystoreError;
use crate::crypto::X25519Recipient;

/// Parse the text of a recipients file read from `path` (for messages).
pub fn parse(text: &str, path: &Path) -> Result<Vec<X25519Recipient>, KeystoreError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let r = line.parse::<X25519Recipient>().map_err(|e| {
            KeystoreError::MalformedRecipientsFile {
                path: PathBuf::from(path),
                line: i + 1,
                msg: e.to_string(),
            }
        })?;
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{X25519Identity, os_rng};

    #[test]
    fn recipients_file_with_comments_and_a_bad_line() {
        let a = X25519Identity::generate(&mut os_rng()).recipient();
        let text = format!("# team\n\n{a}\n  # indented comment\n");
        assert_eq!(parse(&text, Path::new("f")).unwrap(), vec![a]);
        let err = parse("age1bogus\n", Path::new("f")).unwrap_err();
        assert!(err.to_string().starts_with("f: line 1:"), "{err}");
    }
}
