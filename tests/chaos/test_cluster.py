"""The system on a three-node RabbitMQ cluster of its own (infra/cluster): a whole
cycle while the node that leads the busiest quorum queues is killed (SIGKILL), and,
once it is back, another node. Nothing is lost or done twice, and the services keep
answering after a pause the run measures and prints. `make chaos CLUSTER=3` runs the
long form, node kills among every other fault."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.run import chaos, started_cluster
from tests.chaos.test_chaos import report


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Any]:
    with started_cluster(tmp_path, 3) as started:
        yield started


def test_a_cycle_survives_the_loss_of_one_node_then_another(
    tmp_path: Path, cluster: Any
) -> None:
    out = chaos(
        tmp_path / "chaos",
        communicators=6,
        calm=True,  # node kills only: the cluster's own test
        cluster=cluster,
        first_node_kill=3,
        node_every=1,
        node_kills=2,
        node_down_for=(0.5, 1.0),  # then started again: its boot is most of it
    )
    text = report(out)
    assert out.faults.get("node") == 2, text
    assert out.counts["distinct nodes killed"] == 2, text
    # replicated on all three nodes (`broken` counts any that is not), led by all
    assert out.counts["quorum queues"] >= 60, text
    assert out.counts["nodes leading quorum queues"] == 3, text
    assert out.counts["stipends approved"] == 6, text
    assert out.total_lost == 0, text
    assert out.total_duplicated == 0, text
    assert not any(out.broken.values()), text
    assert out.leaks.findings == [], text
    # the services kept answering while the node was down (on one node's URI, a
    # service would wait for that node to come back): the probe's longest wait
    # after a loss is shorter than the shortest time a killed node stayed away
    assert out.counts["probe calls answered"] > 0, text
    assert (
        out.counts["longest pause after a node loss ms"]
        < out.counts["shortest node outage ms"]
    ), text
