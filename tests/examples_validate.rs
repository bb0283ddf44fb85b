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

/// Copies the examples tree into `tf` under `examples/` (modules are referenced by
/// relative paths, so every directory is validated in place within the copy).
fn copy_tree(tf: &TfDir, root: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            copy_tree(tf, root, &p);
        } else if p.extension().is_some_and(|e| e == "tf") {
            let rel = p.strip_prefix(root).unwrap();
            tf.write(
                &format!("examples/{}", rel.display()),
                &std::fs::read_to_string(&p).unwrap(),
            );
        }
    }
}

#[test]
fn every_example_validates() {
    let root = support::repo_root().join("examples");
    let dirs = example_dirs(&root);
    for must in [
        "provider",
        "quickstart",
        "modules/cluster",
        "environments/prod",
    ] {
        assert!(
            dirs.iter().any(|d| d.ends_with(must)),
            "examples/{must} missing"
        );
    }
    for dir in dirs {
        let tf = TfDir::new("");
        copy_tree(&tf, &root, &root);
        let rel = dir.strip_prefix(&root).unwrap();
        let here = format!("examples/{}", rel.display());
        let has_required_providers = std::fs::read_dir(&dir).unwrap().any(|e| {
            let p = e.unwrap().path();
            p.extension().is_some_and(|e| e == "tf")
                && std::fs::read_to_string(&p)
                    .unwrap()
                    .contains("required_providers")
        });
        // Resource and data-source snippets omit the terraform block; supply it.
        if !has_required_providers {
            tf.write(
                &format!("{here}/zz_test_providers.tf"),
                &required_providers(),
            );
        }
        let chdir = format!("-chdir={here}");
        tf.run(&[&chdir, "init", "-no-color", "-input=false"])
            .assert_ok();
        let out = tf.run(&[&chdir, "validate", "-no-color"]);
        assert!(
            out.success(),
            "example {} does not validate:\n{}",
            dir.display(),
            out.all()
        );
    }
}
