"""SettingsService: proto -> command -> use case -> proto; nothing else."""

from __future__ import annotations

import grpc

from application.commands import GetSettingsCommand, UpdateSettingsCommand
from application.settings import (
    GetSettings,
    ListInvoiceOptions,
    ListMappableFields,
    UpdateSettings,
)
from dealbooks.v1 import settings_service_pb2, settings_service_pb2_grpc
from domain.errors import FieldViolation, InvalidValueError
from entrypoints.grpc.auth import current_principal
from entrypoints.grpc.mappers import (
    ENTITY_TO_PROTO,
    settings_input_from_proto,
    settings_to_proto,
)
from entrypoints.grpc.names import parse_company_name, parse_settings_name


class SettingsServicer(settings_service_pb2_grpc.SettingsServiceServicer):
    def __init__(
        self,
        get_settings: GetSettings,
        update_settings: UpdateSettings,
        list_fields: ListMappableFields,
        list_options: ListInvoiceOptions,
    ) -> None:
        self._get_settings = get_settings
        self._update_settings = update_settings
        self._list_fields = list_fields
        self._list_options = list_options

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

    async def ListMappableFields(
        self,
        request: settings_service_pb2.ListMappableFieldsRequest,
        context: grpc.aio.ServicerContext,
    ) -> settings_service_pb2.ListMappableFieldsResponse:
        company = parse_company_name(request.parent)
        fields = await self._list_fields.execute(current_principal(), company)
        return settings_service_pb2.ListMappableFieldsResponse(
            fields=[
                settings_service_pb2.MappableField(
                    entity=ENTITY_TO_PROTO[f.entity],
                    field_key=f.key,
                    display_name=f.name,
                    field_type=f.field_type,
                    custom=f.is_custom,
                )
                for f in fields
            ]
        )

    async def ListInvoiceOptions(
        self,
        request: settings_service_pb2.ListInvoiceOptionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> settings_service_pb2.ListInvoiceOptionsResponse:
        company = parse_company_name(request.parent)
        options = await self._list_options.execute(current_principal(), company)
        prefs = options.preferences
        option = settings_service_pb2.InvoiceOption
        currencies = list(prefs.enabled_currencies) or [prefs.home_currency]
        return settings_service_pb2.ListInvoiceOptionsResponse(
            currency_codes=currencies,
            home_currency_code=prefs.home_currency,
            tax_codes=[
                option(
                    id=t.id,
                    display_name=t.name,
                    detail=format(t.rate_percent, "f") if t.rate_percent is not None else "",
                )
                for t in options.tax_codes
                if t.active
            ],
            terms=[option(id=t.id, display_name=t.name) for t in options.terms if t.active],
            items=[
                option(id=i.id, display_name=i.name, detail=i.unit_price)
                for i in options.items
                if i.active
            ],
            automated_sales_tax=prefs.is_us_company,
            company_name=prefs.company_name,
        )
