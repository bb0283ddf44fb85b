//! Serves the k0stack provider to Terraform / OpenTofu over the plugin protocol v6.

use anyhow::Result;
use k0stack::provider::K0stackProvider;

fn main() -> Result<()> {
    // tf-provider appends a captured backtrace to every diagnostic when RUST_BACKTRACE is
    // set; users must see clean errors. RUST_LIB_BACKTRACE takes precedence over
    // RUST_BACKTRACE for captured (non-panic) backtraces, so panics keep theirs.
    // Set before any thread exists, so no other thread reads the environment meanwhile.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    let _ = rustls::crypto::ring::default_provider().install_default();
    k0stack::logging::init();
    k0stack::nodelay::install();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve("k0stack", K0stackProvider::default()))
}
