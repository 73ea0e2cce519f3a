"""Sync with a team server: the login, the uploader, the frames it sends.

The local store stays the source of truth and is the outbox: an uploader thread reads what
the run's writer committed past a durable cursor (the store's ``uploads`` table) and sends
it; `nbtrack sync` finishes whatever a process left behind. No server dependency here.
"""
