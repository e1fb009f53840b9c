"""Housekeeping tasks of the project (scheduled by beat, see CELERY_BEAT_SCHEDULE): thin, they
call the apps' services."""

from celery import shared_task


@shared_task(ignore_result=True)
def alerts_check():
    from notifications.ops.alerts import alerts_check as check

    return check()


@shared_task(ignore_result=True)
def retention_purge():
    from accounts.retention import code_audit_purge
    from notifications.ops.retention import retention_apply

    done = retention_apply()
    done["codes_deleted"] = code_audit_purge()
    return done
