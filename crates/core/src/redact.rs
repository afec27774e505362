//! Redaction of secrets from event text before it is queued or sent: API keys and tokens of the
//! common providers, bearer tokens, `.env`-style assignments of secret-looking names, credentials
//! in URLs, and PEM private keys. Pure text in, text out; it runs on every string of the event.
//!
//! It errs towards hiding: a false positive costs a word in a Notion page, a false negative puts a
//! credential in a shared database and in a queue file on disk.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What replaces a secret.
pub const MARK: &str = "[REDACTED]";

struct Rule {
    pattern: Regex,
    /// Replacement, with `$name` groups kept (the name of an assignment, the user of a URL).
    replacement: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |p: &str, replacement: &'static str| Rule {
        pattern: Regex::new(p).expect("redaction patterns are valid"),
        replacement,
    };
    vec![
        // PEM private keys (RSA, EC, OPENSSH, PKCS#8, encrypted), also when cut off before END.
        rule(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----(?s:.*?)(-----END ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----|\z)",
            "[REDACTED PRIVATE KEY]",
        ),
        // `Authorization: Bearer x`, `Bearer x` in prose (before the assignments,
        // which would otherwise take `Bearer` for the value of `Authorization:`).
        rule(
            r"(?i)(?P<name>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}",
            "${name}[REDACTED]",
        ),
        // `.env`-style and config assignments whose name says secret: `DB_PASSWORD=x`,
        // `"apiKey": "x"`, `export GITHUB_TOKEN='x'`, `password: x`.
        rule(
            r#"(?i)(?P<name>["']?[A-Za-z0-9_.-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key|signing[_-]?key|client[_-]?secret|credentials?|auth(?:orization)?|connection[_-]?string|sas)["']?\s*(?:=|:)\s*)(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;]+)"#,
            "${name}[REDACTED]",
        ),
        // Credentials inside URLs: scheme://user:password@host.
        rule(
            r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?P<at>@)",
            "${pre}[REDACTED]${at}",
        ),
        // Provider token formats.
        rule(r"\bsk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{16,}", MARK),
        rule(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b", MARK),
        rule(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b", MARK),
        rule(r"\bglpat-[A-Za-z0-9_-]{16,}\b", MARK),
        rule(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", MARK),
        rule(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", MARK),
        rule(r"\bAIza[0-9A-Za-z_-]{35}\b", MARK),
        rule(r"\b(?:ntn|secret)_[A-Za-z0-9]{20,}\b", MARK),
        rule(r"\bwhsec_[A-Za-z0-9+/=]{16,}", MARK),
        rule(r"\bnpm_[A-Za-z0-9]{30,}\b", MARK),
        rule(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b", MARK),
        // JSON Web Tokens.
        rule(
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            MARK,
        ),
    ]
});

/// `text` with every secret the rules recognise replaced.
pub fn redact_text(text: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    for rule in RULES.iter() {
        if rule.pattern.is_match(&out) {
            out = std::borrow::Cow::Owned(
                rule.pattern
                    .replace_all(&out, rule.replacement)
                    .into_owned(),
            );
        }
    }
    out.into_owned()
}

/// Redacts every string in a JSON value, keys excepted (they are field names).
pub fn redact_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            let r = redact_text(s);
            if r != *s {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn hides(input: &str, secret: &str) {
        let out = redact_text(input);
        assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        assert!(out.contains("REDACTED"), "{out:?}");
    }

    #[test]
    fn tokens() {
        hides(
            "use sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345 now",
            "abcdefghijklmnop",
        );
        hides(
            "token ghp_0123456789abcdefghijABCDEFGHIJ0123",
            "ghp_0123456789",
        );
        hides("AKIAIOSFODNN7EXAMPLE is the key id", "AKIAIOSFODNN7EXAMPLE");
        hides("ntn_123456789012345678901234567890abcd", "ntn_1234567890");
        hides(
            "curl -H 'Authorization: Bearer abc.def.ghi-jkl_mno'",
            "abc.def.ghi",
        );
        hides("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKY");
        hides(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "dozjgNryP4J3",
        );
    }

    #[test]
    fn assignments() {
        hides("DB_PASSWORD=hunter2 and more", "hunter2");
        hides("export API_KEY='abc 123'", "abc 123");
        hides(r#"{"clientSecret": "s3cr3t-value"}"#, "s3cr3t-value");
        hides("password: correct-horse", "correct-horse");
        hides("postgres://admin:pa55word@db.example.com/app", "pa55word");
        assert_eq!(redact_text("password=x"), "password=[REDACTED]");
    }

    #[test]
    fn private_keys() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\nabc\n-----END RSA PRIVATE KEY-----";
        hides(&format!("here:\n{key}\ndone"), "MIIEowIBAAKCAQEAx");
        hides(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA (cut",
            "b3BlbnNzaC1rZXkt",
        );
        assert!(redact_text(&format!("a\n{key}\nb")).ends_with("\nb"));
    }

    #[test]
    fn ordinary_prose_survives() {
        for s in [
            "Refactored the token bucket in rate_limit.rs; 12 files updated.",
            "Completed: added tests for the password reset flow",
            "See https://example.com/a/b for details",
        ] {
            assert_eq!(redact_text(s), s);
        }
    }
}
