//! The simulated OpenStack behaves like a real cloud where the provider depends on it:
//! tokens and 401s, the server lifecycle and its events, scheduling, quotas, filters and
//! pagination, microversions, validation, fault injection and request counters.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k0stack_sim::openstack::{seed::Seed, OpenStackOptions};
use k0stack_sim::{EventBus, VmEvent};
use serde_json::{json, Value};
use support::{b64, private_net, ubuntu, Cloud};

fn small(name: &str) -> Value {
    json!({"name": name, "flavorRef": "2", "imageRef": ubuntu(), "networks": [{"uuid": private_net()}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_services_answer_401() {
    let c = Cloud::start(OpenStackOptions {
        token_ttl: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let ok = c.get("/compute/v2.1/servers", None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for (path, tok) in [
        ("/compute/v2.1/servers", ""),
        ("/compute/v2.1/servers", "nonsense"),
        ("/image/v2/images", ""),
        ("/network/v2.0/networks", "nonsense"),
    ] {
        let a = c.call("GET", path, None, None, Some(tok)).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.body["error"]["code"], 401, "{}", a.body);
        assert!(a
            .header("www-authenticate")
            .unwrap()
            .contains("/identity/v3"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = c.get("/compute/v2.1/servers", None).await;
    assert_eq!(a.status, 401, "an expired token is refused");

    // Wrong credentials: Keystone's error body. Malformed JSON: 400.
    let a = c
        .call(
            "POST",
            "/identity/v3/auth/tokens",
            Some(support::password_auth("demo", "wrong", "demo")),
            None,
            Some(""),
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["error"]["title"], "Unauthorized");
    assert_eq!(
        a.body["error"]["message"],
        "The request you have made requires authentication."
    );
    let r = c
        .http
        .post(format!("{}/identity/v3/auth/tokens", c.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Application credential (id), and by name + user name.
    let cr = c.sim.credentials();
    let a = c
        .call("POST", "/identity/v3/auth/tokens", Some(json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cr.application_credential_id, "secret": cr.application_credential_secret}}}})), None, Some(""))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body["token"]["methods"],
        json!(["application_credential"])
    );
    assert_eq!(a.body["token"]["project"]["name"], "demo");
    let a = c
        .call("POST", "/identity/v3/auth/tokens", Some(json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"name": "k0stack-demo", "secret": "wrong", "user": {"name": "demo", "domain": {"name": "Default"}}}}}})), None, Some(""))
        .await;
    assert_eq!(a.status, 401);
    // Password by user id, project by id.
    let a = c
        .call("POST", "/identity/v3/auth/tokens", Some(json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": "fd786d56402c4d1691372e7dee0d00b5", "password": cr.password}}},
            "scope": {"project": {"id": "231c62fb0fbd485b995e8b060c3f0d98"}}}})), None, Some(""))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    // The TTL is a run-time knob too.
    c.sim
        .faults()
        .update(serde_json::from_value(json!({"token_ttl_s": 3600})).unwrap())
        .unwrap();
    let fresh = c.new_token().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.call("GET", "/compute/v2.1/servers", None, None, Some(&fresh))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_points_back_at_the_simulator() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let cr = c.sim.credentials();
    let a = c
        .call(
            "POST",
            "/identity/v3/auth/tokens",
            Some(support::password_auth(
                &cr.user_name,
                &cr.password,
                &cr.project_name,
            )),
            None,
            Some(""),
        )
        .await;
    assert!(a.body["token"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let catalog = a.body["token"]["catalog"].as_array().unwrap();
    let types: BTreeSet<&str> = catalog
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["compute", "identity", "image", "network"])
    );
    for svc in catalog {
        let eps = svc["endpoints"].as_array().unwrap();
        assert_eq!(eps.len(), 3);
        for e in eps {
            assert!(e["url"].as_str().unwrap().starts_with(&c.base));
            assert_eq!(e["region_id"], "RegionOne");
        }
    }
    let url = |t: &str| {
        catalog.iter().find(|s| s["type"] == t).unwrap()["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        c.get(&format!("{}/servers", url("compute")), None)
            .await
            .status,
        200
    );
    assert_eq!(
        c.get(&format!("{}/v2/images", url("image")), None)
            .await
            .status,
        200
    );
    assert_eq!(
        c.get(&format!("{}/v2.0/networks", url("network")), None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_lifecycle_publishes_events_and_history() {
    let bus = EventBus::default();
    let mut rx = bus.subscribe();
    let c = Cloud::start(OpenStackOptions {
        bus,
        boot_latency: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let user_data = "#cloud-config\nruncmd:\n  - echo hello\n";
    let mut body = small("worker-1");
    body["user_data"] = json!(b64(user_data));
    body["tags"] = json!(["k0stack"]);
    body["metadata"] = json!({"pool": "a"});
    let a = c
        .post(
            "/compute/v2.1/servers",
            json!({ "server": body }),
            Some("2.90"),
        )
        .await;
    assert_eq!(a.status, 202);
    let id = a.body["server"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.header("location").unwrap(),
        format!("{}/compute/v2.1/servers/{id}", c.base)
    );
    assert!(a.body["server"]["adminPass"].is_string());
    let s = c.server(&id).await.body;
    assert_eq!(s["server"]["status"], "BUILD");
    assert_eq!(s["server"]["OS-EXT-STS:vm_state"], "building");

    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let VmEvent::Active(vm) = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(vm.server_id, id);
    assert_eq!(vm.name, "worker-1");
    assert_eq!(vm.user_data.as_deref(), Some(user_data));
    assert_eq!(vm.flavor, "m1.small");
    let ip: std::net::Ipv4Addr = vm.ip.parse().unwrap();
    assert_eq!(&ip.octets()[..2], &[127, 100], "{ip}");

    let s = c.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["addresses"]["private"][0]["addr"], vm.ip);
    assert_eq!(s["addresses"]["private"][0]["OS-EXT-IPS:type"], "fixed");
    assert_eq!(s["flavor"]["original_name"], "m1.small");
    assert_eq!(s["metadata"]["pool"], "a");
    assert_eq!(s["tags"], json!(["k0stack"]));
    assert!(s["hostId"].as_str().unwrap().len() > 10);
    let ports = c
        .get(&format!("/network/v2.0/ports?device_id={id}"), None)
        .await
        .body;
    assert_eq!(ports["ports"].as_array().unwrap().len(), 1);
    assert_eq!(ports["ports"][0]["fixed_ips"][0]["ip_address"], vm.ip);
    assert_eq!(ports["ports"][0]["status"], "ACTIVE");

    let a = c
        .call(
            "DELETE",
            &format!("/compute/v2.1/servers/{id}"),
            None,
            Some("2.90"),
            None,
        )
        .await;
    assert_eq!(a.status, 204);
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        VmEvent::Gone {
            server_id: id.clone()
        }
    );
    let a = c.server(&id).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["itemNotFound"]["code"], 404);
    assert!(c
        .get(&format!("/network/v2.0/ports?device_id={id}"), None)
        .await
        .body["ports"]
        .as_array()
        .unwrap()
        .is_empty());

    let h = c.sim.history();
    let kinds: Vec<&str> = h.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["server.create", "server.active", "server.delete"]);
    assert!(h
        .windows(2)
        .all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_one_gives_error_with_fault() {
    let c = Cloud::start(OpenStackOptions {
        vm_error_rate: 1.0,
        boot_latency: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let id = c.create_server(small("doomed")).await;
    let s = c.wait_status(&id, "ERROR").await;
    assert_eq!(s["fault"]["code"], 500);
    assert!(s["fault"]["message"].as_str().unwrap().contains("aborted"));
    assert_eq!(s["OS-EXT-STS:vm_state"], "error");
    assert_eq!(c.sim.history().last().unwrap().kind, "server.error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_affinity_runs_out_of_hosts() {
    let c = Cloud::start(OpenStackOptions {
        hosts: 2,
        boot_latency: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let mk_group = |policy: &'static str| {
        let c = &c;
        async move {
            let a = c
                .post(
                    "/compute/v2.1/os-server-groups",
                    json!({"server_group": {"name": policy, "policy": policy}}),
                    Some("2.64"),
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            a.body["server_group"]["id"].as_str().unwrap().to_string()
        }
    };
    let hard = mk_group("anti-affinity").await;
    let mut ids = vec![];
    for i in 0..3 {
        ids.push(
            c.create_server_with(json!({"server": small(&format!("aa-{i}")),
                "OS-SCH-HNT:scheduler_hints": {"group": hard}}))
                .await,
        );
    }
    let s0 = c.wait_status(&ids[0], "ACTIVE").await;
    let s1 = c.wait_status(&ids[1], "ACTIVE").await;
    assert_ne!(s0["hostId"], s1["hostId"], "members on different hosts");
    let s2 = c.wait_status(&ids[2], "ERROR").await;
    assert_eq!(
        s2["fault"]["message"],
        "No valid host was found. There are not enough hosts available."
    );
    assert_eq!(s2["server_groups"], json!([hard]));
    let g = c
        .get(
            &format!("/compute/v2.1/os-server-groups/{hard}"),
            Some("2.64"),
        )
        .await
        .body;
    assert_eq!(g["server_group"]["members"].as_array().unwrap().len(), 3);

    // Soft anti-affinity spreads as far as it can, then shares hosts.
    let soft = mk_group("soft-anti-affinity").await;
    let mut hosts = vec![];
    for i in 0..3 {
        let id = c
            .create_server_with(json!({"server": small(&format!("saa-{i}")),
                "OS-SCH-HNT:scheduler_hints": {"group": soft}}))
            .await;
        hosts.push(c.wait_status(&id, "ACTIVE").await["hostId"].clone());
    }
    assert_ne!(hosts[0], hosts[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_filters_and_pagination() {
    let c = Cloud::start(OpenStackOptions {
        boot_latency: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    for i in 0..25 {
        let mut s = small(&format!("pool-a-{i:02}"));
        s["tags"] = json!(["k0stack", "k0stack-pool=a"]);
        c.create_server(s).await;
    }
    for i in 0..3 {
        let mut s = small(&format!("pool-b-{i}"));
        s["tags"] = json!(["k0stack", "k0stack-pool=b"]);
        c.create_server(s).await;
    }
    let mut next = Some(format!(
        "{}/compute/v2.1/servers/detail?tags=k0stack,k0stack-pool%3Da&limit=10",
        c.base
    ));
    let mut pages = vec![];
    let mut seen = BTreeSet::new();
    while let Some(url) = next.take() {
        let a = c.get(&url, Some("2.90")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let servers = a.body["servers"].as_array().unwrap();
        pages.push(servers.len());
        for s in servers {
            assert!(s["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("k0stack-pool=a")));
            assert!(seen.insert(s["id"].as_str().unwrap().to_string()));
        }
        next = a.body["servers_links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
            .map(|l| l["href"].as_str().unwrap().to_string());
    }
    assert_eq!(pages, vec![10, 10, 5]);
    assert_eq!(seen.len(), 25);
    let names: Vec<String> = c.get("/compute/v2.1/servers?name=pool-b", None).await.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["pool-b-2", "pool-b-1", "pool-b-0"],
        "newest first, unanchored regex"
    );
    let n = |a: &support::Answer| a.body["servers"].as_array().unwrap().len();
    assert_eq!(
        n(&c.get(
            "/compute/v2.1/servers?tags-any=k0stack-pool%3Db,nothing",
            None
        )
        .await),
        3
    );
    assert_eq!(
        n(
            &c.get("/compute/v2.1/servers?tags=k0stack-pool%3Db,nothing", None)
                .await
        ),
        0
    );
    assert_eq!(
        n(&c.get("/compute/v2.1/servers?name=%5Epool-a-0", None).await),
        10
    );
    assert_eq!(
        n(
            &c.get("/compute/v2.1/servers?status=BUILD&name=nomatch", None)
                .await
        ),
        0
    );
    let a = c.get("/compute/v2.1/servers?marker=nope", None).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["badRequest"]["message"], "marker [nope] not found");

    // Tags API.
    let id = c.sim.servers()[0].id.clone();
    let a = c
        .call(
            "PUT",
            &format!("/compute/v2.1/servers/{id}/tags"),
            Some(json!({"tags": ["x", "y"]})),
            Some("2.26"),
            None,
        )
        .await;
    assert_eq!(a.body["tags"], json!(["x", "y"]));
    let a = c
        .get(&format!("/compute/v2.1/servers/{id}/tags"), Some("2.26"))
        .await;
    assert_eq!(a.body["tags"], json!(["x", "y"]));
    assert_eq!(
        c.get(&format!("/compute/v2.1/servers/{id}/tags"), None)
            .await
            .status,
        404,
        "tags need 2.26"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_is_403_forbidden() {
    let mut seed = Seed::default();
    seed.quotas.instances = 2;
    let c = Cloud::start(OpenStackOptions {
        seed,
        ..Default::default()
    })
    .await;
    c.create_server(small("q1")).await;
    c.create_server(small("q2")).await;
    let a = c
        .post(
            "/compute/v2.1/servers",
            json!({"server": small("q3")}),
            Some("2.90"),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.body["forbidden"]["message"],
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    );
    assert_eq!(a.body["forbidden"]["code"], 403);
    let l = c.get("/compute/v2.1/limits", None).await.body;
    assert_eq!(l["limits"]["absolute"]["maxTotalInstances"], 2);
    assert_eq!(l["limits"]["absolute"]["totalInstancesUsed"], 2);
    assert_eq!(l["limits"]["absolute"]["totalRAMUsed"], 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_create_requests_are_400_bad_request() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let with = |k: &str, v: Value| {
        let mut s = small("bad");
        s[k] = v;
        json!({ "server": s })
    };
    let too_many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let cases = vec![
        ("flavor", with("flavorRef", json!("nope"))),
        ("image", with("imageRef", json!("nope"))),
        ("network", with("networks", json!([{"uuid": "nope"}]))),
        (
            "security group",
            with("security_groups", json!([{"name": "nope"}])),
        ),
        ("key_name", with("key_name", json!("nope"))),
        (
            "availability zone",
            with("availability_zone", json!("nope")),
        ),
        ("base64", with("user_data", json!("!!!not base64"))),
        (
            "user_data size",
            with("user_data", json!("A".repeat(65536))),
        ),
        ("too many tags", with("tags", json!(too_many))),
        ("bad tag", with("tags", json!(["a/b"]))),
        ("no name", with("name", json!(""))),
        (
            "server group",
            json!({"server": small("bad"), "OS-SCH-HNT:scheduler_hints": {"group": "nope"}}),
        ),
        ("no server", json!({"nothing": {}})),
    ];
    for (what, body) in cases {
        let a = c.post("/compute/v2.1/servers", body, Some("2.90")).await;
        assert_eq!(a.status, 400, "{what}: {}", a.body);
        assert_eq!(a.body["badRequest"]["code"], 400, "{what}: {}", a.body);
    }
    // Tags in create need 2.52.
    let mut s = small("old");
    s["tags"] = json!(["a"]);
    assert_eq!(
        c.post("/compute/v2.1/servers", json!({"server": s}), Some("2.51"))
            .await
            .status,
        400
    );
    // Malformed JSON.
    let r = c
        .http
        .post(format!("{}/compute/v2.1/servers", c.base))
        .header("x-auth-token", &c.token)
        .body("{\"server\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("Malformed"));
    assert!(c.sim.servers().is_empty(), "nothing was created");
    // Unknown things elsewhere are 404 in each service's shape.
    let a = c.get("/network/v2.0/networks/nope", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["NeutronError"]["type"], "NetworkNotFound");
    assert_eq!(a.body["NeutronError"]["detail"], "");
    assert_eq!(
        c.get("/compute/v2.1/flavors/nope", None).await.body["itemNotFound"]["code"],
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_from_volume_without_image_ref() {
    let c = Cloud::start(OpenStackOptions {
        boot_latency: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let id = c
        .create_server(
            json!({"name": "bfv", "flavorRef": "3", "networks": [{"uuid": private_net()}],
            "block_device_mapping_v2": [{"boot_index": 0, "uuid": ubuntu(), "source_type": "image",
                "destination_type": "volume", "volume_size": 40, "delete_on_termination": true}]}),
        )
        .await;
    let s = c.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["image"], "");
    assert_eq!(
        s["os-extended-volumes:volumes_attached"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Neither imageRef nor a boot volume: refused.
    let a = c
        .post(
            "/compute/v2.1/servers",
            json!({"server": {"name": "x", "flavorRef": "3"}}),
            Some("2.90"),
        )
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microversions_are_echoed_and_bounded() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let a = c.get("/compute/v2.1/flavors", Some("2.90")).await;
    assert_eq!(a.header("openstack-api-version").unwrap(), "compute 2.90");
    assert_eq!(a.header("x-openstack-nova-api-version").unwrap(), "2.90");
    assert!(a.header("vary").unwrap().contains("OpenStack-API-Version"));
    let a = c.get("/compute/v2.1/flavors", None).await;
    assert_eq!(
        a.header("openstack-api-version").unwrap(),
        "compute 2.1",
        "default 2.1"
    );
    let r = c
        .http
        .get(format!("{}/compute/v2.1/flavors", c.base))
        .header("x-auth-token", &c.token)
        .header("x-openstack-nova-api-version", "2.60")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["openstack-api-version"], "compute 2.60");
    let a = c.get("/compute/v2.1/flavors", Some("latest")).await;
    assert_eq!(a.header("x-openstack-nova-api-version").unwrap(), "2.96");
    let a = c.get("/compute/v2.1/flavors", Some("2.97")).await;
    assert_eq!(a.status, 406);
    // nova/api/openstack/wsgi.py Fault: 406 has no fault name of its own.
    assert_eq!(a.body["computeFault"]["code"], 406, "{}", a.body);
    assert!(a.body["computeFault"]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Version 2.97 is not supported by the API."));
    assert_eq!(
        c.get("/compute/v2.1/flavors", Some("two")).await.status,
        400
    );
    // Shapes follow the version: flavor reference before 2.47, embedded flavor after.
    let id = c.create_server(small("mv")).await;
    let old = c
        .get(&format!("/compute/v2.1/servers/{id}"), Some("2.46"))
        .await
        .body;
    assert_eq!(old["server"]["flavor"]["id"], "2");
    assert!(old["server"].get("OS-EXT-SRV-ATTR:hostname").is_none());
    let new = c.server(&id).await.body;
    assert_eq!(new["server"]["flavor"]["original_name"], "m1.small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let admin = c.sim.admin_url();
    let put = |v: Value| {
        let (http, admin) = (c.http.clone(), admin.clone());
        async move {
            let r = http
                .put(format!("{admin}/faults"))
                .json(&v)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let f = put(json!({"error_rates": {"500": 1.0}})).await;
    assert_eq!(f["error_rates"]["500"], 1.0);
    let a = c.get("/compute/v2.1/servers", None).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body["computeFault"]["code"], 500);
    let a = c.get("/network/v2.0/networks", None).await;
    assert_eq!(a.status, 500);
    assert!(a.body["NeutronError"].is_object());
    // The admin endpoint is never faulted.
    assert_eq!(
        c.http
            .get(format!("{admin}/servers"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    put(json!({"error_rates": {"500": 0}, "rate_limit": {"rate": 1.0, "retry_after_s": 3}})).await;
    let a = c.get("/compute/v2.1/servers", None).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("retry-after").unwrap(), "3");
    put(json!({"rate_limit": null, "latency_ms": 250})).await;
    let t = Instant::now();
    assert_eq!(c.get("/compute/v2.1/servers", None).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(250));
    put(json!({"latency_ms": 0, "down": true})).await;
    assert_eq!(c.get("/image/v2/images", None).await.status, 503);
    put(json!({"down": false, "error_rates": {"503": 1.0}})).await;
    assert_eq!(c.get("/compute/v2.1/servers", None).await.status, 503);
    // Bad knobs are refused.
    let r = c
        .http
        .put(format!("{admin}/faults"))
        .json(&json!({"vm_error_rate": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_through_the_admin_endpoint() {
    let c = Cloud::start(OpenStackOptions {
        boot_latency: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let admin = c.sim.admin_url();
    let r = c
        .http
        .delete(format!("{admin}/counters"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let id = c.create_server(small("counted")).await;
    c.server(&id).await;
    c.server(&id).await;
    c.get("/compute/v2.1/servers/detail", None).await;
    c.new_token().await;
    let counters: Value = c
        .http
        .get(format!("{admin}/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counters,
        json!({"POST /compute/v2.1/servers": 1, "GET /compute/v2.1/servers/{id}": 2,
            "GET /compute/v2.1/servers/detail": 1, "POST /identity/v3/auth/tokens": 1})
    );
    assert_eq!(c.sim.counters().get("GET /compute/v2.1/servers/{id}"), 2);
    c.http
        .delete(format!("{admin}/counters"))
        .send()
        .await
        .unwrap();
    assert!(c.sim.counters().snapshot().is_empty());
    // History and servers are readable there too.
    let h: Value = c
        .http
        .get(format!("{admin}/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h[0]["kind"], "server.create");
    let s: Value = c
        .http
        .get(format!("{admin}/servers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s[0]["name"], "counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_networks_lookups() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let a = c.get("/image/v2/images?name=duplicate-name", None).await;
    assert_eq!(a.body["images"].as_array().unwrap().len(), 2);
    let a = c.get("/image/v2/images?name=ubuntu-24.04", None).await;
    assert_eq!(a.body["images"][0]["id"], ubuntu());
    let a = c.get("/image/v2/images?limit=2", None).await;
    assert_eq!(a.body["images"].as_array().unwrap().len(), 2);
    let next = a.body["next"].as_str().unwrap();
    assert!(next.starts_with("/v2/images?limit=2"), "{next}");
    let b = c.get(&format!("/image{next}"), None).await;
    assert_ne!(b.body["images"][0]["id"], a.body["images"][0]["id"]);
    assert_eq!(
        c.get(&format!("/image/v2/images/{}", ubuntu()), None)
            .await
            .body["name"],
        "ubuntu-24.04"
    );
    assert_eq!(c.get("/image/v2/images/nope", None).await.status, 404);
    let a = c.get("/network/v2.0/networks?name=private", None).await;
    assert_eq!(a.body["networks"].as_array().unwrap().len(), 1);
    let subnet = a.body["networks"][0]["subnets"][0]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .get(&format!("/network/v2.0/subnets/{subnet}"), None)
        .await;
    assert_eq!(s.body["subnet"]["cidr"], "127.100.0.0/16");
    let g = c
        .get("/network/v2.0/security-groups?name=k0s-worker", None)
        .await;
    assert_eq!(g.body["security_groups"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_400_everywhere() {
    let c = Cloud::start(OpenStackOptions::default()).await;
    let id = c.create_server(small("target")).await;
    let routes = [
        ("POST", "/identity/v3/auth/tokens".to_string()),
        ("POST", "/compute/v2.1/servers".to_string()),
        ("PUT", format!("/compute/v2.1/servers/{id}")),
        ("PUT", format!("/compute/v2.1/servers/{id}/tags")),
        ("PUT", format!("/compute/v2.1/servers/{id}/metadata")),
        ("POST", "/compute/v2.1/os-keypairs".to_string()),
        ("POST", "/compute/v2.1/os-server-groups".to_string()),
    ];
    for (method, path) in &routes {
        for body in [
            "{",
            "[]",
            "null",
            "\"x\"",
            "{\"server\": 7}",
            "\u{fffd}\u{0}",
        ] {
            let r = c
                .http
                .request(method.parse().unwrap(), format!("{}{path}", c.base))
                .header("x-auth-token", &c.token)
                .header("openstack-api-version", "compute 2.90")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{method} {path} with {body:?}");
        }
    }
    let r = c
        .http
        .put(format!("{}/faults", c.sim.admin_url()))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Unknown paths: 404, not a crash.
    assert_eq!(c.get("/compute/v2.1/nothing/here", None).await.status, 404);
    assert_eq!(c.get("/elsewhere", None).await.status, 404);
}
