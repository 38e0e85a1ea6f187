//! The conformance tier, one test binary: each module runs one suite or corpus from
//! `../shared/conformance` (or `$HANKO_CONFORMANCE`) through the library.

mod analyzer_conformance;
mod arc_conformance;
mod authres_conformance;
mod dkim_conformance;
mod dkim_verifier_cases;
mod dkimpy_vectors;
mod dmarc_conformance;
mod dmarc_reports;
mod mail_dkim_corpus;
mod rfc5617_adsp;
mod rfc6376_rfc8463_examples;
mod spf_conformance;
mod spf_mail_auth_cases;
