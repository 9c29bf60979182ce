//! The glob patterns of OpenSSH's configuration and known_hosts files,
//! shared by `config.rs` (`Host`, `Match`, `Include`), `known_hosts.rs`
//! (host patterns) and the cipher list (`Ciphers -chacha20*`): `*` and `?`,
//! and comma-separated lists with `!` negation, matched as OpenSSH's
//! `match_pattern` and `match_pattern_list` do.

/// OpenSSH's `match_pattern_list` for a comma-separated list: `Some(true)` if
/// a positive pattern matches and no negated one does, `Some(false)` if a
/// negated pattern matches, `None` if nothing matches. Case-insensitive.
pub(crate) fn pattern_list_matches(s: &str, list: &str) -> Option<bool> {
    let s = s.to_ascii_lowercase();
    let mut result = None;
    for p in list.split(',') {
        let (neg, pat) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p),
        };
        if wildmatch(&pat.to_ascii_lowercase(), &s) {
            if neg {
                return Some(false);
            }
            result = Some(true);
        }
    }
    result
}

/// Glob match with `*` (any run) and `?` (any one character), in linear
/// time per backtrack point (no exponential blow-up on hostile patterns).
pub(crate) fn wildmatch(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // `*` first: a `*` in the name must not be matched as a literal,
        // which would drop the backtrack point (found by fuzzing).
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildmatch_basics() {
        for (pattern, name, want) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.example.com", "x.example.com", true),
            ("*.example.com", "example.com", false),
            ("[h]:22*", "[h]:2222", true),
            // A star in the name does not defeat a star pattern.
            ("a*", "a**b", true),
            ("xcaHaaxxby?c*", "xcaHaaxxby?c***x#", true),
            ("*b", "**b", true),
            ("a*c", "a**b", false),
        ] {
            assert_eq!(wildmatch(pattern, name), want, "{pattern:?} on {name:?}");
        }
    }

    #[test]
    fn a_pathological_pattern_stays_fast() {
        let s = "a".repeat(5000);
        assert!(!wildmatch(&"*a".repeat(50).replace("a", "a*b"), &s));
    }

    #[test]
    fn pattern_lists() {
        assert_eq!(pattern_list_matches("a.b", "*.b,!x.b"), Some(true));
        assert_eq!(pattern_list_matches("x.b", "*.b,!x.b"), Some(false));
        assert_eq!(pattern_list_matches("c", "*.b"), None);
        assert_eq!(pattern_list_matches("[H]:22", "[h]:22"), Some(true));
    }
}
