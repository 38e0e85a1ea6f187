//! hanko's conformance tier: the library against the public suites and real-world samples in
//! `../shared/conformance` (OpenSPF, DKIM vectors of dkimpy, go-msgauth, Mail::DKIM and
//! dkim_verifier, DMARC and Authentication-Results cases, Stalwart's messages). The tests are
//! in `tests/conformance/`, one binary; this crate has no code of its own. `cargo test`
//! leaves it out (it needs the folder); `bash scripts/test.sh` runs it.
