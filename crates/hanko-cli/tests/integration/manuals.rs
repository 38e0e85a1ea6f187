//! Manual pages, shell completions and `--version`, from the same definitions `--help` uses.

use crate::common;
use common::{run, HANKO};

#[test]
fn every_subcommand_gets_a_manual_page_and_every_shell_its_completions() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man/man1");
    let out = run(HANKO, &["manpages", pages.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0));
    for name in [
        "hanko",
        "hanko-verify",
        "hanko-sign",
        "hanko-check",
        "hanko-analyze",
        "hanko-dkim-testkey",
        "hanko-dns-serve",
        "hanko-report-parse",
        "hanko-report-ingest",
        "hanko-report-summary",
    ] {
        let page = std::fs::read_to_string(pages.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{name}.1 is roff");
        assert!(
            page.contains(&format!(".TH {} 1", name.to_ascii_uppercase())),
            "{name}.1"
        );
        assert!(
            page.contains(&name.replace('-', "\\-")),
            "{name}.1 names itself"
        );
    }
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(HANKO, &["completions", shell], b"");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("hanko") && script.contains("verify"),
            "{shell}"
        );
    }
    let out = run(HANKO, &["completions", "tcsh"], b"");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    let out = run(HANKO, &["--version"], b"");
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.starts_with(&format!("hanko {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(
        version.contains("mimalloc") && version.contains("SQLite"),
        "{version}"
    );
}
