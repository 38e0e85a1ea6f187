//! The one place hanko calls its crypto backend, aws-lc-rs. Nothing here is hand-written
//! crypto: hashing, RSA PKCS#1 v1.5 and Ed25519 all come from aws-lc-rs.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, UnparsedPublicKey,
};

/// The longest RSA key the backend verifies with (aws-lc-rs's `RSA_PKCS1_1024_8192_*`).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// A hash algorithm DKIM names in `a=` and `h=` (RFC 6376 §3.3, RFC 8301).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-1: verified only to say so; never a pass (RFC 8301 §3.1).
    Sha1,
}

impl HashAlgorithm {
    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        }
    }

    /// The name used in `a=` and `h=`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha1 => "sha1",
        }
    }
}

/// A running hash of one of DKIM's algorithms (aws-lc-rs underneath). Cloning it keeps the
/// state, so a prefix can be finished while the hash goes on: the header analyzer looks for
/// the line where a footer starts that way.
#[derive(Clone)]
pub struct Hasher(digest::Context);

impl Hasher {
    /// A hash with nothing in it yet.
    pub fn new(algorithm: HashAlgorithm) -> Hasher {
        Hasher(digest::Context::new(algorithm.digest_algorithm()))
    }
    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The digest of everything added.
    pub fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// A public key as a DKIM key record's `p=` carries it, checked by the backend.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    /// RSA, kept as PKCS#1 `RSAPublicKey` DER with its modulus size, and parsed once for
    /// rsa-sha256 when the backend takes the size (1024 to 8192 bits): a key kept
    /// beside its DNS record ([`TxtRecord`](crate::dns::TxtRecord)) is then not parsed again
    /// for each message.
    Rsa {
        pkcs1: Vec<u8>,
        bits: usize,
        sha256: Option<ParsedPublicKey>,
    },
    /// Ed25519, the 32 raw octets (RFC 8463 §4.2).
    Ed25519([u8; 32]),
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        match (self, other) {
            (PublicKey::Rsa { pkcs1: a, .. }, PublicKey::Rsa { pkcs1: b, .. }) => a == b,
            (PublicKey::Ed25519(a), PublicKey::Ed25519(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for PublicKey {}

/// RSA PKCS#1 v1.5 with SHA-256 for any size the backend verifies.
const RSA_SHA256: &signature::RsaParameters =
    &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;

impl PublicKey {
    /// Parses an RSA key in either `SubjectPublicKeyInfo` (what RFC 6376 §3.6.1 specifies)
    /// or bare PKCS#1 `RSAPublicKey` DER (what some signers publish).
    pub(crate) fn rsa_from_der(der: &[u8]) -> Option<PublicKey> {
        let key = aws_lc_rs::rsa::PublicKey::from_der(der).ok()?;
        let modulus = key.modulus();
        let n = modulus.big_endian_without_leading_zero();
        let bits = match n.first() {
            Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        let pkcs1 = key.as_ref().to_vec();
        // Refused when the size is outside 1024..=8192; verification then reports the size.
        let sha256 = ParsedPublicKey::new(RSA_SHA256, &pkcs1).ok();
        Some(PublicKey::Rsa {
            pkcs1,
            bits,
            sha256,
        })
    }

    pub(crate) fn ed25519(raw: &[u8]) -> Option<PublicKey> {
        raw.try_into().ok().map(PublicKey::Ed25519)
    }

    pub(crate) fn bits(&self) -> usize {
        match self {
            PublicKey::Rsa { bits, .. } => *bits,
            PublicKey::Ed25519(_) => 256,
        }
    }

    /// Checks `sig` over `data` (the canonicalized header hash input, RFC 6376 §3.7).
    /// Ed25519 signs the SHA-256 of the data (RFC 8463 §3).
    pub(crate) fn verify(&self, hash: HashAlgorithm, data: &[u8], sig: &[u8]) -> bool {
        match (self, hash) {
            (
                PublicKey::Rsa {
                    sha256: Some(parsed),
                    ..
                },
                HashAlgorithm::Sha256,
            ) => parsed.verify_sig(data, sig).is_ok(),
            (PublicKey::Rsa { pkcs1, .. }, _) => {
                let params = match hash {
                    HashAlgorithm::Sha256 => RSA_SHA256,
                    HashAlgorithm::Sha1 => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                };
                UnparsedPublicKey::new(params, pkcs1)
                    .verify(data, sig)
                    .is_ok()
            }
            (PublicKey::Ed25519(raw), _) => {
                let digest = sha256(data);
                UnparsedPublicKey::new(&signature::ED25519, raw)
                    .verify(&digest, sig)
                    .is_ok()
            }
        }
    }
}

/// A private key the backend accepted.
pub(crate) enum PrivateKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Why the backend refused a private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRejection {
    TooSmall,
    TooLarge,
    Invalid(String),
}

fn rejection(e: aws_lc_rs::error::KeyRejected) -> KeyRejection {
    match e.description_() {
        "TooSmall" => KeyRejection::TooSmall,
        "TooLarge" => KeyRejection::TooLarge,
        other => KeyRejection::Invalid(other.to_string()),
    }
}

impl PrivateKey {
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyRejection> {
        match RsaKeyPair::from_pkcs8(der) {
            Ok(k) => Ok(PrivateKey::Rsa(k)),
            Err(rsa_err) => match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                Ok(k) => Ok(PrivateKey::Ed25519(k)),
                Err(_) => Err(rejection(rsa_err)),
            },
        }
    }

    pub(crate) fn rsa_from_pkcs1(der: &[u8]) -> Result<PrivateKey, KeyRejection> {
        RsaKeyPair::from_der(der)
            .map(PrivateKey::Rsa)
            .map_err(rejection)
    }

    pub(crate) fn ed25519_from_seed(seed: &[u8]) -> Result<PrivateKey, KeyRejection> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(PrivateKey::Ed25519)
            .map_err(rejection)
    }

    pub(crate) fn generate_rsa(bits: usize) -> Result<PrivateKey, KeyRejection> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => {
                return Err(KeyRejection::Invalid(format!(
                    "cannot generate {bits}-bit RSA"
                )))
            }
        };
        RsaKeyPair::generate(size)
            .map(PrivateKey::Rsa)
            .map_err(|e| KeyRejection::Invalid(e.to_string()))
    }

    pub(crate) fn generate_ed25519() -> Result<PrivateKey, KeyRejection> {
        Ed25519KeyPair::generate()
            .map(PrivateKey::Ed25519)
            .map_err(|e| KeyRejection::Invalid(e.to_string()))
    }

    pub(crate) fn bits(&self) -> usize {
        match self {
            PrivateKey::Rsa(k) => k.public_modulus_len() * 8,
            PrivateKey::Ed25519(_) => 256,
        }
    }

    pub(crate) fn to_pkcs8(&self) -> Result<Vec<u8>, KeyRejection> {
        let fail = |e: aws_lc_rs::error::Unspecified| KeyRejection::Invalid(e.to_string());
        match self {
            PrivateKey::Rsa(k) => {
                let der: aws_lc_rs::encoding::Pkcs8V1Der = k.as_der().map_err(fail)?;
                Ok(der.as_ref().to_vec())
            }
            PrivateKey::Ed25519(k) => Ok(k.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()),
        }
    }

    /// The `p=` payload: `SubjectPublicKeyInfo` DER for RSA (RFC 6376 §3.6.1), the raw 32
    /// octets for Ed25519 (RFC 8463 §4.2).
    pub(crate) fn public_key_bytes(&self) -> Result<Vec<u8>, KeyRejection> {
        match self {
            PrivateKey::Rsa(k) => {
                let der: PublicKeyX509Der = k
                    .public_key()
                    .as_der()
                    .map_err(|e| KeyRejection::Invalid(e.to_string()))?;
                Ok(der.as_ref().to_vec())
            }
            PrivateKey::Ed25519(k) => Ok(k.public_key().as_ref().to_vec()),
        }
    }

    /// Signs the header hash input `data` with `hash` (RSA) or SHA-256 then Ed25519.
    pub(crate) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyRejection> {
        match self {
            PrivateKey::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    data,
                    &mut sig,
                )
                .map_err(|e| KeyRejection::Invalid(e.to_string()))?;
                Ok(sig)
            }
            PrivateKey::Ed25519(k) => Ok(k.sign(&sha256(data)).as_ref().to_vec()),
        }
    }
}
