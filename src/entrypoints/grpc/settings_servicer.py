"""SettingsService: proto -> command -> use case -> proto; nothing else."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from application.commands import (
    GetSettingsCommand,
    InvoiceRuleRefCommand,
    SaveInvoiceRuleCommand,
    SaveTemplateCommand,
    TemplateRefCommand,
    UpdateSettingsCommand,
)
from application.deal_fields import GetDealFields, RequestDealFields
from application.invoice_rules import (
    DeleteInvoiceRule,
    ListInvoiceRules,
    ListPipelines,
    SaveInvoiceRule,
)
from application.ports.accounting import ClassTracking, RatePeriod, TaxCodeOption
from application.ports.crm import DealFieldKeys
from application.settings import (
    GetSettings,
    ListInvoiceOptions,
    ListMappableFields,
    ListPermissionSets,
    UpdateSettings,
)
from application.templates import (
    DeleteInvoiceTemplate,
    ListInvoiceTemplates,
    SaveInvoiceTemplate,
)
from dealbooks.v1 import settings_service_pb2 as pb
from dealbooks.v1 import settings_service_pb2_grpc
from domain.errors import InvalidValueError
from entrypoints.grpc import Context
from entrypoints.grpc.mappers import (
    ENTITY_TO_PROTO,
    settings_input_from_proto,
    settings_to_proto,
)
from entrypoints.grpc.names import (
    parse_company_name,
    parse_rule_name,
    parse_settings_name,
    parse_template_name,
)
from entrypoints.grpc.rule_mappers import (
    pipeline_to_proto,
    rule_input_from_proto,
    rule_to_proto,
)
from entrypoints.grpc.template_mappers import template_input_from_proto, template_to_proto
from entrypoints.principal import current_principal

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class SettingsServicer(settings_service_pb2_grpc.SettingsServiceServicer):
    get_settings: GetSettings
    update_settings: UpdateSettings
    list_fields: ListMappableFields
    list_options: ListInvoiceOptions
    list_templates: ListInvoiceTemplates
    save_template: SaveInvoiceTemplate
    delete_template: DeleteInvoiceTemplate
    get_deal_fields: GetDealFields
    request_deal_fields: RequestDealFields
    list_rules: ListInvoiceRules
    list_pipelines: ListPipelines
    save_rule: SaveInvoiceRule
    delete_rule: DeleteInvoiceRule
    list_permission_sets: ListPermissionSets

    async def GetSettings(
        self, request: pb.GetSettingsRequest, context: Context
    ) -> pb.GetSettingsResponse:
        company = parse_settings_name(request.name)
        view = await self.get_settings.execute(
            GetSettingsCommand(principal=current_principal(), company_id=company)
        )
        return pb.GetSettingsResponse(settings=settings_to_proto(view))

    async def UpdateSettings(
        self, request: pb.UpdateSettingsRequest, context: Context
    ) -> pb.UpdateSettingsResponse:
        company = parse_settings_name(request.settings.name, field="settings.name")
        command = UpdateSettingsCommand(
            principal=current_principal(),
            company_id=company,
            settings=settings_input_from_proto(request.settings),
            update_mask=tuple(request.update_mask.paths),
            etag=request.settings.etag,
        )
        try:
            view = await self.update_settings.execute(command)
        except InvalidValueError as exc:
            # The use case names fields relative to the settings; the API names them in the request.
            raise InvalidValueError.many(
                [v if v.field == "update_mask" else v.under("settings") for v in exc.violations],
                reason=exc.reason,
            ) from None
        return pb.UpdateSettingsResponse(settings=settings_to_proto(view))

    async def ListMappableFields(
        self, request: pb.ListMappableFieldsRequest, context: Context
    ) -> pb.ListMappableFieldsResponse:
        company = parse_company_name(request.parent)
        fields = await self.list_fields.execute(current_principal(), company)
        return pb.ListMappableFieldsResponse(
            fields=[
                pb.MappableField(
                    entity=ENTITY_TO_PROTO[f.entity],
                    field_key=f.key,
                    display_name=f.name,
                    field_type=f.field_type,
                    custom=f.is_custom,
                )
                for f in fields
            ]
        )

    async def ListPermissionSets(
        self, request: pb.ListPermissionSetsRequest, context: Context
    ) -> pb.ListPermissionSetsResponse:
        company = parse_company_name(request.parent)
        found = await self.list_permission_sets.execute(current_principal(), company)
        return pb.ListPermissionSetsResponse(
            permission_sets=[
                pb.PermissionSet(id=s.id, display_name=s.name, app=s.app, type=s.kind)
                for s in found
            ]
        )

    async def ListInvoiceOptions(
        self, request: pb.ListInvoiceOptionsRequest, context: Context
    ) -> pb.ListInvoiceOptionsResponse:
        company = parse_company_name(request.parent)
        options = await self.list_options.execute(current_principal(), company)
        prefs = options.preferences
        currencies = list(prefs.enabled_currencies) or [prefs.home_currency]
        return pb.ListInvoiceOptionsResponse(
            currency_codes=currencies,
            home_currency_code=prefs.home_currency,
            tax_codes=_tax_codes(options.tax_codes),
            sales_tax_codes=_tax_codes(options.sales_tax_codes),
            tax_rate_history={
                code.id: pb.TaxRateHistory(periods=_periods(code.periods))
                for code in (*options.tax_codes, *options.sales_tax_codes)
                if code.periods and code.active
            },
            tax_code_rates={
                code.id: pb.TaxCodeRates(
                    rates=[
                        pb.TaxCodeRate(
                            rate_id=rate.id,
                            rate=format(rate.percent.normalize(), "f"),
                            periods=_periods(rate.periods),
                        )
                        for rate in code.rates
                    ]
                )
                for code in (*options.tax_codes, *options.sales_tax_codes)
                if code.rates and code.active
            },
            terms=[
                pb.InvoiceOption(id=t.id, display_name=t.name) for t in options.terms if t.active
            ],
            items=[
                pb.InvoiceOption(id=i.id, display_name=i.name, detail=i.unit_price)
                for i in options.items
                if i.active and i.sold
            ],
            automated_sales_tax=prefs.automated_sales_tax,
            company_name=prefs.company_name,
            us_company=prefs.is_us_company,
            custom_fields=[
                pb.InvoiceOption(id=f.id, display_name=f.name)
                for f in options.custom_fields
                if f.active
            ],
            classes=[
                pb.InvoiceOption(id=c.id, display_name=c.name)
                for c in options.class_choices or ()
                if c.active
            ],
            classes_per_line=prefs.class_tracking is ClassTracking.PER_LINE,
            locations=[
                pb.InvoiceOption(id=c.id, display_name=c.name)
                for c in options.location_choices or ()
                if c.active
            ],
            inactive_classes=[
                pb.InvoiceOption(id=c.id, display_name=c.name)
                for c in options.class_choices or ()
                if not c.active
            ],
        )

    async def ListInvoiceTemplates(
        self, request: pb.ListInvoiceTemplatesRequest, context: Context
    ) -> pb.ListInvoiceTemplatesResponse:
        company = parse_company_name(request.parent)
        templates = await self.list_templates.execute(current_principal(), company)
        return pb.ListInvoiceTemplatesResponse(templates=[template_to_proto(t) for t in templates])

    async def CreateInvoiceTemplate(
        self, request: pb.CreateInvoiceTemplateRequest, context: Context
    ) -> pb.CreateInvoiceTemplateResponse:
        company = parse_company_name(request.parent)
        command = SaveTemplateCommand(
            principal=current_principal(),
            company_id=company,
            template=template_input_from_proto(request.template),
        )
        saved = await _under("template", self.save_template.execute(command))
        return pb.CreateInvoiceTemplateResponse(template=template_to_proto(saved))

    async def UpdateInvoiceTemplate(
        self, request: pb.UpdateInvoiceTemplateRequest, context: Context
    ) -> pb.UpdateInvoiceTemplateResponse:
        company, template_id = parse_template_name(request.template.name, "template.name")
        command = SaveTemplateCommand(
            principal=current_principal(),
            company_id=company,
            template=template_input_from_proto(request.template),
            template_id=template_id,
            etag=request.template.etag,
        )
        saved = await _under("template", self.save_template.execute(command))
        return pb.UpdateInvoiceTemplateResponse(template=template_to_proto(saved))

    async def DeleteInvoiceTemplate(
        self, request: pb.DeleteInvoiceTemplateRequest, context: Context
    ) -> pb.DeleteInvoiceTemplateResponse:
        company, template_id = parse_template_name(request.name)
        await self.delete_template.execute(
            TemplateRefCommand(current_principal(), company, template_id)
        )
        return pb.DeleteInvoiceTemplateResponse()

    async def ListInvoiceRules(
        self, request: pb.ListInvoiceRulesRequest, context: Context
    ) -> pb.ListInvoiceRulesResponse:
        company = parse_company_name(request.parent)
        rules = await self.list_rules.execute(current_principal(), company)
        return pb.ListInvoiceRulesResponse(rules=[rule_to_proto(r) for r in rules])

    async def ListPipelines(
        self, request: pb.ListPipelinesRequest, context: Context
    ) -> pb.ListPipelinesResponse:
        company = parse_company_name(request.parent)
        pipelines = await self.list_pipelines.execute(current_principal(), company)
        return pb.ListPipelinesResponse(pipelines=[pipeline_to_proto(p) for p in pipelines])

    async def CreateInvoiceRule(
        self, request: pb.CreateInvoiceRuleRequest, context: Context
    ) -> pb.CreateInvoiceRuleResponse:
        company = parse_company_name(request.parent)
        command = SaveInvoiceRuleCommand(
            principal=current_principal(),
            company_id=company,
            rule=rule_input_from_proto(request.rule, company),
        )
        saved = await _under("rule", self.save_rule.execute(command))
        return pb.CreateInvoiceRuleResponse(rule=rule_to_proto(saved))

    async def UpdateInvoiceRule(
        self, request: pb.UpdateInvoiceRuleRequest, context: Context
    ) -> pb.UpdateInvoiceRuleResponse:
        company, rule_id = parse_rule_name(request.rule.name, "rule.name")
        command = SaveInvoiceRuleCommand(
            principal=current_principal(),
            company_id=company,
            rule=rule_input_from_proto(request.rule, company),
            rule_id=rule_id,
        )
        saved = await _under("rule", self.save_rule.execute(command))
        return pb.UpdateInvoiceRuleResponse(rule=rule_to_proto(saved))

    async def DeleteInvoiceRule(
        self, request: pb.DeleteInvoiceRuleRequest, context: Context
    ) -> pb.DeleteInvoiceRuleResponse:
        company, rule_id = parse_rule_name(request.name)
        await self.delete_rule.execute(InvoiceRuleRefCommand(current_principal(), company, rule_id))
        return pb.DeleteInvoiceRuleResponse()

    async def GetDealFields(
        self, request: pb.GetDealFieldsRequest, context: Context
    ) -> pb.GetDealFieldsResponse:
        company = parse_company_name(request.parent)
        keys = await self.get_deal_fields.execute(current_principal(), company)
        return pb.GetDealFieldsResponse(deal_fields=_deal_fields_to_proto(keys))

    async def CreateDealFields(
        self, request: pb.CreateDealFieldsRequest, context: Context
    ) -> pb.CreateDealFieldsResponse:
        company = parse_company_name(request.parent)
        keys = await self.request_deal_fields.execute(current_principal(), company)
        return pb.CreateDealFieldsResponse(deal_fields=_deal_fields_to_proto(keys))


# The rule's fields the API names otherwise than the use case (a template by its name).
_RULE_FIELDS = {"template_id": "template"}


async def _under(prefix: str, saving: Awaitable[T]) -> T:
    """The use case names fields relative to the template (or rule); the API names them in the
    request."""
    try:
        return await saving
    except InvalidValueError as exc:
        renamed = _RULE_FIELDS if prefix == "rule" else {}
        raise InvalidValueError.many(
            [
                dataclasses.replace(v, field=renamed.get(v.field, v.field)).under(prefix)
                for v in exc.violations
            ],
            reason=exc.reason,
        ) from None


def _tax_codes(codes: Sequence[TaxCodeOption]) -> list[pb.InvoiceOption]:
    """Active codes, each with its rate in ``detail`` (empty when QuickBooks computes it)."""
    return [
        pb.InvoiceOption(
            id=code.id,
            display_name=code.name,
            detail=format(code.rate_percent.normalize(), "f")
            if code.rate_percent is not None
            else "",
        )
        for code in codes
        if code.active
    ]


def _periods(periods: Sequence[RatePeriod]) -> list[pb.TaxRatePeriod]:
    return [
        pb.TaxRatePeriod(
            start_date=p.start.isoformat() if p.start else "",
            end_date=p.end.isoformat() if p.end else "",
            rate=format(p.percent.normalize(), "f"),
        )
        for p in periods
    ]


def _deal_fields_to_proto(keys: DealFieldKeys | None) -> pb.DealFields:
    if keys is None:
        return pb.DealFields(created=False)
    return pb.DealFields(
        created=True,
        invoiced_key=keys.invoiced,
        paid_key=keys.paid,
        balance_due_key=keys.balance_due,
        invoice_status_key=keys.invoice_status,
    )
