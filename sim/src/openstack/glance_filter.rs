//! Glance's filter operators on `name`, `id`, `status`, `container_format` and
//! `disk_format`: `op:value`, where `op` is `eq` (the default when there is no colon) or
//! `in` (a comma-separated list, values optionally double-quoted); any other prefix is an
//! unknown operator and a 400.
//!
//! Why it matters: openstacksdk looks up the images of a server list with
//! `GET /v2/images?id=in:<a>,<b>` (`openstack server list` shows image names from it),
//! and a value with a colon in it (`name=ubuntu:24.04`) is read by Glance as the
//! operator `ubuntu`. Upstream: glance `glance/common/utils.py` (`split_filter_op`,
//! `validate_quotes`, `split_filter_value_for_quotes`), `glance/db/sqlalchemy/api.py`
//! `_make_conditions_from_filters`; glance 33.0.0.

/// How one query value selects images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Eq(String),
    In(Vec<String>),
}

impl Filter {
    /// Parses a query value; the error is the message of Glance's 400.
    pub fn parse(expression: &str) -> Result<Self, String> {
        let Some((op, rest)) = expression.split_once(':') else {
            return Ok(Self::Eq(expression.to_string()));
        };
        // An ISO 8601 time has colons but no operator (split_filter_op tries
        // parse_isotime first).
        if time::OffsetDateTime::parse(expression, &time::format_description::well_known::Rfc3339)
            .is_ok()
        {
            return Ok(Self::Eq(expression.to_string()));
        }
        match op {
            "eq" => Ok(Self::Eq(rest.to_string())),
            "in" => split_quoted(rest).map(Self::In),
            other => Err(format!("Unable to filter by unknown operator '{other}'.")),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Eq(v) => v == value,
            Self::In(vs) => vs.iter().any(|v| v == value),
        }
    }
}

/// `validate_quotes` then `split_filter_value_for_quotes`: commas separate values; a value
/// in double quotes may hold commas (`\"` is a literal quote); a quote must follow a comma
/// (or the start) and be followed by a comma (or the end).
fn split_quoted(value: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = value.chars().collect();
    let mut open = false;
    for (i, &c) in chars.iter().enumerate() {
        if c != '"' || (i > 0 && chars[i - 1] == '\\') {
            continue;
        }
        if !open && i > 0 && chars[i - 1] != ',' {
            return Err(format!(
                "Invalid filter value {value}. There is no comma before opening quotation mark."
            ));
        }
        if open && i + 1 != chars.len() && chars[i + 1] != ',' {
            return Err(format!(
                "Invalid filter value {value}. There is no comma after closing quotation mark."
            ));
        }
        open = !open;
    }
    if open {
        return Err(format!(
            "Invalid filter value {value}. The quote is not closed."
        ));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '"' {
            let mut v = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    // The regex keeps the backslash and the character after it.
                    v.push(chars[i]);
                    i += 1;
                }
                v.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote
            if i < chars.len() && chars[i] == ',' {
                i += 1;
            }
            out.push(v);
        } else if chars[i] == ',' {
            out.push(String::new());
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            if i < chars.len() {
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_as_glance_reads_them() {
        assert_eq!(Filter::parse("cirros"), Ok(Filter::Eq("cirros".into())));
        assert_eq!(
            Filter::parse("eq:ubuntu:24.04"),
            Ok(Filter::Eq("ubuntu:24.04".into()))
        );
        assert_eq!(
            Filter::parse("in:a,b"),
            Ok(Filter::In(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            Filter::parse(r#"in:"x,y",z"#),
            Ok(Filter::In(vec!["x,y".into(), "z".into()]))
        );
        assert_eq!(
            Filter::parse("ubuntu:24.04"),
            Err("Unable to filter by unknown operator 'ubuntu'.".into())
        );
        assert!(Filter::parse(r#"in:a"b""#).is_err());
        assert!(Filter::parse(r#"in:"ab"#).is_err());
        assert_eq!(
            Filter::parse("2025-01-01T00:00:00Z"),
            Ok(Filter::Eq("2025-01-01T00:00:00Z".into()))
        );
        let f = Filter::parse("in:a,b").unwrap();
        assert!(f.matches("b") && !f.matches("c"));
    }
}
