//! The daemon's manual pages: hanko-milter(8) from its flags, hanko-milter.toml(5) from the
//! annotated example configuration, every setting of which it must carry.

use std::process::Command;

#[test]
fn the_manual_pages_carry_the_flags_and_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hanko-milter"))
        .arg("--manpages")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let daemon = std::fs::read_to_string(dir.path().join("hanko-milter.8")).unwrap();
    assert!(daemon.contains(".TH hanko-milter 8"), "{daemon}");
    for flag in ["config", "check", "manpages"] {
        assert!(daemon.contains(&format!("\\-\\-{flag}")), "--{flag}");
    }
    let config = std::fs::read_to_string(dir.path().join("hanko-milter.toml.5")).unwrap();
    assert!(config.starts_with(".TH HANKO-MILTER.TOML 5\n"));
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/hanko-milter.toml"
    ))
    .unwrap();
    // Every setting line of the example is in the page (backslashes doubled for roff).
    for line in example.lines().filter(|l| l.contains(" = ")) {
        assert!(config.contains(&line.replace('\\', "\\\\")), "{line}");
    }
    // No line of the page begins with a control character it did not mean.
    let body = config.split(".SH SETTINGS\n.nf\n").nth(1).unwrap();
    let body = body.split("\n.fi\n").next().unwrap();
    assert!(body
        .lines()
        .all(|l| !l.starts_with('.') && !l.starts_with('\'')));
    // Without --config (and without --manpages), a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_hanko-milter"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
