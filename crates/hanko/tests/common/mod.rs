//! The helpers every test crate shares live in `hanko-test-support`; this module keeps the
//! `common::` paths of the tests here.
#![allow(unused_imports)]

pub use hanko_test_support::*;
