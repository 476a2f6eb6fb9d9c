"""SettingsService: proto -> command -> use case -> proto; nothing else."""

from __future__ import annotations

import grpc

from application.commands import GetSettingsCommand, UpdateSettingsCommand
from application.settings import GetSettings, UpdateSettings
from dealbooks.v1 import settings_service_pb2, settings_service_pb2_grpc
from domain.errors import FieldViolation, InvalidValueError
from entrypoints.grpc.auth import current_principal
from entrypoints.grpc.mappers import settings_input_from_proto, settings_to_proto
from entrypoints.grpc.names import parse_settings_name


class SettingsServicer(settings_service_pb2_grpc.SettingsServiceServicer):
    def __init__(self, get_settings: GetSettings, update_settings: UpdateSettings) -> None:
        self._get_settings = get_settings
        self._update_settings = update_settings

    async def GetSettings(
        self, request: settings_service_pb2.GetSettingsRequest, context: grpc.aio.ServicerContext
    ) -> settings_service_pb2.GetSettingsResponse:
        company = parse_settings_name(request.name)
        view = await self._get_settings.execute(
            GetSettingsCommand(principal=current_principal(), company_id=company)
        )
        return settings_service_pb2.GetSettingsResponse(settings=settings_to_proto(view))

    async def UpdateSettings(
        self,
        request: settings_service_pb2.UpdateSettingsRequest,
        context: grpc.aio.ServicerContext,
    ) -> settings_service_pb2.UpdateSettingsResponse:
        company = parse_settings_name(request.settings.name, field="settings.name")
        command = UpdateSettingsCommand(
            principal=current_principal(),
            company_id=company,
            settings=settings_input_from_proto(request.settings),
            update_mask=tuple(request.update_mask.paths),
            etag=request.settings.etag,
        )
        try:
            view = await self._update_settings.execute(command)
        except InvalidValueError as exc:
            # The use case names fields relative to the settings; the API names them in the request.
            raise InvalidValueError.many(
                [
                    FieldViolation(
                        v.field if v.field == "update_mask" else f"settings.{v.field}",
                        v.description,
                    )
                    for v in exc.violations
                ],
                reason=exc.reason,
            ) from None
        return settings_service_pb2.UpdateSettingsResponse(settings=settings_to_proto(view))
