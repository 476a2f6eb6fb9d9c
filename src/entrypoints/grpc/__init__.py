"""The gRPC entrypoint: servicers, mappers, interceptors, server."""

from typing import Any, TypeAlias

import grpc

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
