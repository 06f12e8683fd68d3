"""Prometheus metrics of one server, in a registry of its own (two apps in one process never mix their counts).

>>> m = ServerMetrics()
>>> m.node_seconds.labels(node="understand").observe(0.004)
>>> b"kgagent_node_seconds_count" in m.render()[0]
True
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# turn latencies on a CPU: a few ms (small talk) to seconds (an LLM generator, a queue behind 50 clients)
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
NODE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class ServerMetrics:
    """Requests, latencies (per endpoint and per graph node), errors, turns in flight, model load time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("kgagent_requests", "HTTP requests by endpoint and status code.",
                                ["endpoint", "method", "status"], registry=r)
        self.request_seconds = Histogram("kgagent_request_seconds", "Time to the response's first byte.",
                                         ["endpoint"], buckets=TURN_BUCKETS, registry=r)
        self.turn_seconds = Histogram("kgagent_turn_seconds", "Whole agent turns (a stream until its last chunk).",
                                      ["endpoint"], buckets=TURN_BUCKETS, registry=r)
        self.node_seconds = Histogram("kgagent_node_seconds", "Time spent in each node of the agent graph.",
                                      ["node"], buckets=NODE_BUCKETS, registry=r)
        self.errors = Counter("kgagent_errors", "Turns that failed, by endpoint and error type.",
                              ["endpoint", "error"], registry=r)
        self.in_flight = Gauge("kgagent_turns_in_flight", "Agent turns running now.", registry=r)
        self.waiting = Gauge("kgagent_turns_waiting", "Agent turns waiting for a free worker.", registry=r)
        self.load_seconds = Gauge("kgagent_model_load_seconds", "Seconds it took to load the workspace's models.",
                                  registry=r)
        self.acts = Counter("kgagent_turns", "Finished turns by dialogue act.", ["act"], registry=r)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
