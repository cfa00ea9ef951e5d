"""The metrics sampler's queue figures (`svyaz.metrics._QueueSampler`) on the real
RabbitMQ: one connection kept between samples, a queue not declared yet counted as
consumed by nobody without spoiling the others, and a connection the broker lost
replaced at the next sample."""

from typing import Any

import kombu
import pytest

from svyaz import metrics


def figures(queue: str) -> tuple[float, float]:
    return (
        metrics.QUEUE_CONSUMERS.labels(queue)._value.get(),  # noqa: SLF001
        metrics.QUEUE_READY.labels(queue)._value.get(),  # noqa: SLF001
    )


def test_queues_sampled_on_one_kept_connection(rabbit_config: dict[str, Any]) -> None:
    uri = rabbit_config["AMQP_URI"]
    with kombu.Connection(uri) as connection:
        channel = connection.channel()
        for name, ready in (("sampled_a", 2), ("sampled_b", 1)):
            kombu.Queue(name, durable=True)(channel).declare()
            producer = kombu.Producer(channel, routing_key=name)
            for _ in range(ready):
                producer.publish({"n": 1})
        # a consumer on b (its message delivered to it, unacknowledged)
        kombu.Consumer(
            connection.channel(),
            queues=[kombu.Queue("sampled_b")],
            callbacks=[lambda body, message: None],
        ).consume()

        sampler = metrics._QueueSampler(uri)  # noqa: SLF001
        try:
            sampler.sample(["sampled_a", "never_declared", "sampled_b"])
            first = sampler.connection
            assert figures("sampled_a") == (0, 2)
            assert figures("never_declared")[0] == 0
            assert figures("sampled_b")[0] == 1

            sampler.sample(["sampled_a", "never_declared", "sampled_b"])
            assert sampler.connection is first  # kept, not opened per sample

            first.collect()  # the connection gone under it
            metrics.QUEUE_READY.labels("sampled_a").set(-1)
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever py-amqp says
                sampler.sample(["sampled_a"])
            assert sampler.connection is None  # dropped
            sampler.sample(["sampled_a"])  # the next sample opens another
            assert sampler.connection is not first and figures("sampled_a") == (0, 2)
        finally:
            sampler.close()
