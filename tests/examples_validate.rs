//! Every example under examples/ is `terraform validate`d with the real CLI (docs quote them,
//! so a broken example is a broken doc).

mod support;

use std::path::{Path, PathBuf};

use support::{required_providers, TfDir};

/// Directories under examples/ that hold .tf files directly.
fn example_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir);
        }
    }
    out.sort();
    out
}

#[test]
fn every_example_validates() {
    let root = support::repo_root().join("examples");
    let dirs = example_dirs(&root);
    assert!(
        dirs.iter().any(|d| d.ends_with("examples/provider")),
        "examples/provider missing"
    );
    for dir in dirs {
        let tf = TfDir::new("");
        let mut has_required_providers = false;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "tf") {
                let text = std::fs::read_to_string(&p).unwrap();
                has_required_providers |= text.contains("required_providers");
                tf.write(p.file_name().unwrap().to_str().unwrap(), &text);
            }
        }
        // Resource and data-source snippets omit the terraform block; supply it.
        if has_required_providers {
            std::fs::remove_file(tf.path().join("main.tf")).ok();
        } else {
            tf.write("main.tf", &required_providers());
        }
        tf.init();
        let out = tf.validate();
        assert!(
            out.success(),
            "example {} does not validate:\n{}",
            dir.display(),
            out.all()
        );
    }
}
