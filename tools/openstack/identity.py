"""Service users and the catalog in Keystone, idempotently (one process: the openstack CLI
would take ~2 s per call). Run with the venv's python after keystone.sh."""
import os
import openstack

ks = os.environ["KEYSTONE_URL"]
conn = openstack.connect(
    auth_url=ks, username="admin", password=os.environ["OS_ADMIN_PASSWORD"],
    project_name="admin", user_domain_name="Default", project_domain_name="Default",
    region_name="RegionOne", identity_api_version="3")
idn = conn.identity


def one(found, create):
    return found if found is not None else create()


service_project = one(idn.find_project("service", domain_id="default"),
                      lambda: idn.create_project(name="service", domain_id="default"))
admin_role = idn.find_role("admin")
for role in ("member", "reader"):
    one(idn.find_role(role), lambda: idn.create_role(name=role))

# (user, service type, catalog name, URL)
services = [
    ("nova", "compute", "nova", f"http://127.0.0.1:{os.environ['NOVA_PORT']}/v2.1"),
    ("placement", "placement", "placement", f"http://127.0.0.1:{os.environ['PLACEMENT_PORT']}"),
    ("glance", "image", "glance", f"http://127.0.0.1:{os.environ['GLANCE_PORT']}"),
    ("neutron", "network", "neutron", f"http://127.0.0.1:{os.environ['NEUTRON_PORT']}"),
]
for user, stype, name, url in services:
    u = idn.find_user(user, domain_id="default")
    if u is None:
        u = idn.create_user(name=user, password=os.environ["OS_SERVICE_PASSWORD"], domain_id="default")
    idn.assign_project_role_to_user(service_project, u, admin_role)
    svc = next((s for s in idn.services() if s.type == stype), None)
    if svc is None:
        svc = idn.create_service(name=name, type=stype)
    have = {e.interface for e in idn.endpoints(service_id=svc.id)}
    for interface in ("public", "internal"):
        if interface not in have:
            idn.create_endpoint(service_id=svc.id, interface=interface, url=url, region_id="RegionOne")
print("identity: service users and catalog in place")
