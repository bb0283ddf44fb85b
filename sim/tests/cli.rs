//! The `k0stack-sim` command line as people run it: `--help` for the tool and every
//! subcommand, usage errors with exit 2 and a usage line, runtime errors with exit 1 and
//! `error: ...` — never a panic or a backtrace.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_k0stack-sim"))
        .args(args)
        .env("RUST_BACKTRACE", "1") // a panic would print its backtrace: the tests below look for it
        .output()
        .expect("running k0stack-sim")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_panic(o: &Output) {
    let t = text(o).to_lowercase();
    assert!(
        !t.contains("panicked") && !t.contains("backtrace"),
        "a panic or backtrace: {t}"
    );
}

#[test]
fn help_lists_the_subcommands() {
    for args in [&["--help"][..], &["help"], &["-h"]] {
        let o = sim(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Usage: k0stack-sim <COMMAND>"), "{out}");
        assert!(out.contains("up "), "{out}");
        assert_no_panic(&o);
    }
}

#[test]
fn every_subcommand_has_help_with_all_its_options() {
    for args in [&["up", "--help"][..], &["help", "up"], &["up", "-h"]] {
        let o = sim(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Usage: k0stack-sim up"), "{out}");
        for flag in [
            "--dir <DIR>",
            "--ready-delay <DURATION>",
            "--k0smotron-versions <LIST>",
            "--boot-latency <DURATION>",
            "--join-latency <DURATION>",
            "--token-ttl <DURATION>",
            "--vm-error-rate <FRACTION>",
            "--hosts <N>",
            "--seed <FILE>",
        ] {
            assert!(out.contains(flag), "{args:?} lacks {flag}: {out}");
        }
        assert_no_panic(&o);
    }
}

#[test]
fn usage_errors_exit_2_with_a_usage_line_and_no_backtrace() {
    for (args, says) in [
        (
            &["up", "--dir", "/tmp/x", "--bogus"][..],
            "unexpected argument '--bogus'",
        ),
        (&["up"], "--dir <DIR>"),
        (&["down"], "unrecognized subcommand 'down'"),
        (&[], "Usage: k0stack-sim <COMMAND>"),
        (
            &["up", "--dir", "/tmp/x", "--vm-error-rate", "2"],
            "a fraction within 0..1",
        ),
        (
            &["up", "--dir", "/tmp/x", "--boot-latency", "2d"],
            "unknown unit",
        ),
        (
            &["up", "--dir", "/tmp/x", "--hosts", "0"],
            "a positive number",
        ),
        (&["up", "--dir"], "a value is required for '--dir <DIR>'"),
    ] {
        let o = sim(args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        // clap prints the usage line for unknown or missing arguments, and points to
        // --help after a bad value.
        assert!(
            t.contains("Usage: k0stack-sim") || t.contains("For more information, try '--help'."),
            "{args:?}: no usage line: {t}"
        );
        if args.contains(&"--bogus") || args.len() < 2 {
            assert!(
                t.contains("Usage: k0stack-sim"),
                "{args:?}: no usage line: {t}"
            );
        }
        assert!(t.contains(says), "{args:?}: expected {says:?} in {t}");
        assert_no_panic(&o);
    }
}

#[test]
fn runtime_errors_exit_1_with_a_plain_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-seed.yaml");
    let bad = dir.path().join("bad-seed.yaml");
    std::fs::write(&bad, "images: [{name: 1, nonsense").unwrap();
    for seed in [&missing, &bad] {
        let o = sim(&[
            "up",
            "--dir",
            dir.path().join("sim").to_str().unwrap(),
            "--seed",
            seed.to_str().unwrap(),
        ]);
        let t = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(t.starts_with("error: "), "{t}");
        assert!(t.contains(seed.to_str().unwrap()), "{t}");
        assert!(
            !t.contains("Usage:"),
            "a runtime error is no usage error: {t}"
        );
        assert_no_panic(&o);
    }
    // A file where the directory should be: creating it fails, plainly.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = sim(&["up", "--dir", file.join("sub").to_str().unwrap()]);
    let t = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.starts_with("error: creating "), "{t}");
    assert_no_panic(&o);
}
