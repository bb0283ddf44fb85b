//! `cargo run --bin gendocs [--check]`: writes docs/ from the provider schema and examples/
//! (`--check`: only reports stale pages, exit code 1 if any).

fn main() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let check = std::env::args().any(|a| a == "--check");
    if check {
        let stale = k0stack::docs::stale(&repo);
        if stale.is_empty() {
            println!("docs/ is up to date");
            return;
        }
        for p in &stale {
            eprintln!("stale: {} (run `make docs`)", p.display());
        }
        std::process::exit(1);
    }
    match k0stack::docs::write_all(&repo) {
        Ok(written) if written.is_empty() => println!("docs/ is up to date"),
        Ok(written) => written
            .iter()
            .for_each(|p| println!("wrote {}", p.display())),
        Err(e) => {
            eprintln!("gendocs: {e}");
            std::process::exit(1);
        }
    }
}
