//! The header analyzer and the domain audit through their public API, one binary (DNS from
//! zone files and maps).

use hanko_test_support as common;

mod analyzer;
mod domain_audit;
