"""Task arguments come off a broker anyone with access can write to: a bad one is refused with a
clear error and touches nothing."""

import pytest

from notifications import tasks
from notifications.models import OutboundEmail


@pytest.mark.parametrize("ids", ["1,2", [1, "2"], [True], None, {"id": 1}, [1.5]])
def test_outbox_deliver_refuses_anything_but_a_list_of_ids(db, ids):
    with pytest.raises(ValueError, match="list of OutboundEmail ids"):
        tasks.outbox_deliver.run(ids)


@pytest.mark.parametrize("ids", [[987654, 987655], []])
def test_outbox_deliver_with_ids_that_do_not_exist_does_nothing(db, mailoutbox, ids):
    tasks.outbox_deliver.run(ids)
    assert mailoutbox == [] and not OutboundEmail.objects.exists()


@pytest.mark.parametrize("recipient_id", ["abc", None, [1], 1.5])
def test_follower_alerts_process_refuses_a_bad_recipient_id(db, recipient_id):
    with pytest.raises(ValueError, match="takes a user id"):
        tasks.follower_alerts_process.run(recipient_id)


def test_follower_alerts_process_for_a_user_that_does_not_exist_sends_nothing(transactional_db, mailoutbox):
    tasks.follower_alerts_process.run(987654)
    assert mailoutbox == [] and not OutboundEmail.objects.exists()
