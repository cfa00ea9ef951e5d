"""What the cluster harness (infra/cluster) gives a RabbitMQ cluster: the RPC queues
mirrored on every node, and URIs that name every node (each service starting on
another). tests/chaos/test_cluster.py runs the system on one."""

import json
import sys
import urllib.parse
from pathlib import Path

from svyaz import topology
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

DEFINITIONS = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())


def test_every_rpc_queue_is_mirrored_on_every_node_of_a_cluster() -> None:
    clustered = topology.clustered(DEFINITIONS)
    rpc = topology.rpc_services_in(DEFINITIONS)
    mirrored = {
        p["pattern"]
        for p in clustered["policies"]
        if p["definition"].get("ha-mode") == "all"
        and p["definition"].get("ha-sync-mode") == "automatic"
    }
    assert mirrored == {f"^rpc-{service}$" for service in rpc}
    # what the policy did before stays (a request waits an hour, then is parked)
    for policy in clustered["policies"]:
        assert policy["definition"]["message-ttl"] == topology.RPC_REQUEST_TTL_MS
    # the event queues are quorum queues already; nothing else changes
    assert {k: v for k, v in clustered.items() if k != "policies"} == {
        k: v for k, v in DEFINITIONS.items() if k != "policies"
    }
    assert not any("ha-mode" in p["definition"] for p in DEFINITIONS["policies"])


def test_each_service_s_uri_names_every_node_starting_on_another(
    tmp_path: Path,
) -> None:
    settings = devstack.Settings(
        var=tmp_path,  # the passwords it makes
        amqp_host="guest:guest@127.0.0.1:5701",
        amqp_alternates=("127.0.0.1:5702", "127.0.0.1:5703"),
        vhost="svyaz/x",
    )
    firsts = set()
    for service in devstack.SERVICES:
        nodes = [
            urllib.parse.urlsplit(u)
            for u in settings.service_amqp_uri(service).split(";")
        ]
        assert sorted(n.port for n in nodes) == [5701, 5702, 5703]
        assert {n.username for n in nodes} == {settings.broker_user(service)}
        assert {n.path for n in nodes} == {"/svyaz%2Fx"}
        firsts.add(nodes[0].port)
    assert firsts == {5701, 5702, 5703}  # the connections spread over the nodes
    # one node: the URI it always was
    single = devstack.Settings()
    assert single.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/%2F"
