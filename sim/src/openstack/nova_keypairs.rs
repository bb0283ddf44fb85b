//! Nova keypairs: list (per user, paginated from 2.35) and create (import, or generated
//! before 2.92), with the fields each microversion shows.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::nova::{bad_request, paginate, Call};
use super::store::{fingerprint, new_uuid, Keypair};

pub fn keypair_json(c: &Call, k: &Keypair) -> Value {
    let mut v = json!({"fingerprint": k.fingerprint, "name": k.name, "public_key": k.public_key});
    if c.mv.at_least(2) {
        v["type"] = json!(k.kind);
    }
    v
}

pub fn list(c: &Call) -> Resp {
    let st = c.ctx.state.lock().expect("state");
    let uid = if c.mv.at_least(10) {
        http::query_get(&c.req.query, "user_id").unwrap_or(&c.token.user_id)
    } else {
        &c.token.user_id
    };
    let mut kps: Vec<Keypair> = st
        .keypairs
        .iter()
        .filter(|k| k.user_id == uid)
        .cloned()
        .collect();
    kps.sort_by(|a, b| a.name.cmp(&b.name));
    let (page, links) = if c.mv.at_least(35) {
        match paginate(c, &kps, |k| k.name.clone(), "os-keypairs") {
            Ok(x) => x,
            Err(r) => return r,
        }
    } else {
        (kps, None)
    };
    let mut body = json!({"keypairs": page.iter().map(|k| json!({"keypair": keypair_json(c, k)})).collect::<Vec<_>>()});
    if let Some(l) = links {
        body["keypairs_links"] = l;
    }
    http::json(200, &body)
}

pub fn create(c: &Call) -> Resp {
    let body = match c.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let kp = &body["keypair"];
    let Some(name) = kp["name"].as_str() else {
        return bad_request(
            "Invalid input for field/attribute keypair. 'name' is a required property",
        );
    };
    let name_ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || " _-.@".contains(ch));
    if !name_ok || name.trim().is_empty() {
        return bad_request(&format!(
            "Invalid input for field/attribute name. Value: {name}. Keypair name contains unsafe characters or is out of range"
        ));
    }
    let kind = kp["type"].as_str().unwrap_or("ssh").to_string();
    if kind != "ssh" && kind != "x509" {
        return bad_request(&format!(
            "Invalid input for field/attribute type. Value: {kind}."
        ));
    }
    let user_id = kp["user_id"]
        .as_str()
        .filter(|_| c.mv.at_least(10))
        .unwrap_or(&c.token.user_id)
        .to_string();
    let (public_key, private_key) = match kp["public_key"].as_str() {
        Some(pk) => {
            if pk.split_whitespace().count() < 2 {
                return bad_request("Keypair data is invalid: failed to generate fingerprint");
            }
            (pk.to_string(), None)
        }
        None if c.mv.at_least(92) => {
            return bad_request(
                "Invalid input for field/attribute keypair. 'public_key' is a required property",
            )
        }
        None => {
            let blob = new_uuid().replace('-', "");
            (
                format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{blob} Generated-by-Nova"),
                Some(format!("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{blob}\n-----END OPENSSH PRIVATE KEY-----\n")),
            )
        }
    };
    let mut st = c.ctx.state.lock().expect("state");
    if st
        .keypairs
        .iter()
        .any(|k| k.name == name && k.user_id == user_id)
    {
        return http::error(
            Service::Compute,
            409,
            &format!("Key pair '{name}' already exists."),
        );
    }
    if st.keypairs.iter().filter(|k| k.user_id == user_id).count() as u64 >= st.quotas.key_pairs {
        return http::error(Service::Compute, 403, "Quota exceeded, too many key pairs.");
    }
    let k = Keypair {
        name: name.into(),
        user_id: user_id.clone(),
        fingerprint: fingerprint(&public_key),
        public_key,
        kind,
        created: SystemTime::now(),
        id: st.keypairs.iter().map(|k| k.id).max().unwrap_or(0) + 1,
    };
    st.keypairs.push(k.clone());
    let mut v = keypair_json(c, &k);
    if c.mv.at_least(10) {
        v["user_id"] = json!(user_id);
    }
    if let Some(p) = private_key {
        v["private_key"] = json!(p);
        v["user_id"] = json!(k.user_id);
    }
    http::json(
        if c.mv.at_least(2) { 201 } else { 200 },
        &json!({ "keypair": v }),
    )
}
