"""Payments: our records of HighHelp payins and the rules that keep them right.

Glossary, one meaning each:
- order: what the customer buys (`Order`); paid once, by one successful payment.
- payin: HighHelp's own record of a mobile payment, created by our create call; its status is
  HighHelp's word (`checkout.highhelp.statuses`).
- payment: our row for one payin we asked for (`Payment`, under our own `payment_id`); it follows
  the payin's status by callbacks and /info.
- attempt: a payment seen as one of its order's tries; an order has at most one open attempt.
- alert: one signed callback HighHelp sent, kept once in the inbox (`CallbackAlert`).

Modules: `start` (store-then-create), `reports` (apply an alert or an /info answer exactly once),
`refresh` (ask /info for a polling page and in reconciliation sweeps), `states` (our policy over
HighHelp's statuses), `alerts` (the inbox's words), `cli` (the reconcile command).
"""
