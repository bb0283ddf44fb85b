//! `make test` fails when docs/ is stale: the pages must be exactly what `make docs`
//! renders from the schema and examples.

#[test]
fn docs_are_generated_from_the_current_schema() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let stale = k0stack::docs::stale(repo);
    assert!(
        stale.is_empty(),
        "stale docs (run `make docs` and commit): {stale:?}"
    );
    let index = std::fs::read_to_string(repo.join("docs/index.md")).unwrap();
    assert!(index.contains("## Schema"));
    assert!(index.contains("- `openstack` (Block, Optional, Max: 1)"));
}
