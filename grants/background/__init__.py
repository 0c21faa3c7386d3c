"""Work that does not run in the request's own thread, in one place (DESIGN.md, Runtime):

* ``grants.background.parallel`` — a function run at the same time as the caller, in a thread the
  caller waits for (``beside``): a check run's second database connection, the end of a list's
  COPY while the next rows are read. Low in the house: services use it; it imports nothing of ours.
* ``grants.background.tasks`` — the job queue's tasks (``TASKS``, ``PERIODIC``): a list to read,
  a check run, a file to build, the outbox. Above the services it calls; ``grants.jobs`` queues them
  (procrastinate on PostgreSQL, in-process on SQLite).
"""
