"""Celery app, thin task entry points and the scheduler process."""
