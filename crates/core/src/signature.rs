//! Request signatures of CONTRACT 4: the seed scheme, Standard Webhooks, and Notion's own.
//!
//! Every comparison goes through `hmac`'s `verify_slice`, which is constant-time and checks the
//! length: an empty, truncated or over-long signature never verifies (the Svix/Standard Webhooks
//! Rust bug that let `v1,` verify any body). Secrets never appear in `Debug` or error texts.

use std::fmt;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `whsec_` secrets are written with or without `=` padding depending on the tool.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One hook secret, holding both keys CONTRACT 4 derives from it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The seed scheme's key: the secret's UTF-8 bytes exactly as configured, `whsec_` included.
    seed_key: Vec<u8>,
    /// The Standard Webhooks key: the base64-decoded part of a `whsec_` secret, else the raw bytes.
    standard_key: Vec<u8>,
}

/// Why a configured secret is unusable. The texts never contain the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No secret at all (empty or only whitespace).
    #[error("no secret is configured")]
    Empty,
    /// A `whsec_` secret whose rest is not base64, or decodes to nothing. `index` counts from 1.
    #[error("secret {index} starts with whsec_ but the rest is not valid base64")]
    InvalidBase64 {
        /// Which secret of the list (1 for the first).
        index: usize,
    },
}

impl Secret {
    /// The text of a new Standard Webhooks secret made from `random` bytes (the caller draws
    /// them from the operating system's generator): `whsec_` and their base64.
    pub fn generate_text(random: &[u8; 32]) -> String {
        format!("whsec_{}", STANDARD.encode(random))
    }

    /// A secret as configured: `whsec_<base64>` (Standard Webhooks) or any other non-empty text.
    pub fn parse(s: &str) -> Result<Secret, SecretError> {
        Self::parse_nth(s, 1)
    }

    fn parse_nth(s: &str, index: usize) -> Result<Secret, SecretError> {
        if s.is_empty() {
            return Err(SecretError::Empty);
        }
        let standard_key = match s.strip_prefix("whsec_") {
            Some(encoded) => match LENIENT_BASE64.decode(encoded) {
                Ok(key) if !key.is_empty() => key,
                _ => return Err(SecretError::InvalidBase64 { index }),
            },
            None => s.as_bytes().to_vec(),
        };
        Ok(Secret {
            seed_key: s.as_bytes().to_vec(),
            standard_key,
        })
    }

    /// A secret that is raw key bytes: both schemes key with exactly these bytes.
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret {
            seed_key: bytes.to_vec(),
            standard_key: bytes.to_vec(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One or more hook secrets; any of them verifies (rotation without downtime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secrets {
    list: Vec<Secret>,
}

impl Secrets {
    /// The `webhooksecret` variable: secrets separated by whitespace, each as [`Secret::parse`].
    pub fn parse(s: &str) -> Result<Secrets, SecretError> {
        let list = s
            .split_whitespace()
            .enumerate()
            .map(|(i, part)| Secret::parse_nth(part, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Secrets { list })
    }

    /// The first secret, the one to sign with.
    pub fn first(&self) -> &Secret {
        &self.list[0]
    }

    /// All secrets, in configured order.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.list.iter()
    }
}

impl From<Secret> for Secrets {
    fn from(secret: Secret) -> Secrets {
        Secrets { list: vec![secret] }
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn standard_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut m = mac(key);
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The seed scheme's `Notion-Signature` value: `v1=<lowercase hex HMAC-SHA256(secret, body)>`.
pub fn sign_seed(secret: &Secret, body: &[u8]) -> String {
    let mut m = mac(&secret.seed_key);
    m.update(body);
    format!("v1={}", hex(&m.finalize().into_bytes()))
}

/// The Standard Webhooks `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, id.ts.body)>`.
pub fn sign_standard(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let m = standard_mac(&secret.standard_key, id, &timestamp.to_string(), body);
    format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))
}

/// The signature headers of a request, as received (`None` when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// `Notion-Signature` (seed scheme).
    pub notion_signature: Option<&'a str>,
    /// `webhook-id`.
    pub webhook_id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub webhook_timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub webhook_signature: Option<&'a str>,
}

/// What the edge accepts: variables `signaturetolerance` and `requiretimestamp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// How far `webhook-timestamp` may be from now, either way, in seconds.
    pub tolerance_secs: u64,
    /// Refuse the seed scheme, which carries no timestamp.
    pub require_timestamp: bool,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            tolerance_secs: 300,
            require_timestamp: false,
        }
    }
}

/// How a request was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// Standard Webhooks; `webhook_id` is the idempotency key.
    Standard {
        /// The `webhook-id` header.
        webhook_id: String,
        /// The `webhook-timestamp` header, Unix seconds.
        timestamp: i64,
    },
    /// The seed scheme (no timestamp: deduplicate on the event's `eventId`).
    Seed,
}

/// Why a signature was refused. All of them answer 401; the texts say no more than the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header, or one of the three Standard Webhooks headers is missing.
    #[error("signature missing")]
    Missing,
    /// A header is present but not in the expected form.
    #[error("signature malformed")]
    Malformed,
    /// Well formed, but no secret produces it.
    #[error("signature mismatch")]
    Mismatch,
    /// The Standard Webhooks timestamp is outside the allowed window.
    #[error("timestamp outside the allowed window")]
    TimestampOutOfWindow,
    /// Only the seed scheme was used, and the policy requires a timestamp.
    #[error("a signed timestamp is required")]
    TimestampRequired,
}

/// Verifies a hook request against every configured secret.
///
/// If any `webhook-*` header is present, Standard Webhooks must verify: there is no fall-back to
/// the seed header, so a stripped timestamp cannot downgrade the check. Otherwise the seed header
/// is checked, unless the policy requires a timestamp. The body is signed as bytes, so a body that
/// is not UTF-8 verifies like any other (the event parser refuses it afterwards).
pub fn verify(
    h: &SignatureHeaders,
    body: &[u8],
    secrets: &Secrets,
    now_unix_secs: i64,
    policy: &VerifyPolicy,
) -> Result<Verified, SignatureError> {
    if h.webhook_id.is_some() || h.webhook_timestamp.is_some() || h.webhook_signature.is_some() {
        return verify_standard(h, body, secrets, now_unix_secs, policy);
    }
    let Some(header) = h.notion_signature else {
        return Err(SignatureError::Missing);
    };
    if policy.require_timestamp {
        return Err(SignatureError::TimestampRequired);
    }
    let expected = header
        .trim()
        .strip_prefix("v1=")
        .filter(|hex| hex.len() == 64)
        .and_then(unhex)
        .ok_or(SignatureError::Malformed)?;
    for secret in secrets.iter() {
        let mut m = mac(&secret.seed_key);
        m.update(body);
        if m.verify_slice(&expected).is_ok() {
            return Ok(Verified::Seed);
        }
    }
    Err(SignatureError::Mismatch)
}

fn verify_standard(
    h: &SignatureHeaders,
    body: &[u8],
    secrets: &Secrets,
    now_unix_secs: i64,
    policy: &VerifyPolicy,
) -> Result<Verified, SignatureError> {
    let (Some(id), Some(ts_text), Some(sig_header)) =
        (h.webhook_id, h.webhook_timestamp, h.webhook_signature)
    else {
        return Err(SignatureError::Missing);
    };
    // A '.' would make "id.timestamp.body" ambiguous.
    if id.is_empty() || id.contains('.') {
        return Err(SignatureError::Malformed);
    }
    let ts_text = ts_text.trim();
    if ts_text.is_empty() || !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let timestamp: i64 = ts_text.parse().map_err(|_| SignatureError::Malformed)?;
    if i128::from(now_unix_secs).abs_diff(i128::from(timestamp)) > u128::from(policy.tolerance_secs)
    {
        return Err(SignatureError::TimestampOutOfWindow);
    }
    let mut candidates = Vec::new();
    let mut well_formed = false;
    for entry in sig_header.split_whitespace() {
        let Some((version, value)) = entry.split_once(',') else {
            continue;
        };
        well_formed = true;
        // Unknown versions (v1a, v2, ...) are ignored, as the spec asks.
        if version == "v1" {
            // A value that is not base64 cannot match; it is skipped like a decoy.
            if let Ok(sig) = STANDARD.decode(value) {
                candidates.push(sig);
            }
        }
    }
    if !well_formed {
        return Err(SignatureError::Malformed);
    }
    for secret in secrets.iter() {
        let m = standard_mac(&secret.standard_key, id, ts_text, body);
        for sig in &candidates {
            if m.clone().verify_slice(sig).is_ok() {
                return Ok(Verified::Standard {
                    webhook_id: id.to_string(),
                    timestamp,
                });
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// Notion's `X-Notion-Signature` value: `sha256=<hex HMAC-SHA256(token, body)>`.
pub fn sign_notion(token: &str, body: &[u8]) -> String {
    let mut m = mac(token.as_bytes());
    m.update(body);
    format!("sha256={}", hex(&m.finalize().into_bytes()))
}

/// Verifies Notion's `X-Notion-Signature` header with the subscription's verification token.
pub fn verify_notion(token: &str, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let expected = header
        .trim()
        .strip_prefix("sha256=")
        .filter(|hex| hex.len() == 64)
        .and_then(unhex)
        .ok_or(SignatureError::Malformed)?;
    let mut m = mac(token.as_bytes());
    m.update(body);
    m.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/vectors/standard-webhooks.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).unwrap()
    }

    /// Vector A (the canonical one of the Standard Webhooks libraries).
    const A_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const A_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const A_TS: i64 = 1_614_265_330;
    const A_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const A_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn policy() -> VerifyPolicy {
        VerifyPolicy::default()
    }

    fn a_headers<'a>(sig: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            notion_signature: None,
            webhook_id: Some(A_ID),
            webhook_timestamp: Some("1614265330"),
            webhook_signature: Some(sig),
        }
    }

    fn verify_a(sig: &str) -> Result<Verified, SignatureError> {
        let secrets = Secrets::parse(A_SECRET).unwrap();
        verify(&a_headers(sig), A_BODY, &secrets, A_TS, &policy())
    }

    #[test]
    fn the_committed_standard_webhooks_vectors_sign_and_verify() {
        let v = vectors();
        let list = v["standardWebhooks"].as_array().unwrap();
        assert!(list.len() >= 2);
        for case in list {
            let secret = Secret::parse(case["secret"].as_str().unwrap()).unwrap();
            let (id, ts) = (
                case["id"].as_str().unwrap(),
                case["timestamp"].as_i64().unwrap(),
            );
            let body = case["body"].as_str().unwrap().as_bytes();
            let expected = case["signature"].as_str().unwrap();
            assert_eq!(
                sign_standard(&secret, id, ts, body),
                expected,
                "{}",
                case["name"]
            );
            let ts_text = ts.to_string();
            let h = SignatureHeaders {
                webhook_id: Some(id),
                webhook_timestamp: Some(&ts_text),
                webhook_signature: Some(expected),
                ..Default::default()
            };
            assert_eq!(
                verify(&h, body, &secret.into(), ts, &policy()),
                Ok(Verified::Standard {
                    webhook_id: id.to_string(),
                    timestamp: ts
                })
            );
            assert!(case["source"]["repo"].is_string() && case["source"]["file"].is_string());
        }
    }

    #[test]
    fn the_committed_github_and_notion_vectors_match_the_body_only_schemes() {
        let v = vectors();
        for case in v["github"].as_array().unwrap() {
            let secret = Secret::parse(case["secret"].as_str().unwrap()).unwrap();
            let body = case["body"].as_str().unwrap().as_bytes();
            let expected = case["signature"].as_str().unwrap();
            // GitHub signs like the seed scheme, with another prefix.
            let hex = expected.strip_prefix("sha256=").unwrap();
            assert_eq!(sign_seed(&secret, body), format!("v1={hex}"));
            let h = SignatureHeaders {
                notion_signature: Some(&format!("v1={hex}")),
                ..Default::default()
            };
            assert_eq!(
                verify(&h, body, &secret.into(), 0, &policy()),
                Ok(Verified::Seed)
            );
        }
        for case in v["notion"].as_array().unwrap() {
            let token = case["token"].as_str().unwrap();
            let body = case["body"].as_str().unwrap().as_bytes();
            let expected = case["signature"].as_str().unwrap();
            assert_eq!(sign_notion(token, body), expected);
            assert_eq!(verify_notion(token, Some(expected), body), Ok(()));
        }
    }

    #[test]
    fn vector_b_and_the_notion_vector_inline() {
        let b = Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            sign_standard(
                &b,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(
            sign_notion(
                "secret_abc123_verification_token",
                br#"{"id":"evt_1","type":"page.created"}"#
            ),
            "sha256=942ac06e288d4872c2c3944cb92793dabf59e7b005dab9c6f883aff7132c686c"
        );
    }

    #[test]
    fn each_standard_header_missing_in_turn_is_missing() {
        let secrets = Secrets::parse(A_SECRET).unwrap();
        for drop in 0..3 {
            let mut h = a_headers(A_SIG);
            match drop {
                0 => h.webhook_id = None,
                1 => h.webhook_timestamp = None,
                _ => h.webhook_signature = None,
            }
            assert_eq!(
                verify(&h, A_BODY, &secrets, A_TS, &policy()),
                Err(SignatureError::Missing)
            );
        }
        assert_eq!(
            verify(
                &SignatureHeaders::default(),
                A_BODY,
                &secrets,
                A_TS,
                &policy()
            ),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn a_webhook_header_forbids_falling_back_to_the_seed_scheme() {
        let secret = Secret::parse(A_SECRET).unwrap();
        let h = SignatureHeaders {
            notion_signature: Some(&sign_seed(&secret, A_BODY)),
            webhook_id: Some(A_ID),
            ..Default::default()
        };
        assert_eq!(
            verify(&h, A_BODY, &secret.into(), A_TS, &policy()),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn a_timestamp_that_is_not_an_integer_is_malformed() {
        let secrets = Secrets::parse(A_SECRET).unwrap();
        for ts in [
            "hello",
            "",
            "1614265330.5",
            "-1614265330",
            "+1614265330",
            "99999999999999999999",
        ] {
            let mut h = a_headers(A_SIG);
            h.webhook_timestamp = Some(ts);
            assert_eq!(
                verify(&h, A_BODY, &secrets, A_TS, &policy()),
                Err(SignatureError::Malformed),
                "{ts}"
            );
        }
    }

    #[test]
    fn timestamps_301_seconds_off_either_way_are_out_of_window() {
        assert_eq!(
            verify(
                &a_headers(A_SIG),
                A_BODY,
                &Secrets::parse(A_SECRET).unwrap(),
                A_TS + 301,
                &policy()
            ),
            Err(SignatureError::TimestampOutOfWindow)
        );
        assert_eq!(
            verify(
                &a_headers(A_SIG),
                A_BODY,
                &Secrets::parse(A_SECRET).unwrap(),
                A_TS - 301,
                &policy()
            ),
            Err(SignatureError::TimestampOutOfWindow)
        );
        // 300 s off is still inside.
        assert!(
            verify(
                &a_headers(A_SIG),
                A_BODY,
                &Secrets::parse(A_SECRET).unwrap(),
                A_TS + 300,
                &policy()
            )
            .is_ok()
        );
    }

    #[test]
    fn the_valid_signature_among_decoys_verifies() {
        let header = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc {A_SIG} v1,notbase64!!"
        );
        assert!(verify_a(&header).is_ok());
    }

    #[test]
    fn only_unknown_versions_is_a_mismatch_and_no_entry_at_all_is_malformed() {
        assert_eq!(
            verify_a("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_a("g0hM9SsE+OTPJTGt"), Err(SignatureError::Malformed));
        assert_eq!(verify_a(""), Err(SignatureError::Malformed));
    }

    #[test]
    fn wrong_empty_truncated_and_overlong_signatures_fail() {
        assert_eq!(
            verify_a("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_a("v1,"), Err(SignatureError::Mismatch));
        let raw = STANDARD.decode(&A_SIG[3..]).unwrap();
        let truncated = format!("v1,{}", STANDARD.encode(&raw[..16]));
        assert_eq!(verify_a(&truncated), Err(SignatureError::Mismatch));
        let mut long = raw.clone();
        long.push(0);
        assert_eq!(
            verify_a(&format!("v1,{}", STANDARD.encode(&long))),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_or_wrong_secret_fails() {
        let secrets = Secrets::parse(A_SECRET).unwrap();
        assert_eq!(
            verify(
                &a_headers(A_SIG),
                br#"{"test": 2432232315}"#,
                &secrets,
                A_TS,
                &policy()
            ),
            Err(SignatureError::Mismatch)
        );
        let wrong = Secrets::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            verify(&a_headers(A_SIG), A_BODY, &wrong, A_TS, &policy()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_secret_with_and_without_its_prefix() {
        // Without whsec_, the text is the raw key: it does not decode to vector A's key.
        let raw = Secrets::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            verify(&a_headers(A_SIG), A_BODY, &raw, A_TS, &policy()),
            Err(SignatureError::Mismatch)
        );
        // A raw secret signs and verifies with its own bytes.
        let s = Secret::parse("plain-secret").unwrap();
        let sig = sign_standard(&s, "id1", 10, b"body");
        assert_eq!(
            sig,
            sign_standard(&Secret::from_bytes(b"plain-secret"), "id1", 10, b"body")
        );
        let h = SignatureHeaders {
            webhook_id: Some("id1"),
            webhook_timestamp: Some("10"),
            webhook_signature: Some(&sig),
            ..Default::default()
        };
        assert!(verify(&h, b"body", &s.into(), 10, &policy()).is_ok());
    }

    #[test]
    fn rotation_any_secret_verifies() {
        let secrets = Secrets::parse(&format!(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\n  {A_SECRET}"
        ))
        .unwrap();
        assert!(verify_a_with(&secrets).is_ok());
        assert_eq!(secrets.iter().count(), 2);
        assert_eq!(
            sign_standard(secrets.first(), "x", 1, b""),
            sign_standard(
                &Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap(),
                "x",
                1,
                b""
            )
        );
    }

    fn verify_a_with(secrets: &Secrets) -> Result<Verified, SignatureError> {
        verify(&a_headers(A_SIG), A_BODY, secrets, A_TS, &policy())
    }

    #[test]
    fn a_webhook_id_with_a_dot_or_empty_is_malformed() {
        let secrets = Secrets::parse(A_SECRET).unwrap();
        for id in ["msg.1", ""] {
            let mut h = a_headers(A_SIG);
            h.webhook_id = Some(id);
            assert_eq!(
                verify(&h, A_BODY, &secrets, A_TS, &policy()),
                Err(SignatureError::Malformed)
            );
        }
    }

    #[test]
    fn a_non_utf8_body_is_signed_as_bytes_and_verifies() {
        let secret = Secret::parse(A_SECRET).unwrap();
        let body = b"\xff\xfe\x00binary";
        let sig = sign_standard(&secret, A_ID, A_TS, body);
        let secrets: Secrets = secret.clone().into();
        assert!(verify(&a_headers(&sig), body, &secrets, A_TS, &policy()).is_ok());
        let seed = sign_seed(&secret, body);
        let h = SignatureHeaders {
            notion_signature: Some(&seed),
            ..Default::default()
        };
        assert_eq!(verify(&h, body, &secrets, 0, &policy()), Ok(Verified::Seed));
    }

    #[test]
    fn the_seed_scheme_keys_with_the_literal_secret_text() {
        let secret = Secret::parse(A_SECRET).unwrap();
        // "whsec_..." as typed, not the decoded key.
        assert_eq!(
            sign_seed(&secret, b"x"),
            sign_seed(&Secret::from_bytes(A_SECRET.as_bytes()), b"x")
        );
        let sig = sign_seed(&secret, b"x");
        assert!(sig.starts_with("v1=") && sig.len() == 67);
        assert_eq!(sig[3..], sig[3..].to_lowercase());
    }

    #[test]
    fn seed_signatures_verify_and_refuse() {
        let secrets = Secrets::parse("old new").unwrap();
        let new = Secret::parse("new").unwrap();
        let good = sign_seed(&new, b"body");
        fn seed(sig: &str) -> SignatureHeaders<'_> {
            SignatureHeaders {
                notion_signature: Some(sig),
                ..Default::default()
            }
        }
        assert_eq!(
            verify(&seed(&good), b"body", &secrets, 0, &policy()),
            Ok(Verified::Seed)
        );
        assert_eq!(
            verify(
                &seed(&good.to_uppercase().replace("V1=", "v1=")),
                b"body",
                &secrets,
                0,
                &policy()
            ),
            Ok(Verified::Seed)
        );
        assert_eq!(
            verify(&seed(&good), b"tampered", &secrets, 0, &policy()),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "v1=",
            "sha256=00",
            &good[..66],
            "v1=zz",
            &format!("{good}00"),
            "v2=abc",
        ] {
            assert_eq!(
                verify(&seed(bad), b"body", &secrets, 0, &policy()),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let strict = VerifyPolicy {
            require_timestamp: true,
            ..policy()
        };
        assert_eq!(
            verify(&seed(&good), b"body", &secrets, 0, &strict),
            Err(SignatureError::TimestampRequired)
        );
    }

    #[test]
    fn notion_signatures_refuse_missing_malformed_and_wrong() {
        let token = "secret_abc123_verification_token";
        let body = br#"{"id":"evt_1","type":"page.created"}"#;
        assert_eq!(
            verify_notion(token, None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_notion(token, Some("sha256=xyz"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_notion(token, Some("v1=00"), body),
            Err(SignatureError::Malformed)
        );
        let sig = sign_notion(token, body);
        assert_eq!(
            verify_notion("other", Some(&sig), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_notion(token, Some(&sig), b"{}"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_parse_and_refuse_without_leaking() {
        assert_eq!(Secrets::parse("  \n"), Err(SecretError::Empty));
        assert_eq!(Secret::parse(""), Err(SecretError::Empty));
        let err = Secrets::parse("fine whsec_%%%notbase64").unwrap_err();
        assert_eq!(err, SecretError::InvalidBase64 { index: 2 });
        assert!(!err.to_string().contains("notbase64"));
        assert_eq!(
            Secret::parse("whsec_"),
            Err(SecretError::InvalidBase64 { index: 1 })
        );
        // Padding is optional.
        assert_eq!(
            Secret::parse("whsec_YWJj").unwrap().standard_key,
            Secret::parse("whsec_YWJj").unwrap().standard_key
        );
        assert_eq!(Secret::parse("whsec_YWI=").unwrap().standard_key, b"ab");
        assert_eq!(Secret::parse("whsec_YWI").unwrap().standard_key, b"ab");
        let debug = format!("{:?}", Secrets::parse("supersecret").unwrap());
        assert!(!debug.contains("supersecret"), "{debug}");
    }

    #[test]
    fn error_texts_name_only_the_kind() {
        assert_eq!(SignatureError::Mismatch.to_string(), "signature mismatch");
        assert_eq!(SignatureError::Missing.to_string(), "signature missing");
        assert_eq!(SignatureError::Malformed.to_string(), "signature malformed");
        assert_eq!(
            SignatureError::TimestampOutOfWindow.to_string(),
            "timestamp outside the allowed window"
        );
        assert_eq!(
            SignatureError::TimestampRequired.to_string(),
            "a signed timestamp is required"
        );
    }

    #[test]
    fn generated_secrets_parse_back_to_their_bytes() {
        let text = Secret::generate_text(&[7u8; 32]);
        assert!(text.starts_with("whsec_") && text.len() == 6 + 44);
        let secret = Secret::parse(&text).unwrap();
        let body = b"{}";
        assert_eq!(
            sign_standard(&secret, "id", 1, body),
            sign_standard(&Secret::from_bytes(&[7u8; 32]), "id", 1, body)
        );
    }
}
