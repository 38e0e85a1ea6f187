//! Applications of hanko's protocols, above the protocol crate `hanko`:
//!
//! - [`headers`]: the header analyzer. It explains a pasted message the way a security analyst
//!   reads it (the hops, every DKIM-Signature tag by tag, what other servers claimed) and
//!   re-verifies it through the library's one receiver pipeline, [`hanko::receiver`].
//! - [`domain`]: the domain audit. It reads the records a sender publishes (SPF, DKIM keys,
//!   DMARC, MX, ADSP) the way a receiver will, and says what to fix.
//!
//! Both return plain data (`serde::Serialize`); the `hanko` command and `hanko-web` render it.
//! Neither composes the protocols on its own: verdicts come from `hanko`.

#![forbid(unsafe_code)]

pub mod domain;
pub mod headers;
pub mod records;
