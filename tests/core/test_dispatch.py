"""A task is sent once its transaction commits, and never when it rolls back: checked on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery_app import app
from core.dispatch import send_on_commit

# A real task's name: sending by name needs nothing of its module. No worker reads the test's queue.
TASK = "annotations.tasks.compute_study_report"

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of the test's own on the configured broker (filesystem, or Redis with CELERY_BROKER_URL)."""
    name = f"test-dispatch-{uuid.uuid4().hex}"
    yield name
    with app.connection_for_write() as connection:
        connection.SimpleQueue(name).queue.delete()


def _arrived(queue: str) -> list[tuple[str, list, str | None]]:
    """Every message on ``queue``, read off the broker: (task name, its arguments, its ETA)."""
    arrived = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(block=True, timeout=1)
            except simple.Empty:
                break
            arrived.append((message.headers["task"], message.payload[0], message.headers.get("eta")))
            message.ack()
        simple.close()
    return arrived


def _send_then_roll_back(queue: str, *args: int) -> None:
    with transaction.atomic():
        send_on_commit(TASK, *args, queue=queue)
        raise Rollback


def test_a_task_sent_in_a_rolled_back_transaction_never_reaches_the_broker(queue):
    with pytest.raises(Rollback):
        _send_then_roll_back(queue, 1)
    assert _arrived(queue) == []


def test_a_task_reaches_the_broker_only_once_its_transaction_commits(queue):
    with transaction.atomic():
        send_on_commit(TASK, 2, queue=queue)
        assert _arrived(queue) == []  # still inside the transaction: a worker would not see its rows yet
    assert [(name, args) for name, args, _ in _arrived(queue)] == [(TASK, [2])]


def test_a_rolled_back_savepoint_drops_only_its_own_tasks(queue):
    with transaction.atomic():
        send_on_commit(TASK, 3, queue=queue)
        with pytest.raises(Rollback):
            _send_then_roll_back(queue, 4)
    assert [args for _, args, _ in _arrived(queue)] == [[3]]


def test_outside_a_transaction_the_task_is_sent_at_once_with_its_countdown(queue):
    sent = timezone.now()
    send_on_commit(TASK, 5, countdown=30, queue=queue)
    [(name, args, eta)] = _arrived(queue)
    assert (name, args) == (TASK, [5])
    # The study report's debounce: a worker starts it 30 s later, not at once.
    assert 29 <= (datetime.fromisoformat(eta) - sent).total_seconds() <= 31
