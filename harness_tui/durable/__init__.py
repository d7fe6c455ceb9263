"""``harness-tui serve --durable``: runs that survive a crash and spread over processes.

Built on DBOS (the [durable] extra, imported only here): ``service`` (DBOS, the queue,
recovery), ``execution`` (one run's workflow: the loop with its model and tool calls
as steps), ``tables`` (sessions' lines, the inbox), ``mirror`` (what each process's web
app sees), ``command`` (the server), ``runs`` (``harness-tui runs``).
"""
