"""gRPC transport shared by every context: error mapping, service identity, server and client plumbing.

No domain logic lives here; each context's `entrypoints/grpc_server.py` and `grpc_client.py` translate
between its commands/views and its protobuf messages and use these pieces for everything else.
"""
