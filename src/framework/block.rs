//! Single nested blocks (`NestedBlock::Optional`, a list of at most one element on the
//! wire) as one `Value<T>`, accepting everything Terraform sends for them.
//!
//! tf-provider's own `serde_as_vec` reads the list as a sequence only: a whole block list
//! that is unknown — a `dynamic "x" { for_each = var.y }` while the module is validated, or
//! a `for_each` that depends on a value known only after apply — arrives as msgpack's
//! unknown extension instead, and failed with "invalid type: newtype struct, expected a
//! sequence" at validate and plan. Here it becomes `Value::Unknown`, and an unknown block
//! planned back is sent as unknown (as the protocol requires: a planned block must be
//! what the configuration says).

use serde::{de::Error, ser::SerializeSeq, Deserialize, Deserializer, Serialize, Serializer};
use tf_provider::value::Value;

pub fn serialize<T: Serialize, S: Serializer>(value: &Value<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Value::Unknown => Value::<()>::Unknown.serialize(s),
        Value::Null => s.serialize_seq(Some(0))?.end(),
        Value::Value(v) => {
            let mut seq = s.serialize_seq(Some(1))?;
            seq.serialize_element(v)?;
            seq.end()
        }
    }
}

pub fn deserialize<'de, T, D>(d: D) -> Result<Value<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let list: Value<Vec<Value<T>>> = Deserialize::deserialize(d)?;
    match list {
        Value::Unknown => Ok(Value::Unknown),
        Value::Null => Ok(Value::Null),
        Value::Value(items) => {
            let mut it = items.into_iter();
            match (it.next(), it.next()) {
                (None, _) => Ok(Value::Null),
                (Some(one), None) => Ok(one),
                (Some(_), Some(_)) => Err(D::Error::custom("this block may appear at most once")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        size: Value<i64>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        #[serde(with = "super")]
        block: Value<Inner>,
    }

    #[test]
    fn null_empty_one_and_unknown_blocks() {
        let json = |s: &str| serde_json::from_str::<Outer>(s).unwrap().block;
        assert_eq!(json(r#"{"block": null}"#), Value::Null);
        assert_eq!(json(r#"{"block": []}"#), Value::Null);
        assert_eq!(
            json(r#"{"block": [{"size": 3}]}"#),
            Value::Value(Inner {
                size: Value::Value(3)
            })
        );
        assert!(serde_json::from_str::<Outer>(r#"{"block": [{"size": 1}, {"size": 2}]}"#).is_err());
        let back = serde_json::to_string(&Outer {
            block: Value::Value(Inner {
                size: Value::Value(3),
            }),
        })
        .unwrap();
        assert_eq!(back, r#"{"block":[{"size":3}]}"#);
    }
}
