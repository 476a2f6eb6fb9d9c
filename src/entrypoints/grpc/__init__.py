"""The gRPC entrypoint: servicers, mappers, interceptors, server."""
