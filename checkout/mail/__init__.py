"""Email the customer: an outbox table filled in the transaction of the change, drained by the worker.

Nothing here runs inside a customer's or HighHelp's request except `outbox.enqueue_receipt`, which
only adds a row; composing and sending happen in `flask mail send` and the worker's sweeps.
"""
