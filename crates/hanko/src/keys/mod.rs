//! Private keys for signing: loading, generating, and the DNS record that publishes them.
//!
//! hanko signs with RSA keys of 2048 to 8192 bits (RFC 8301 §3.2 asks signers for at least
//! 2048; the crypto backend refuses smaller private keys) and with Ed25519 (RFC 8463).
//! Verification accepts RSA keys from 1024 bits, the floor RFC 8301 sets for verifiers.
//!
//! Accepted private key files:
//! - PKCS#8 PEM (`BEGIN PRIVATE KEY`), RSA or Ed25519: what `hanko keygen` and
//!   `openssl genpkey` write;
//! - PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`): what `opendkim-genkey` and `openssl genrsa` write;
//! - a bare base64 Ed25519 seed of 32 octets: what dkimpy's `dknewkey` writes.

use std::fmt;

use base64::Engine;

use crate::crypto::{KeyRejection, PrivateKey};

/// The key types of the DKIM `k=` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA (`k=rsa`, RFC 6376 §3.6.1).
    Rsa,
    /// Ed25519 (`k=ed25519`, RFC 8463 §4.2).
    Ed25519,
}

impl KeyType {
    /// The `k=` value.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a private key could not be loaded or made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is neither PEM nor a base64 Ed25519 seed.
    NotAKey,
    /// PEM with a label hanko does not read (an encrypted key, a certificate, ...).
    UnsupportedPem(String),
    /// An RSA key under 2048 bits; hanko does not sign with those.
    RsaTooSmall,
    /// An RSA key over 8192 bits.
    RsaTooLarge,
    /// An RSA size `hanko keygen` cannot make (2048, 3072, 4096 and 8192 are possible).
    UnsupportedRsaSize(usize),
    /// The key data is damaged or not of the type its label claims.
    Invalid(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotAKey => f.write_str(
                "not a private key: expected PKCS#8 or PKCS#1 PEM, or a base64 Ed25519 seed",
            ),
            KeyError::UnsupportedPem(label) => write!(
                f,
                "PEM block {label:?} is not an unencrypted private key (expected PRIVATE KEY or RSA PRIVATE KEY)"
            ),
            KeyError::RsaTooSmall => f.write_str(
                "RSA key is smaller than 2048 bits; hanko signs with 2048-8192-bit keys (RFC 8301 §3.2)",
            ),
            KeyError::RsaTooLarge => f.write_str("RSA key is larger than 8192 bits"),
            KeyError::UnsupportedRsaSize(bits) => write!(
                f,
                "cannot generate a {bits}-bit RSA key: choose 2048, 3072 or 4096 (RFC 8301 §3.2 asks for at least 2048)"
            ),
            KeyError::Invalid(why) => write!(f, "invalid private key: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<KeyRejection> for KeyError {
    fn from(r: KeyRejection) -> Self {
        match r {
            KeyRejection::TooSmall => KeyError::RsaTooSmall,
            KeyRejection::TooLarge => KeyError::RsaTooLarge,
            KeyRejection::Invalid(why) => KeyError::Invalid(why),
        }
    }
}

/// What [`SigningKey::generate`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySpec {
    /// RSA with this many bits: 2048, 3072, 4096 or 8192.
    Rsa(usize),
    /// Ed25519.
    Ed25519,
}

/// A private key ready to sign. Cloning is cheap: clones share the key.
#[derive(Clone)]
pub struct SigningKey {
    /// Shared, so that a clone (one per signing request) costs a reference count.
    key: std::sync::Arc<PrivateKey>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {} bits)", self.key_type(), self.bits())
    }
}

impl SigningKey {
    /// Loads a key from the text of a key file (see the module docs for the formats).
    pub fn from_pem(text: &[u8]) -> Result<SigningKey, KeyError> {
        let trimmed = text.trim_ascii();
        if trimmed.starts_with(b"-----BEGIN") {
            let block = pem::parse(trimmed).map_err(|e| KeyError::Invalid(e.to_string()))?;
            let key = match block.tag() {
                "PRIVATE KEY" => PrivateKey::from_pkcs8(block.contents())?,
                "RSA PRIVATE KEY" => PrivateKey::rsa_from_pkcs1(block.contents())?,
                other => return Err(KeyError::UnsupportedPem(other.to_string())),
            };
            return Ok(SigningKey { key: key.into() });
        }
        // dkimpy's dknewkey writes an Ed25519 private key as the base64 of its 32-byte seed.
        let compact: Vec<u8> = trimmed
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(&compact) {
            Ok(seed) if seed.len() == 32 => Ok(SigningKey {
                key: PrivateKey::ed25519_from_seed(&seed)?.into(),
            }),
            _ => Err(KeyError::NotAKey),
        }
    }

    /// Generates a new key.
    pub fn generate(spec: KeySpec) -> Result<SigningKey, KeyError> {
        let key = match spec {
            KeySpec::Rsa(bits) => match bits {
                2048 | 3072 | 4096 | 8192 => PrivateKey::generate_rsa(bits)?,
                _ => return Err(KeyError::UnsupportedRsaSize(bits)),
            },
            KeySpec::Ed25519 => PrivateKey::generate_ed25519()?,
        };
        Ok(SigningKey { key: key.into() })
    }

    /// RSA or Ed25519.
    pub fn key_type(&self) -> KeyType {
        match *self.key {
            PrivateKey::Rsa(_) => KeyType::Rsa,
            PrivateKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The RSA modulus size in bits, or 256 for Ed25519.
    pub fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The key as PKCS#8 PEM, the form `hanko keygen` writes.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der = self.key.to_pkcs8()?;
        Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der)))
    }

    /// The public key as the base64 `p=` value of a DKIM key record.
    pub fn public_key_base64(&self) -> Result<String, KeyError> {
        let bytes = self.key.public_key_bytes()?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Signs DKIM header-hash input (RFC 6376 §3.7): RSASSA-PKCS1-v1_5 with SHA-256, or
    /// Ed25519 over its SHA-256 (RFC 8463 §3). [`crate::dkim::Signer`] calls this; it is public
    /// so that published signing vectors can be reproduced.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.key.sign(data)?)
    }
}

/// Splits a TXT value into character-strings of at most 255 octets (RFC 1035 §3.3), after
/// the last `; ` of a piece where there is one, so that tags stay whole (the layout
/// `opendkim-genkey` writes: `"v=DKIM1; k=rsa; "` then `"p=..."`).
pub fn split_txt(value: &str) -> Vec<String> {
    const MAX: usize = 255;
    let mut out = Vec::new();
    let mut rest = value;
    while rest.len() > MAX {
        let mut window = MAX;
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        let mut cut = rest[..window].rfind("; ").map_or(0, |p| p + 2);
        if cut == 0 {
            cut = MAX;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
        }
        out.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    out.push(rest.to_string());
    out
}

/// Escapes a character-string for a zone file: `"` and `\` get a backslash.
fn zone_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A zone-file entry publishing `value` as the TXT record of `name` (a fully qualified
/// name; the trailing dot is added), split into strings of at most 255 octets inside
/// parentheses, the layout `opendkim-genkey` writes. `hanko-dns` reads it back.
pub fn zone_txt_record(name: &str, value: &str) -> String {
    let name = name.trim_end_matches('.');
    let strings = split_txt(value);
    let mut out = format!("{name}.\t3600\tIN\tTXT\t( ");
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\t\t\t\t  ");
        }
        out.push_str(&zone_quote(s));
    }
    out.push_str(" )\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_255() {
        let value = format!("v=DKIM1; k=rsa; p={}", "A".repeat(600));
        let parts = split_txt(&value);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), value);
        assert_eq!(parts[0], "v=DKIM1; k=rsa; ");
        assert_eq!(split_txt("short"), vec!["short".to_string()]);
    }

    #[test]
    fn ed25519_roundtrip_and_seed_form() {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        assert_eq!(key.key_type(), KeyType::Ed25519);
        let pem = key.to_pkcs8_pem().unwrap();
        let again = SigningKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(
            again.public_key_base64().unwrap(),
            key.public_key_base64().unwrap()
        );
        // RFC 8032 §7.1 TEST 1, as dkimpy writes it.
        let seed = SigningKey::from_pem(b"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n").unwrap();
        assert_eq!(
            seed.public_key_base64().unwrap(),
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        assert_eq!(
            SigningKey::from_pem(b"hello").unwrap_err(),
            KeyError::NotAKey
        );
        assert!(matches!(
            SigningKey::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(KeyError::UnsupportedPem(_))
        ));
        assert_eq!(
            SigningKey::generate(KeySpec::Rsa(1024)).unwrap_err(),
            KeyError::UnsupportedRsaSize(1024)
        );
    }

    #[test]
    fn zone_record_layout() {
        let text = zone_txt_record("s._domainkey.example.com", "v=DKIM1; p=\"x\"");
        assert_eq!(
            text,
            "s._domainkey.example.com.\t3600\tIN\tTXT\t( \"v=DKIM1; p=\\\"x\\\"\" )\n"
        );
    }
}
