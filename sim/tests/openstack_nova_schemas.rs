//! The sim's Nova bodies judged by Nova's own response schemas (nova 34.0.0,
//! `nova/api/openstack/compute/schemas/*.py`, the schemas `@validation.response_body_schema`
//! applies per microversion; most forbid additional properties). They are read from the
//! real Nova package that tools/openstack/install.sh puts in .tools/openstack/venv, so the
//! test is ignored in `make test` and run by `make test-openstack` (which installs it);
//! run without that package it fails, saying so.

mod support;

use std::path::Path;
use std::process::Command;

use k0stack_sim::openstack::OpenStackOptions;
use serde_json::{json, Value};
use support::{private_net, ubuntu, Cloud};

const VALIDATE: &str = r#"
import importlib, json, sys, jsonschema
failures = []
for case in json.load(open(sys.argv[1])):
    mod = importlib.import_module("nova.api.openstack.compute.schemas." + case["module"])
    schema = getattr(mod, case["schema"])
    try:
        jsonschema.validate(case["body"], schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        failures.append("%s.%s (%s): %s at %s" % (case["module"], case["schema"], case["what"], e.message, list(e.absolute_path)))
print(json.dumps({"checked": len(json.load(open(sys.argv[1]))), "failures": failures}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real Nova package: make test-openstack runs it"]
async fn bodies_pass_novas_response_schemas() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/openstack/venv/bin/python");
    let nova = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/openstack/venv/lib/python3.11/site-packages/nova");
    assert!(
        python.exists() && nova.exists(),
        "no real Nova in .tools/openstack/venv: run tools/openstack/install.sh (make test-openstack does)"
    );
    let c = Cloud::start(OpenStackOptions::default()).await;
    let pid = c.sim.credentials().project_name;
    let pid = {
        let t = c.get("/identity/v3/auth/projects", None).await;
        t.body["projects"]
            .as_array()
            .and_then(|p| p.iter().find(|x| x["name"] == pid.as_str()))
            .and_then(|p| p["id"].as_str())
            .expect("project id")
            .to_string()
    };
    let id = c
        .create_server(
            json!({"name": "judged", "flavorRef": "1", "imageRef": ubuntu(),
            "networks": [{"uuid": private_net()}], "availability_zone": "az1"}),
        )
        .await;
    c.wait_status(&id, "ACTIVE").await;
    let mut cases: Vec<Value> = Vec::new();
    let mut case = |what: &str, module: &str, schema: &str, body: Value| {
        cases.push(json!({"what": what, "module": module, "schema": schema, "body": body}));
    };
    for (mv, suffix) in [("2.1", ""), ("2.36", "_v236"), ("2.57", "_v257")] {
        let qs = format!("/compute/v2.1/os-quota-sets/{pid}");
        case(
            mv,
            "quota_sets",
            &format!("show_response{suffix}"),
            c.get(&qs, Some(mv)).await.body,
        );
        let d = c.get(&format!("{qs}/detail"), Some(mv)).await.body;
        case(mv, "quota_sets", &format!("detail_response{suffix}"), d);
        let d = c.get(&format!("{qs}/defaults"), Some(mv)).await.body;
        case(mv, "quota_sets", &format!("defaults_response{suffix}"), d);
    }
    for (mv, suffix) in [
        ("2.1", ""),
        ("2.36", "_v236"),
        ("2.39", "_v239"),
        ("2.57", "_v257"),
    ] {
        let l = c.get("/compute/v2.1/limits", Some(mv)).await.body;
        case(mv, "limits", &format!("index_response{suffix}"), l);
    }
    let ips = c
        .get(&format!("/compute/v2.1/servers/{id}/ips"), Some("2.96"))
        .await
        .body;
    case("ips", "ips", "index_response", ips);
    let one = c
        .get(
            &format!("/compute/v2.1/servers/{id}/ips/private"),
            Some("2.96"),
        )
        .await
        .body;
    case("ips/private", "ips", "show_response", one);
    for (mv, suffix) in [
        ("2.1", ""),
        ("2.47", "_v247"),
        ("2.74", "_v273"),
        ("2.75", "_v275"),
        ("2.96", "_v296"),
    ] {
        let a = c
            .call(
                "PUT",
                &format!("/compute/v2.1/servers/{id}"),
                Some(json!({"server": {"name": format!("judged-{mv}")}})),
                Some(mv),
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        case(mv, "servers", &format!("update_response{suffix}"), a.body);
    }
    let show = c
        .get(&format!("/compute/v2.1/servers/{id}"), Some("2.96"))
        .await
        .body;
    assert_eq!(show["server"]["pinned_availability_zone"], "az1", "{show}");
    case("2.96", "servers", "show_response_v296", show);
    let detail = c
        .get("/compute/v2.1/servers/detail", Some("2.96"))
        .await
        .body;
    case("2.96", "servers", "detail_response_v296", detail);
    let root = c.call("GET", "/compute/", None, None, Some("")).await;
    assert_eq!(root.status, 200);
    case("/", "versions", "index_response", root.body);
    let v21 = c.call("GET", "/compute/v2.1/", None, None, Some("")).await;
    case("/v2.1/", "versions", "show_response", v21.body);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new(&python)
        .arg("-W")
        .arg("ignore")
        .arg("-c")
        .arg(VALIDATE)
        .arg(&file)
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or_default()).expect("result");
    assert_eq!(r["checked"], cases.len(), "{r}");
    assert_eq!(r["failures"], json!([]), "{r:#}");
}
