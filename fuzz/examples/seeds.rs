//! Writes the seed corpus: `cargo run --example seeds -- OUT` makes `OUT/TARGET/seed-N` for
//! every target, from the conformance suites (`HANKO_CONFORMANCE` or `../shared/conformance`)
//! and `examples/`. Used by scripts/fuzz.sh.

fn main() {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: seeds OUT_DIR");
        std::process::exit(2);
    };
    let out = std::path::PathBuf::from(out);
    let conformance = hanko_fuzz::conformance_dir();
    if !conformance.join("README.md").is_file() {
        eprintln!("conformance suites missing at {}", conformance.display());
        std::process::exit(1);
    }
    let seeds = hanko_fuzz::seeds(&conformance, &hanko_fuzz::examples_dir());
    for (target, _) in hanko_fuzz::TARGETS {
        let dir = out.join(target);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(1);
        }
        let list = seeds.get(target).map(Vec::as_slice).unwrap_or_default();
        for (n, seed) in list.iter().enumerate() {
            if let Err(e) = std::fs::write(dir.join(format!("seed-{n:04}")), seed) {
                eprintln!("{}: {e}", dir.display());
                std::process::exit(1);
            }
        }
        println!("{target}: {} seeds", list.len());
    }
}
