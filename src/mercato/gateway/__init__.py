"""The gateway: one GraphQL API (Strawberry over ASGI) in front of every context's client."""
