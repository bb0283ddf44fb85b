"""The test cloud's contents, idempotently, in one process (after every service is up):
- project `demo` with user `demo` (member, reader) and application credential `k0stack-demo`;
- project `tight` with user `tight` and an instance quota of 2 (the quota-exceeded tests);
- flavors m1.tiny..m1.large (ids 1..4, as in the Nova api-ref and the simulator), images
  ubuntu-24.04, ubuntu-22.04 and rocky-9 (os_distro rocky: cloud-init names the host
  `<name>.novalocal`), shared networks `private` and `private2` with subnets, security
  group `k0s-worker` in both projects;
then writes state/clouds.yaml with the clouds `admin`, `demo`, `demo-appcred` and `tight`.
Names follow the simulator's seed (sim/src/openstack/seed.rs) so one test runs on both."""
import json
import os
import sys

import openstack

ks = os.environ["KEYSTONE_URL"]
state = os.environ["STATE"]
DEMO_PASSWORD = "k0stack-demo-password"


def admin_conn():
    return openstack.connect(
        auth_url=ks, username="admin", password=os.environ["OS_ADMIN_PASSWORD"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3")


def user_conn(user, password, project):
    return openstack.connect(
        auth_url=ks, username=user, password=password, project_name=project,
        user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
        identity_api_version="3")


def project_with_user(idn, name, password):
    project = idn.find_project(name, domain_id="default") or idn.create_project(
        name=name, domain_id="default")
    user = idn.find_user(name, domain_id="default") or idn.create_user(
        name=name, password=password, domain_id="default", default_project_id=project.id)
    for role in ("member", "reader"):
        idn.assign_project_role_to_user(project, user, idn.find_role(role))
    return project, user


def flavors(conn):
    have = {f.id for f in conn.compute.flavors()}
    for fid, name, vcpus, ram, disk in [("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20),
                                         ("3", "m1.medium", 2, 4096, 40), ("4", "m1.large", 4, 8192, 80)]:
        if fid not in have:
            conn.compute.create_flavor(id=fid, name=name, vcpus=vcpus, ram=ram, disk=disk)


def images(conn):
    have = {i.name for i in conn.image.images()}
    for name, distro in [("ubuntu-24.04", "ubuntu"), ("ubuntu-22.04", "ubuntu"), ("rocky-9", "rocky")]:
        if name not in have:
            conn.create_image(name, data=b"k0stack fake disk " + name.encode(), disk_format="raw",
                              container_format="bare", visibility="public", os_distro=distro, wait=True)


def networks(conn):
    for name, cidr in [("private", "10.100.0.0/16"), ("private2", "10.102.0.0/16")]:
        net = conn.network.find_network(name) or conn.network.create_network(name=name, shared=True)
        if not list(conn.network.subnets(network_id=net.id)):
            conn.network.create_subnet(name=f"{name}-subnet", network_id=net.id, ip_version=4, cidr=cidr)


def security_group(conn):
    if conn.network.find_security_group("k0s-worker", project_id=conn.current_project_id) is None:
        sg = conn.network.create_security_group(name="k0s-worker", description="k0s worker nodes")
        for port in (10250, 179):
            conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                                    protocol="tcp", port_range_min=port,
                                                    port_range_max=port)


def app_credential(conn, user_id):
    path = os.path.join(state, "demo-appcred.json")
    if os.path.exists(path):
        return json.load(open(path))
    cred = conn.identity.create_application_credential(user=user_id, name="k0stack-demo")
    out = {"id": cred.id, "secret": cred.secret}
    with open(path, "w") as f:
        json.dump(out, f)
    return out


def clouds_yaml(appcred):
    def pw(user, password, project):
        return {"auth": {"auth_url": ks, "username": user, "password": password, "project_name": project,
                         "user_domain_name": "Default", "project_domain_name": "Default"},
                "region_name": "RegionOne", "identity_api_version": 3, "interface": "public"}
    clouds = {
        "admin": pw("admin", os.environ["OS_ADMIN_PASSWORD"], "admin"),
        "demo": pw("demo", DEMO_PASSWORD, "demo"),
        "tight": pw("tight", DEMO_PASSWORD, "tight"),
        "demo-appcred": {"auth_type": "v3applicationcredential",
                         "auth": {"auth_url": ks, "application_credential_id": appcred["id"],
                                  "application_credential_secret": appcred["secret"]},
                         "region_name": "RegionOne", "identity_api_version": 3, "interface": "public"},
    }
    with open(os.path.join(state, "clouds.yaml"), "w") as f:
        json.dump({"clouds": clouds}, f, indent=2)  # JSON is YAML


def main():
    admin = admin_conn()
    idn = admin.identity
    demo, demo_user = project_with_user(idn, "demo", DEMO_PASSWORD)
    tight, _ = project_with_user(idn, "tight", DEMO_PASSWORD)
    flavors(admin)
    images(admin)
    networks(admin)
    admin.compute.update_quota_set(tight.id, instances=2)
    for user, project in (("demo", "demo"), ("tight", "tight")):
        security_group(user_conn(user, DEMO_PASSWORD, project))
    demo_conn = user_conn("demo", DEMO_PASSWORD, "demo")
    clouds_yaml(app_credential(demo_conn, demo_user.id))
    print("seed: projects demo and tight, flavors, images, networks, clouds.yaml")


if __name__ == "__main__":
    sys.exit(main())
