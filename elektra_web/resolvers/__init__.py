"""The logic of every query, mutation and subscription, callable without
GraphQL: each function takes the app's :class:`~.services.Services`, the
:class:`~elektra_web.clusterd.auth.Caller` and plain arguments, and returns
models or plain data. The schema package only adapts them to GraphQL."""
