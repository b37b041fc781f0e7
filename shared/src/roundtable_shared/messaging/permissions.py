"""Who may do what on NATS: the one table of each service's permissions.

Each service connects as its own NATS user. It may publish only its own events
(``roundtable.<service>.>``), dead letters of its own consumers, and the JetStream API requests its
own streams and consumers need; it receives replies only on its private inbox prefix
(``_INBOX_<service>.>``, the pattern NATS documents for keeping replies private), so no service can
read the messages another service's pull consumers are handed. Everything not listed is refused
by the server: a forged ``group.changed`` from the sessions service never reaches a stream.

Adding access means adding it to ``ACCESS`` below; ``grants`` turns it into subjects (a KV
bucket's name is namespaced like a stream's: ``durable_name(bucket, namespace)``). Then regenerate the deployed configurations
(``roundtable nats-config > deploy/nats/roundtable.conf`` and the users block of
``deploy/kubernetes/nats-values.yaml``); their tests say when they are stale.

A namespace (tests) prefixes subjects with one token (``t1234.``) and stream and consumer names
inside their token (``t1234_roundtable-sessions``). NATS wildcards match whole tokens only, so a
server shared by many tests' namespaces (``namespace=None``) grants the JetStream API on any
stream and consumer name, while subjects stay per service; a server for one namespace (the local
stack, compose, Kubernetes, and the test of these permissions) names every stream and consumer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roundtable_shared.messaging.streams import (
    PRODUCERS,
    dead_letter_stream,
    dead_letter_subject,
    durable_name,
    service_subjects,
    stream_name,
)

SERVICES = ("enrollment", "sessions", "reminders", "reporting")
ADMIN_USER = "roundtable-admin"
"""Everything: tools of ours that inspect and repair (tests' own publishers, benchmarks)."""
SUPPORT_USER = "support"
"""Read-only: a support engineer's ``nats`` CLI."""


@dataclass(frozen=True)
class Reads:
    """A durable consumer ``consumer`` of the stream of ``producer``."""

    consumer: str
    producer: str


@dataclass(frozen=True)
class Access:
    """What one service does on NATS."""

    produces: bool
    """Publishes its own events, ``roundtable.<service>.>``, into its own stream."""
    consumers: tuple[Reads, ...] = ()
    replays: tuple[str, ...] = ()
    """Producers whose streams it replays with short-lived consumers of its own naming
    (reporting's rebuild): create, read, acknowledge and delete any consumer on them."""
    kv_read: tuple[str, ...] = ()
    """JetStream KV buckets it reads."""
    kv_write: tuple[str, ...] = ()
    """JetStream KV buckets it writes (and reads)."""
    extra: tuple[str, ...] = field(default=())
    """Further subjects it may publish to (a last resort; prefer a field above)."""


def key_bucket(producer: str) -> str:
    """The KV bucket of a producer's per-person data keys (``roundtable_shared.events.sealing``)."""
    return f"roundtable-keys-{producer}"


def _key_buckets_but(*owners: str) -> tuple[str, ...]:
    return tuple(key_bucket(p) for p in PRODUCERS if p not in owners)


ACCESS: dict[str, Access] = {
    # The producers whose events carry personal fields write their own key bucket; every
    # service reads every producer's, to open events (docs/erasure.md).
    "enrollment": Access(
        produces=True,
        consumers=(Reads("enrollment-directory-cascade", "enrollment"),),
        kv_write=(key_bucket("enrollment"),),
        kv_read=_key_buckets_but("enrollment"),
    ),
    "sessions": Access(
        produces=True,
        consumers=(Reads("sessions-enrollment", "enrollment"),),
        kv_write=(key_bucket("sessions"),),
        kv_read=_key_buckets_but("sessions"),
    ),
    "reminders": Access(
        produces=True,
        consumers=(
            Reads("reminders-enrollment", "enrollment"),
            Reads("reminders-sessions", "sessions"),
        ),
        kv_read=_key_buckets_but(),  # its events carry nothing personal: no key of its own
    ),
    "reporting": Access(
        produces=False,
        consumers=tuple(Reads(f"reporting-{producer}", producer) for producer in PRODUCERS),
        replays=PRODUCERS,
        kv_read=_key_buckets_but(),
    ),
}


@dataclass(frozen=True)
class Grants:
    """NATS permissions of one user: subjects it may publish to and subscribe to."""

    publish: list[str]
    subscribe: list[str]

    def as_config(self) -> dict[str, dict[str, list[str]]]:
        return {"publish": {"allow": self.publish}, "subscribe": {"allow": self.subscribe}}


def declared_streams(service: str) -> dict[str, bool]:
    """The producers' streams ``service`` declares at start, each with whether it may change an
    existing one (its own) or only create it when absent (one it reads)."""
    access = ACCESS.get(service)
    if access is None:  # a service made up by a test, connected as the admin user
        return dict.fromkeys(PRODUCERS, True)
    read = {c.producer for c in access.consumers} | set(access.replays)
    streams = dict.fromkeys(sorted(read), False)
    if access.produces:
        streams[service] = True
    return streams


def inbox_prefix(service: str) -> str:
    """The service's private reply subjects: its connection's ``inbox_prefix``."""
    return f"_INBOX_{service}"


class _Names:
    """Subjects and names in one namespace, or in any (``namespace=None``: ``*`` tokens)."""

    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace

    def subjects(self, service: str) -> str:
        if self.namespace is None:
            return f"*.{service_subjects(service)}"
        return service_subjects(service, self.namespace)

    def stream(self, producer: str) -> str:
        return "*" if self.namespace is None else stream_name(producer, self.namespace)

    def dead_letters(self) -> str:
        return "*" if self.namespace is None else dead_letter_stream(self.namespace)

    def durable(self, consumer: str) -> str:
        return "*" if self.namespace is None else durable_name(consumer, self.namespace)

    def bucket(self, bucket: str) -> str:
        """A KV bucket's name, namespaced as a stream's is (one token)."""
        return "*" if self.namespace is None else durable_name(bucket, self.namespace)

    def dead_letter_subject(self, consumer: str) -> str:
        if self.namespace is None:  # tests name consumers of their own too
            return f"*.{dead_letter_subject('*')}"
        return dead_letter_subject(consumer, self.namespace)


def _stream_api(stream: str, *, update: bool) -> list[str]:
    apis = ["CREATE", "INFO", *(["UPDATE"] if update else [])]
    return [f"$JS.API.STREAM.{api}.{stream}" for api in apis]


def _consumer_api(stream: str, durable: str, *, delete: bool = False) -> list[str]:
    return [
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",  # with its filter subject
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",  # servers before 2.9
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        *([f"$JS.API.CONSUMER.DELETE.{stream}.{durable}"] if delete else []),
    ]


def _kv(bucket: str, *, write: bool) -> list[str]:
    """A JetStream KV bucket is the stream ``KV_<bucket>`` on subjects ``$KV.<bucket>.<key>``:
    reading is stream information and getting messages (direct or not) and watching (an
    ordered consumer); writing adds creating the bucket and publishing (and deleting) keys."""
    stream = "*" if bucket == "*" else f"KV_{bucket}"
    read = [
        # Created when absent, as the streams a service reads are, so a reader may start first;
        # only the writer changes it or writes keys.
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}",  # watching keys: an ordered consumer
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
    ]
    if not write:
        return read
    return [
        *read,
        f"$JS.API.STREAM.UPDATE.{stream}",
        f"$KV.{bucket}.>",
    ]


def grants(service: str, namespace: str | None = "") -> Grants:
    """The permissions of ``service``'s user, for one namespace or any (``None``)."""
    access = ACCESS[service]
    names = _Names(namespace)
    publish: list[str] = []
    streams_created = {c.producer for c in access.consumers} | set(access.replays)
    if access.produces:
        publish.append(names.subjects(service))
        publish += _stream_api(names.stream(service), update=True)
        streams_created.discard(service)
    for producer in sorted(streams_created):
        # Created if absent, so a consumer can bind before its producer ever started; changed
        # only by its producer.
        publish += _stream_api(names.stream(producer), update=False)
    publish += _stream_api(names.dead_letters(), update=True)
    for reads in access.consumers:
        publish += _consumer_api(names.stream(reads.producer), names.durable(reads.consumer))
        publish.append(names.dead_letter_subject(reads.consumer))
    for producer in access.replays:
        publish += _consumer_api(names.stream(producer), "*", delete=True)
    for bucket in access.kv_write:
        publish += _kv(names.bucket(bucket), write=True)
    for bucket in access.kv_read:
        publish += _kv(names.bucket(bucket), write=False)
    publish += list(access.extra)
    return Grants(publish=_unique(publish), subscribe=[f"{inbox_prefix(service)}.>"])


def support_grants() -> Grants:
    """Read-only: stream and consumer information, messages by sequence, and ephemeral
    consumers that read streams; nothing that publishes, acknowledges, changes or deletes."""
    return Grants(
        publish=[
            "$JS.API.INFO",
            "$JS.API.STREAM.NAMES",
            "$JS.API.STREAM.LIST",
            "$JS.API.STREAM.INFO.*",
            "$JS.API.STREAM.MSG.GET.*",
            "$JS.API.DIRECT.GET.>",
            "$JS.API.CONSUMER.NAMES.*",
            "$JS.API.CONSUMER.LIST.*",
            "$JS.API.CONSUMER.INFO.*.*",
            "$JS.API.CONSUMER.CREATE.*",  # an ephemeral consumer (``nats stream view``)
            "$JS.API.CONSUMER.MSG.NEXT.*.*",
            "$JS.FC.>",  # flow control of an ordered consumer
        ],
        subscribe=["_INBOX.>"],
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
