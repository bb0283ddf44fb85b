//! Planning the exposure: the effective service type and ports, recorded at the top level
//! (`service_type`, `api_port`, `konnectivity_port`) also without a `service` block. The
//! block's ports record only what is configured, so the plan can tell a port the provider
//! allocated (kept) from a configured one that was removed (allocated anew).

use tf_provider::value::{Value, ValueNumber};

use super::model::*;

/// The service type when the configuration sets none: `NodePort`, so that workers outside
/// the management cluster can join (k0smotron's own default, `ClusterIP`, is reachable only
/// inside the management cluster).
pub const DEFAULT_SERVICE_TYPE: &str = "NodePort";

/// The effective service type of a configuration: its block's, else the default; Unknown
/// while the block or its type is unknown.
fn effective_type(s: &State) -> Str {
    match &s.service {
        Value::Unknown => Value::Unknown,
        Value::Null => Value::Value(DEFAULT_SERVICE_TYPE.into()),
        Value::Value(b) => match &b.kind {
            Value::Null => Value::Value(DEFAULT_SERVICE_TYPE.into()),
            v => v.clone(),
        },
    }
}

/// Which port of the service block.
#[derive(Clone, Copy)]
enum Port {
    Api,
    Konnectivity,
}

impl Port {
    fn default(self) -> i64 {
        match self {
            Port::Api => DEFAULT_API_PORT as i64,
            Port::Konnectivity => DEFAULT_KONNECTIVITY_PORT as i64,
        }
    }
    fn in_block(self, s: &State) -> ValueNumber {
        match (&s.service, self) {
            (Value::Value(b), Port::Api) => b.api_port,
            (Value::Value(b), Port::Konnectivity) => b.konnectivity_port,
            (Value::Unknown, _) => Value::Unknown,
            (Value::Null, _) => Value::Null,
        }
    }
    fn top(self, s: &State) -> ValueNumber {
        match self {
            Port::Api => s.api_port,
            Port::Konnectivity => s.konnectivity_port,
        }
    }
}

/// The effective port: what the configuration sets; else, for a `NodePort` service, the
/// port recorded for it (a port the provider allocated stays; a configured port that was
/// removed is allocated anew, Unknown until apply), and the fixed default for the other
/// types (their node ports, if any, are Kubernetes').
fn effective_port(prior: Option<&State>, config: &State, kind: &Str, which: Port) -> ValueNumber {
    let configured = which.in_block(config);
    if !configured.is_null() {
        return configured;
    }
    let node_port = match kind {
        Value::Unknown => return Value::Unknown,
        Value::Value(k) => k.as_ref() == "NodePort",
        Value::Null => true,
    };
    if !node_port {
        return Value::Value(which.default());
    }
    let Some(prior) = prior else {
        return Value::Unknown;
    };
    let (block, top) = (which.in_block(prior), which.top(prior));
    let same_type = known(&prior.service_type).as_deref() == Some("NodePort");
    match (block, top) {
        // A state of an earlier version: its block recorded the ports it uses.
        (Value::Value(p), Value::Null) if known_type_of_block(prior) == Some("NodePort".into()) => {
            Value::Value(p)
        }
        // A configured port that was removed: its replacement is allocated.
        (Value::Value(_), _) => Value::Unknown,
        (_, Value::Value(p)) if same_type => Value::Value(p),
        _ => Value::Unknown,
    }
}

fn known_type_of_block(s: &State) -> Option<String> {
    s.service.as_ref_option().and_then(|b| known(&b.kind))
}

/// Plans the service: the block's optional arguments the configuration leaves out, and the
/// effective type and ports (top-level computed attributes, also without a block).
pub(super) fn plan_service(prior: Option<&State>, config: &State, planned: &mut State) {
    let kind = effective_type(config);
    let api = effective_port(prior, config, &kind, Port::Api);
    let konn = effective_port(prior, config, &kind, Port::Konnectivity);
    if let (Some(b), Some(c)) = (
        planned.service.as_mut_option(),
        config.service.as_ref_option(),
    ) {
        b.kind = kind.clone();
        // The block records what is configured; the effective ports are the top-level ones.
        b.api_port = c.api_port;
        b.konnectivity_port = c.konnectivity_port;
    }
    planned.service_type = kind;
    planned.api_port = api;
    planned.konnectivity_port = konn;
}
