//! The `hanko` command run as a program, one binary: the tests that need nothing but cargo.
//! The tiers that need more are their own binaries behind features: `spf_network`
//! (`conformance-tests`) and `interop` (`interop-tests`).

#[path = "../common/mod.rs"]
mod common;

mod bulk_verify;
mod cli;
mod domain_check;
mod header_analyzer;
mod hostile_input_cli;
mod manuals;
mod report_parse;
