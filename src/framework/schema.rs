//! Schema builders: one line per attribute, descriptions written once (they feed the
//! generated docs as well as `terraform providers schema`).

use std::collections::HashMap;

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock,
};

/// Starts an attribute of type `ty`.
pub fn attr(ty: AttributeType, description: &str) -> AttrBuilder {
    AttrBuilder(Attribute {
        attr_type: ty,
        description: Description::markdown(description),
        constraint: AttributeConstraint::Optional,
        sensitive: false,
        deprecated: false,
    })
}

pub fn string(description: &str) -> AttrBuilder {
    attr(AttributeType::String, description)
}

pub fn bool(description: &str) -> AttrBuilder {
    attr(AttributeType::Bool, description)
}

pub fn number(description: &str) -> AttrBuilder {
    attr(AttributeType::Number, description)
}

pub fn string_list(description: &str) -> AttrBuilder {
    attr(
        AttributeType::List(Box::new(AttributeType::String)),
        description,
    )
}

/// A set of strings: order means nothing, so reordering plans nothing.
pub fn string_set(description: &str) -> AttrBuilder {
    attr(
        AttributeType::Set(Box::new(AttributeType::String)),
        description,
    )
}

pub fn string_map(description: &str) -> AttrBuilder {
    attr(
        AttributeType::Map(Box::new(AttributeType::String)),
        description,
    )
}

/// Builder returned by [`attr`]; attributes are optional unless told otherwise.
pub struct AttrBuilder(Attribute);

impl From<Attribute> for AttrBuilder {
    fn from(a: Attribute) -> Self {
        Self(a)
    }
}

impl AttrBuilder {
    pub fn required(mut self) -> Self {
        self.0.constraint = AttributeConstraint::Required;
        self
    }
    pub fn computed(mut self) -> Self {
        self.0.constraint = AttributeConstraint::Computed;
        self
    }
    pub fn optional_computed(mut self) -> Self {
        self.0.constraint = AttributeConstraint::OptionalComputed;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.0.sensitive = true;
        self
    }
    pub fn build(self) -> Attribute {
        self.0
    }
}

/// A block from `(name, attribute)` pairs and nested `(name, block)` pairs.
pub fn block(
    description: &str,
    attributes: Vec<(&str, AttrBuilder)>,
    blocks: Vec<(&str, NestedBlock)>,
) -> Block {
    Block {
        version: 1,
        description: Description::markdown(description),
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.build()))
            .collect::<HashMap<_, _>>(),
        blocks: blocks
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        deprecated: false,
    }
}

/// An optional nested block that appears at most once (serialized as a 0/1-element list;
/// use `crate::framework::block` on the field).
pub fn optional_block(block: Block) -> NestedBlock {
    NestedBlock::Optional(block)
}
