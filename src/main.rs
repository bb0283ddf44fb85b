//! Serves the k0stack provider to Terraform / OpenTofu over the plugin protocol v6.

use anyhow::Result;
use k0stack::provider::K0stackProvider;

fn main() -> Result<()> {
    // tf-provider appends a captured backtrace to every diagnostic when RUST_BACKTRACE is
    // set; users must see clean errors. RUST_LIB_BACKTRACE takes precedence over
    // RUST_BACKTRACE for captured (non-panic) backtraces, so panics keep theirs.
    // Set before any thread exists, so no other thread reads the environment meanwhile.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    // glibc gives every thread that allocates its own malloc arena, and freed memory stays
    // in them: with tokio's workers, kube-rs and reqwest threads that is tens of MB of RSS for
    // a process whose live heap is a few MB. Two arenas keep contention low and RSS small
    // (measured in docs/benchmarks.md).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    k0stack::logging::init();
    exit_when_orphaned();
    k0stack::nodelay::install();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve("k0stack", K0stackProvider::default()))
}

/// Terraform starts the provider as its child and stops it when done; if Terraform itself is
/// killed (SIGKILL, OOM), nobody stops the provider, which would idle forever. Re-parenting
/// (the parent id changing) means Terraform is gone: exit. A poll once a second costs nothing
/// and, unlike PR_SET_PDEATHSIG, does not depend on which of Terraform's threads started us.
fn exit_when_orphaned() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        std::thread::Builder::new()
            .name("orphan-watch".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if std::os::unix::process::parent_id() != parent {
                    tracing::warn!("Terraform (pid {parent}) is gone; exiting");
                    std::process::exit(1);
                }
            })
            .ok();
    }
}
