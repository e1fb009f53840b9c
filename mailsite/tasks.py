"""Housekeeping tasks of the project (scheduled by beat, see CELERY_BEAT_SCHEDULE): thin, they
call the apps' services. Their results are stored (the admin's "Task results")."""

from celery import shared_task


@shared_task(ignore_result=False)
def alerts_check():
    from notifications.ops.alerts import alerts_check as check

    return check()


@shared_task(ignore_result=False)
def retention_purge():
    from accounts.flows.sessions import sessions_prune
    from accounts.retention import code_audit_purge
    from notifications.ops.retention import retention_apply

    done = retention_apply()
    done["codes_deleted"] = code_audit_purge()
    done["sessions_deleted"] = sessions_prune()  # rows of sessions whose cookie has expired
    return done
