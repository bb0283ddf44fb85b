//! Documentation generated from the provider's own schema (descriptions live in the schema
//! once) plus `examples/`, in the tfplugindocs layout the registries render:
//! `docs/index.md`, `docs/resources/<name>.md`, `docs/data-sources/<name>.md`.
//!
//! A page's prose can be written in `templates/<same path>`; there `{{schema}}`,
//! `{{example}}` and `{{import}}` are replaced. `make docs` writes the pages; a test fails
//! when `docs/` differs from what this module renders (stale docs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, NestedBlock, Schema,
};
use tf_provider::Diagnostics;

use crate::provider::K0stackProvider;

pub const PROVIDER: &str = "k0stack";

/// Every generated page, by path relative to the repository root.
pub fn generate(repo: &Path) -> BTreeMap<PathBuf, String> {
    let provider = K0stackProvider::default();
    let handle = provider.handle();
    let mut diags = Diagnostics::default();
    let mut pages = BTreeMap::new();

    let schema = <K0stackProvider as tf_provider::Provider>::schema(&provider, &mut diags)
        .expect("provider schema");
    let example = read(repo, "examples/provider/provider.tf");
    let page = render_page(
        repo,
        "index.md",
        &format!("{PROVIDER} Provider"),
        &format!("{PROVIDER} Provider"),
        &schema,
        example.as_deref(),
        None,
    );
    pages.insert(PathBuf::from("docs/index.md"), page);

    for (name, res) in crate::resources::all(&handle) {
        let full = format!("{PROVIDER}_{name}");
        let schema = res.schema(&mut diags).expect("resource schema");
        let example = read(repo, &format!("examples/resources/{full}/resource.tf"));
        let import = read(repo, &format!("examples/resources/{full}/import.sh"));
        let rel = format!("resources/{name}.md");
        let page = render_page(
            repo,
            &rel,
            &format!("{full} Resource - terraform-provider-{PROVIDER}"),
            &format!("{full} (Resource)"),
            &schema,
            example.as_deref(),
            import.as_deref(),
        );
        pages.insert(PathBuf::from("docs").join(rel), page);
    }
    for (name, ds) in crate::data_sources::all(&handle) {
        let full = format!("{PROVIDER}_{name}");
        let schema = ds.schema(&mut diags).expect("data source schema");
        let example = read(
            repo,
            &format!("examples/data-sources/{full}/data-source.tf"),
        );
        let rel = format!("data-sources/{name}.md");
        let page = render_page(
            repo,
            &rel,
            &format!("{full} Data Source - terraform-provider-{PROVIDER}"),
            &format!("{full} (Data Source)"),
            &schema,
            example.as_deref(),
            None,
        );
        pages.insert(PathBuf::from("docs").join(rel), page);
    }
    pages
}

fn read(repo: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(repo.join(rel)).ok()
}

/// One page: front matter, title, description, example, schema, import.
pub fn render_page(
    repo: &Path,
    rel: &str,
    page_title: &str,
    title: &str,
    schema: &Schema,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let description = schema.block.description.content.trim().to_string();
    let schema_md = render_schema(&schema.block);
    let example_md = example
        .map(|e| format!("## Example Usage\n\n```terraform\n{}\n```\n", e.trim_end()))
        .unwrap_or_default();
    let import_md = import
        .map(|i| format!("## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```\n", i.trim_end()))
        .unwrap_or_default();
    let front = format!(
        "---\npage_title: \"{page_title}\"\nsubcategory: \"\"\ndescription: |-\n{}\n---\n\n",
        indent(&description, "  ")
    );
    let body = match read(repo, &format!("templates/{rel}")) {
        Some(t) => t
            .replace("{{schema}}", &schema_md)
            .replace("{{example}}", &example_md)
            .replace("{{import}}", &import_md),
        None => {
            let mut parts = vec![format!("# {title}\n\n{description}\n")];
            if !example_md.is_empty() {
                parts.push(example_md);
            }
            parts.push(schema_md);
            if !import_md.is_empty() {
                parts.push(import_md);
            }
            parts.join("\n")
        }
    };
    format!("{front}{}\n", body.trim_end())
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{prefix}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `## Schema` section with nested block sections, like tfplugindocs.
pub fn render_schema(block: &Block) -> String {
    let mut out = String::from("<!-- schema generated by `make docs` -->\n## Schema\n");
    let mut nested = Vec::new();
    render_block_lists(block, "", &mut out, &mut nested, 3);
    while !nested.is_empty() {
        let batch: Vec<(String, Block)> = std::mem::take(&mut nested);
        for (path, b) in batch {
            out.push_str(&format!(
                "\n<a id=\"nestedblock--{}\"></a>\n### Nested Schema for `{}`\n",
                anchor(&path),
                path
            ));
            render_block_lists(&b, &path, &mut out, &mut nested, 0);
        }
    }
    out
}

fn anchor(path: &str) -> String {
    path.replace('.', "--")
}

/// Required / Optional / Read-Only lists of a block; nested blocks are queued.
fn render_block_lists(
    block: &Block,
    path: &str,
    out: &mut String,
    nested: &mut Vec<(String, Block)>,
    heading: usize,
) {
    let mut required = Vec::new();
    let mut optional = Vec::new();
    let mut computed = Vec::new();
    let attrs: BTreeMap<&String, &Attribute> = block.attributes.iter().collect();
    for (name, a) in attrs {
        let line = format!(
            "- `{name}` ({}{}) {}",
            type_name(&a.attr_type),
            if a.sensitive { ", Sensitive" } else { "" },
            a.description.content.trim()
        );
        match a.constraint {
            AttributeConstraint::Required => required.push(line),
            AttributeConstraint::Optional | AttributeConstraint::OptionalComputed => {
                optional.push(line)
            }
            AttributeConstraint::Computed => computed.push(line),
        }
    }
    let blocks: BTreeMap<&String, &NestedBlock> = block.blocks.iter().collect();
    for (name, nb) in blocks {
        let (kind, b) = match nb {
            NestedBlock::Single(b) => ("Block, Required", b),
            NestedBlock::List(b) => ("Block List", b),
            NestedBlock::Set(b) => ("Block Set", b),
            NestedBlock::Map(b) => ("Block Map", b),
            NestedBlock::Group(b) | NestedBlock::Optional(b) => ("Block, Optional, Max: 1", b),
        };
        let full = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        let line = format!(
            "- `{name}` ({kind}) {} (see [below for nested schema](#nestedblock--{}))",
            b.description.content.trim(),
            anchor(&full)
        );
        if matches!(nb, NestedBlock::Single(_)) {
            required.push(line);
        } else {
            optional.push(line);
        }
        nested.push((full, b.clone()));
    }
    for (title, lines) in [
        ("Required", required),
        ("Optional", optional),
        ("Read-Only", computed),
    ] {
        if lines.is_empty() {
            continue;
        }
        if heading > 0 {
            out.push_str(&format!("\n{} {title}\n\n", "#".repeat(heading)));
        } else {
            out.push_str(&format!("\n{title}:\n\n"));
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
}

fn type_name(t: &AttributeType) -> String {
    match t {
        AttributeType::String => "String".into(),
        AttributeType::Number => "Number".into(),
        AttributeType::Bool => "Boolean".into(),
        AttributeType::List(inner) => format!("List of {}", type_name(inner)),
        AttributeType::Set(inner) => format!("Set of {}", type_name(inner)),
        AttributeType::Map(inner) => format!("Map of {}", type_name(inner)),
        AttributeType::Object(_) => "Object".into(),
        AttributeType::Tuple(_) => "Tuple".into(),
        AttributeType::AttributeSingle(_) => "Attributes".into(),
        AttributeType::AttributeList(_) => "Attributes List".into(),
        AttributeType::AttributeSet(_) => "Attributes Set".into(),
        AttributeType::AttributeMap(_) => "Attributes Map".into(),
        AttributeType::Any => "Dynamic".into(),
    }
}

/// Writes every page; returns the paths written.
pub fn write_all(repo: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, content) in generate(repo) {
        let path = repo.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::write(&path, content)?;
            written.push(rel);
        }
    }
    Ok(written)
}

/// Pages whose file is missing or differs from the generated content.
pub fn stale(repo: &Path) -> Vec<PathBuf> {
    generate(repo)
        .into_iter()
        .filter(|(rel, content)| {
            std::fs::read_to_string(repo.join(rel)).ok().as_deref() != Some(content.as_str())
        })
        .map(|(rel, _)| rel)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{block, optional_block, string};

    #[test]
    fn schema_lists_by_constraint_with_nested_sections() {
        let b = block(
            "root",
            vec![
                ("name", string("The name.").required()),
                ("id", string("The id.").computed()),
                ("token", string("A token.").sensitive()),
            ],
            vec![(
                "storage",
                optional_block(block("Storage.", vec![("size", string("Size."))], vec![])),
            )],
        );
        let md = render_schema(&b);
        let req = md.find("### Required").unwrap();
        let opt = md.find("### Optional").unwrap();
        let ro = md.find("### Read-Only").unwrap();
        assert!(req < opt && opt < ro, "{md}");
        assert!(md.contains("- `name` (String) The name."));
        assert!(md.contains("- `token` (String, Sensitive) A token."));
        assert!(md.contains("(see [below for nested schema](#nestedblock--storage))"));
        assert!(
            md.contains("### Nested Schema for `storage`\n\nOptional:\n\n- `size` (String) Size."),
            "{md}"
        );
    }
}
