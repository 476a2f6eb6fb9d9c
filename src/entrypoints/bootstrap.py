"""The composition root: dependency-injector containers (Gateways, Services, Entrypoints)."""

from __future__ import annotations

from dataclasses import asdict

import aiohttp
from dependency_injector import containers, providers

from adapters.jobs.inbox import ProcrastinateNoticeInbox
from adapters.jobs.queue import ProcrastinateJobQueue, build_app
from adapters.pipedrive.client import PIPEDRIVE, PipedriveClient
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.pipedrive.oauth import PipedriveAuthorizer, PipedriveOAuthEndpoint
from adapters.postgres.connections import PostgresOAuthStateStore, PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock, PostgresRateLimiter
from adapters.postgres.crypto import SecretBox
from adapters.postgres.deal_changes import PostgresDealChanges
from adapters.postgres.engine import build_engine, build_session_factory
from adapters.postgres.notices import PostgresNoticeStore
from adapters.postgres.read_budget import PostgresReadBudget
from adapters.postgres.unit_of_work import PostgresDatabaseProbe, SqlAlchemyUnitOfWorkFactory
from adapters.postgres.views import PostgresInvoiceViews
from adapters.quickbooks.client import QUICKBOOKS, QuickBooksClient
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.quickbooks.oauth import (
    QuickBooksAuthorizer,
    QuickBooksEndpoints,
    QuickBooksOAuth,
    discover_endpoints,
)
from adapters.system_clock import SystemClock
from adapters.vendor_http.client import VendorHttp
from adapters.vendor_http.tokens import TokenProvider
from application.connections import (
    CheckQuickBooksConnection,
    CompleteQuickBooksConnect,
    DisconnectQuickBooks,
    GetConnections,
    StartQuickBooksConnect,
    StartQuickBooksReconnect,
)
from application.crm_events import (
    CheckAllCrmWebhooks,
    CrmWebhookTarget,
    HandleCrmChange,
    SubscribeCrmWebhooks,
)
from application.customers import GetCustomerLink, LinkCustomer, SearchCustomers, UnlinkCustomer
from application.deal_fields import (
    CreateDealFields,
    GetDealFields,
    RequestDealFields,
    UpdateDealFields,
)
from application.installation import (
    CompletePipedriveInstall,
    CompletePipedriveSignIn,
    PurgeCompany,
    QueueDuePurges,
    StartPipedriveSignIn,
    UninstallPipedrive,
)
from application.invoice_rules import (
    DeleteInvoiceRule,
    ListInvoiceRules,
    ListPipelines,
    SaveInvoiceRule,
)
from application.invoicing.batch import BatchCreateInvoices
from application.invoicing.by_rule import (
    ListRuleRuns,
    QueuePendingRuleRuns,
    RetryRuleRun,
    RunInvoiceRule,
    StartInvoiceRules,
)
from application.invoicing.create import CreateInvoice
from application.invoicing.deal_summary import GetDealInvoicing
from application.invoicing.delete import DeleteInvoice
from application.invoicing.events import ListInvoiceEvents
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.follow_up import FollowUpOnDeal
from application.invoicing.get import GetInvoice
from application.invoicing.installments import (
    CancelInstallmentSchedule,
    CreateDueInstallments,
    CreateInstallmentInvoice,
    ListInstallments,
    RetryInstallment,
    ScheduleInstallments,
)
from application.invoicing.listing import ListInvoices
from application.invoicing.pdf import GetInvoicePdf
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.refresh import RefreshInvoices
from application.invoicing.send import SendInvoice
from application.invoicing.stored import InvoiceAnswers
from application.invoicing.void import VoidInvoice
from application.invoicing.won_deals import InvoiceDeals, ListWonDeals
from application.settings import (
    AllowedActions,
    GetSettings,
    ListInvoiceOptions,
    ListMappableFields,
    ListPermissionSets,
    UpdateSettings,
)
from application.sync import (
    ApplyAccountingChanges,
    CatchUpCompany,
    ForgetOldNotices,
    ProcessChangeNotices,
    RecordChangeNotices,
    RecordOverdueInvoices,
    SweepStuckCreations,
)
from application.templates import (
    DeleteInvoiceTemplate,
    ListInvoiceTemplates,
    SaveInvoiceTemplate,
)
from application.timeline import UpdateDealTimeline
from application.visibility import DealVisibility
from entrypoints.grpc.auth import TokenAuthenticator
from entrypoints.grpc.bulk_servicer import BulkInvoiceServicer
from entrypoints.grpc.connection_servicer import ConnectionServicer
from entrypoints.grpc.customer_servicer import CustomerServicer
from entrypoints.grpc.installment_servicer import InstallmentServicer
from entrypoints.grpc.invoice_servicer import InvoiceServicer
from entrypoints.grpc.server import Servicers
from entrypoints.grpc.settings_servicer import SettingsServicer
from entrypoints.http.browser_session import BrowserSessions
from entrypoints.http.signin import PipedriveSignIn
from entrypoints.http.ui_auth import PipedriveUiSessions
from entrypoints.metrics import Metrics
from entrypoints.settings import AppSettings


def vendor_session() -> aiohttp.ClientSession:
    """One HTTP session per vendor for the process lifetime (built on first use, in the loop)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30, connect=5, sock_read=25),
        connector=aiohttp.TCPConnector(limit=50, ttl_dns_cache=300),
    )


class Gateways(containers.DeclarativeContainer):
    """Driven adapters: singletons for the process lifetime."""

    config = providers.Configuration()
    metrics = providers.Dependency(instance_of=Metrics)
    engine = providers.Singleton(
        build_engine, config.database_url, pool_size=config.database_pool_size
    )
    session_factory = providers.Singleton(build_session_factory, engine)
    invoice_views = providers.Singleton(
        PostgresInvoiceViews, config.database_url, pool_size=config.database_pool_size
    )
    deal_changes = providers.Singleton(PostgresDealChanges, config.database_url)
    uow_factory = providers.Singleton(SqlAlchemyUnitOfWorkFactory, session_factory)
    database_probe = providers.Singleton(PostgresDatabaseProbe, engine)
    clock = providers.Singleton(SystemClock)
    secret_box = providers.Singleton(SecretBox, config.secret_key)
    token_store = providers.Singleton(PostgresTokenStore, session_factory, secret_box)
    oauth_states = providers.Singleton(PostgresOAuthStateStore, session_factory)
    lock = providers.Singleton(PostgresDistributedLock, engine)
    rate_limiter = providers.Singleton(PostgresRateLimiter, engine)
    notices = providers.Singleton(PostgresNoticeStore, engine, secret_box)
    jobs_app = providers.Singleton(
        build_app, config.database_url, pool_size=config.database_pool_size
    )
    jobs = providers.Singleton(ProcrastinateJobQueue, jobs_app)
    inbox = providers.Singleton(ProcrastinateNoticeInbox, engine, secret_box)

    quickbooks_session = providers.Singleton(vendor_session)
    quickbooks_endpoints = providers.Singleton(
        QuickBooksEndpoints.for_environment,
        config.quickbooks.environment,
        config.quickbooks.base_url,
    )
    quickbooks_oauth = providers.Singleton(
        QuickBooksOAuth,
        quickbooks_session,
        quickbooks_endpoints,
        config.quickbooks.client_id,
        config.quickbooks.client_secret,
    )
    quickbooks_tokens = providers.Singleton(
        TokenProvider, quickbooks_oauth, token_store, lock, clock
    )
    quickbooks_http = providers.Singleton(
        VendorHttp, quickbooks_session, quickbooks_tokens, rate_limiter, clock, QUICKBOOKS
    )
    read_budget = providers.Singleton(
        PostgresReadBudget,
        engine,
        clock,
        quota=config.quickbooks.read_quota,
        reserve=config.quickbooks.read_reserve,
    )
    quickbooks_client = providers.Singleton(
        QuickBooksClient,
        quickbooks_http,
        quickbooks_endpoints.provided.api_base,
        metrics.provided.count_quickbooks_read,
        read_budget,
    )
    accounting = providers.Singleton(
        QuickBooksAccountingGateway,
        quickbooks_client,
        clock,
        notices,
        app_base=quickbooks_endpoints.provided.app_base,
    )
    accounting_authorizer = providers.Singleton(
        QuickBooksAuthorizer,
        quickbooks_session,
        clock,
        quickbooks_endpoints,
        config.quickbooks.client_id,
        config.quickbooks.client_secret,
        config.quickbooks.redirect_uri,
    )

    pipedrive_session = providers.Singleton(vendor_session)
    pipedrive_oauth = providers.Singleton(
        PipedriveOAuthEndpoint,
        pipedrive_session,
        config.pipedrive.oauth_url,
        config.pipedrive.client_id,
        config.pipedrive.client_secret,
    )
    pipedrive_tokens = providers.Singleton(TokenProvider, pipedrive_oauth, token_store, lock, clock)
    pipedrive_http = providers.Singleton(
        VendorHttp, pipedrive_session, pipedrive_tokens, rate_limiter, clock, PIPEDRIVE
    )
    pipedrive_client = providers.Singleton(PipedriveClient, pipedrive_http)
    crm = providers.Singleton(PipedriveCrmGateway, pipedrive_client, clock)
    crm_authorizer = providers.Singleton(
        PipedriveAuthorizer,
        pipedrive_session,
        clock,
        client_id=config.pipedrive.client_id,
        client_secret=config.pipedrive.client_secret,
        redirect_uri=config.pipedrive.redirect_uri,
        oauth_url=config.pipedrive.oauth_url,
    )


class Services(containers.DeclarativeContainer):
    """Use cases, built per use from the gateways."""

    config = providers.Configuration()
    gateways = providers.DependenciesContainer()
    # Shorter names for the gateways the use cases take.
    uow = gateways.uow_factory
    clock = gateways.clock
    jobs = gateways.jobs
    accounting = gateways.accounting
    crm = gateways.crm
    tokens = gateways.token_store
    views = gateways.invoice_views
    notices = gateways.notices
    oauth_states = gateways.oauth_states
    authorizer = gateways.accounting_authorizer
    crm_authorizer = gateways.crm_authorizer
    get_settings = providers.Factory(GetSettings, uow_factory=uow)
    allowed_actions = providers.Factory(AllowedActions, uow)
    update_settings = providers.Factory(UpdateSettings, uow_factory=uow, clock=clock)
    list_fields = providers.Factory(ListMappableFields, crm=crm)
    list_options = providers.Factory(ListInvoiceOptions, accounting=accounting)
    answers = providers.Factory(InvoiceAnswers, views, accounting, clock)
    visibility = providers.Factory(DealVisibility, crm)
    timeline = providers.Factory(UpdateDealTimeline, uow, crm, clock)
    deal_fields = providers.Factory(UpdateDealFields, uow, crm, clock)
    create_deal_fields = providers.Factory(CreateDealFields, uow, crm, clock, jobs)
    get_deal_fields = providers.Factory(GetDealFields, uow)
    request_deal_fields = providers.Factory(RequestDealFields, uow, jobs)
    list_permission_sets = providers.Factory(ListPermissionSets, crm)
    follow_up = providers.Factory(FollowUpOnDeal, uow, crm, clock, timeline=timeline, jobs=jobs)
    finish = providers.Factory(FinishInvoiceCreation, uow, accounting, clock, jobs=jobs)
    prepare = providers.Factory(PrepareInvoice, uow, accounting, crm, clock, visibility)
    create = providers.Factory(
        CreateInvoice, uow, accounting, clock, finish, answers, visibility, jobs, crm=crm
    )
    batch_create = providers.Factory(BatchCreateInvoices, create)
    list_won_deals = providers.Factory(ListWonDeals, uow, crm, accounting, clock, visibility)
    invoice_deals = providers.Factory(InvoiceDeals, prepare, batch_create)
    create_installment_invoice = providers.Factory(CreateInstallmentInvoice, uow, prepare, create)
    schedule_installments = providers.Factory(
        ScheduleInstallments, uow, prepare, create_installment_invoice, clock
    )
    list_installments = providers.Factory(ListInstallments, uow, visibility)
    retry_installment = providers.Factory(
        RetryInstallment, uow, create_installment_invoice, visibility
    )
    cancel_schedule = providers.Factory(CancelInstallmentSchedule, uow, visibility)
    due_installments = providers.Factory(
        CreateDueInstallments, uow, create_installment_invoice, clock
    )
    list_templates = providers.Factory(ListInvoiceTemplates, uow)
    save_template = providers.Factory(SaveInvoiceTemplate, uow, clock)
    delete_template = providers.Factory(DeleteInvoiceTemplate, uow)
    get_invoice = providers.Factory(GetInvoice, answers, visibility)
    list_invoices = providers.Factory(ListInvoices, views, accounting, clock, visibility)
    void = providers.Factory(VoidInvoice, uow, accounting, clock, answers, visibility, jobs=jobs)
    delete = providers.Factory(
        DeleteInvoice, uow, accounting, clock, answers, visibility, jobs=jobs
    )
    send = providers.Factory(SendInvoice, uow, accounting, clock, answers, visibility, jobs=jobs)
    pdf = providers.Factory(GetInvoicePdf, uow, accounting, visibility)
    events = providers.Factory(ListInvoiceEvents, uow, visibility)
    deal_invoicing = providers.Factory(GetDealInvoicing, uow, crm, visibility)
    search_customers = providers.Factory(SearchCustomers, accounting)
    link_customer = providers.Factory(LinkCustomer, uow, accounting, clock)
    unlink_customer = providers.Factory(UnlinkCustomer, uow)
    get_customer_link = providers.Factory(GetCustomerLink, uow)
    get_connections = providers.Factory(
        GetConnections, tokens, clock, notices, accounting=accounting
    )
    disconnect_quickbooks = providers.Factory(
        DisconnectQuickBooks, tokens, authorizer, clock, notices
    )
    start_connect = providers.Factory(StartQuickBooksConnect, oauth_states, authorizer, clock)
    complete_connect = providers.Factory(
        CompleteQuickBooksConnect, oauth_states, authorizer, tokens, clock
    )
    reconnect_quickbooks = providers.Factory(StartQuickBooksReconnect, tokens, start_connect)
    check_quickbooks = providers.Factory(CheckQuickBooksConnection, tokens, accounting, clock)
    complete_install = providers.Factory(
        CompletePipedriveInstall, crm_authorizer, tokens, jobs, clock, uow
    )
    start_sign_in = providers.Factory(StartPipedriveSignIn, oauth_states, crm_authorizer, clock)
    complete_sign_in = providers.Factory(
        CompletePipedriveSignIn, oauth_states, complete_install, clock
    )
    uninstall = providers.Factory(
        UninstallPipedrive,
        tokens,
        crm_authorizer,
        uow,
        jobs,
        clock,
        authorizer,
        notices,
        purge_after=config.purge_after,
    )
    queue_purges = providers.Factory(QueueDuePurges, uow, jobs, clock, tokens, authorizer, notices)
    purge_company = providers.Factory(PurgeCompany, uow, tokens, clock)
    apply_changes = providers.Factory(
        ApplyAccountingChanges, uow, accounting, tokens, clock, jobs=jobs
    )
    refresh = providers.Factory(RefreshInvoices, uow, clock, finish, list_invoices, apply_changes)
    record_notices = providers.Factory(RecordChangeNotices, gateways.inbox, clock)
    process_notices = providers.Factory(ProcessChangeNotices, notices, apply_changes, clock)
    catch_up = providers.Factory(CatchUpCompany, uow, accounting, notices, apply_changes, clock)
    sweep = providers.Factory(SweepStuckCreations, uow, jobs, clock)
    start_rules = providers.Factory(StartInvoiceRules, uow, jobs, clock)
    run_rule = providers.Factory(RunInvoiceRule, uow, prepare, create, crm, clock)
    retry_rule_run = providers.Factory(RetryRuleRun, uow, jobs, clock, visibility)
    list_rule_runs = providers.Factory(ListRuleRuns, uow, visibility)
    queue_rule_runs = providers.Factory(QueuePendingRuleRuns, uow, jobs, clock)
    list_rules = providers.Factory(ListInvoiceRules, uow)
    list_pipelines = providers.Factory(ListPipelines, crm)
    save_rule = providers.Factory(SaveInvoiceRule, uow, clock)
    delete_rule = providers.Factory(DeleteInvoiceRule, uow)
    crm_change = providers.Factory(HandleCrmChange, uow, rules=start_rules)
    webhook_target = providers.Factory(
        CrmWebhookTarget,
        url=config.pipedrive.webhook_url,
        user=config.pipedrive.webhook_user,
        password=config.pipedrive.webhook_password,
    )
    subscribe_webhooks = providers.Factory(SubscribeCrmWebhooks, crm, webhook_target)
    check_webhooks = providers.Factory(CheckAllCrmWebhooks, tokens, jobs)
    overdue = providers.Factory(RecordOverdueInvoices, uow, accounting, tokens, clock, jobs=jobs)
    forget_notices = providers.Factory(ForgetOldNotices, notices, clock)


class Entrypoints(containers.DeclarativeContainer):
    """Servicers and gateway pieces; they receive use cases by constructor."""

    config = providers.Configuration()
    gateways = providers.DependenciesContainer()
    services = providers.DependenciesContainer()
    metrics = providers.Dependency(instance_of=Metrics)
    authenticator = providers.Singleton(TokenAuthenticator, config.api_tokens)
    settings_servicer = providers.Factory(
        SettingsServicer,
        get_settings=services.get_settings,
        update_settings=services.update_settings,
        list_fields=services.list_fields,
        list_options=services.list_options,
        list_templates=services.list_templates,
        get_deal_fields=services.get_deal_fields,
        request_deal_fields=services.request_deal_fields,
        list_permission_sets=services.list_permission_sets,
        save_template=services.save_template,
        delete_template=services.delete_template,
        list_rules=services.list_rules,
        list_pipelines=services.list_pipelines,
        save_rule=services.save_rule,
        delete_rule=services.delete_rule,
    )
    invoice_servicer = providers.Factory(
        InvoiceServicer,
        prepare=services.prepare,
        create=services.create,
        rule_runs=services.list_rule_runs,
        retry_rule_run=services.retry_rule_run,
        get=services.get_invoice,
        list_invoices=services.list_invoices,
        void=services.void,
        delete=services.delete,
        send=services.send,
        pdf=services.pdf,
        refresh=services.refresh,
        events=services.events,
        deal_invoicing=services.deal_invoicing,
    )
    customer_servicer = providers.Factory(
        CustomerServicer,
        search=services.search_customers,
        link=services.link_customer,
        unlink=services.unlink_customer,
        get_link=services.get_customer_link,
    )
    connection_servicer = providers.Factory(
        ConnectionServicer, get=services.get_connections, disconnect=services.disconnect_quickbooks
    )
    installment_servicer = providers.Factory(
        InstallmentServicer,
        schedule=services.schedule_installments,
        list_installments=services.list_installments,
        retry=services.retry_installment,
        cancel=services.cancel_schedule,
    )
    bulk_servicer = providers.Factory(
        BulkInvoiceServicer,
        batch_create=services.batch_create,
        list_won=services.list_won_deals,
        invoice_deals=services.invoice_deals,
    )
    servicers = providers.Factory(
        Servicers,
        bulk=bulk_servicer,
        settings=settings_servicer,
        invoice=invoice_servicer,
        customer=customer_servicer,
        connection=connection_servicer,
        installment=installment_servicer,
    )
    ui_sessions = providers.Singleton(
        PipedriveUiSessions,
        gateways.crm,
        gateways.token_store,
        gateways.clock,
        services.allowed_actions,
        jwt_secret=config.pipedrive.jwt_secret,
        settings_link=config.pipedrive.settings_link,
        client_id=config.pipedrive.client_id,
        public_url=config.public_url,
    )
    browser_sessions = providers.Singleton(
        BrowserSessions, config.secret_key, config.secure_cookies
    )
    sign_in = providers.Singleton(
        PipedriveSignIn,
        services.start_sign_in,
        services.complete_sign_in,
        browser_sessions,
        gateways.clock,
    )


class Application(containers.DeclarativeContainer):
    config = providers.Configuration()
    # One registry per process, shared by the gateways (metered QuickBooks reads) and the
    # entrypoints (requests, jobs) that /metrics renders.
    metrics = providers.Singleton(Metrics)
    gateways = providers.Container(Gateways, config=config, metrics=metrics)
    services = providers.Container(Services, config=config, gateways=gateways)
    entrypoints = providers.Container(
        Entrypoints, config=config, gateways=gateways, services=services, metrics=metrics
    )


def build_container(
    settings: AppSettings, database_url: str, overrides: dict[str, object]
) -> Application:
    """``overrides`` replaces gateways by name (tests: in-memory fakes)."""
    container = Application()
    public_url = settings.public_url
    container.config.from_dict(
        {
            "database_url": database_url,
            "database_pool_size": settings.database_pool_size,
            "api_tokens": dict(settings.api_tokens),
            "public_url": public_url,
            "secret_key": settings.secret_key,
            "purge_after": settings.purge_after,
            "secure_cookies": public_url.startswith("https://"),
            # The vendor settings as they are, plus the URLs of ours the vendors call back.
            "quickbooks": asdict(settings.quickbooks)
            | {
                "base_url": settings.quickbooks.base_url or None,
                "redirect_uri": f"{public_url}/oauth/quickbooks/callback",
            },
            "pipedrive": asdict(settings.pipedrive)
            | {
                "redirect_uri": f"{public_url}/oauth/pipedrive/callback",
                "webhook_url": f"{public_url}/webhooks/pipedrive",
            },
        }
    )
    for name, value in overrides.items():
        getattr(container.gateways, name).override(providers.Object(value))
    container.check_dependencies()
    return container


async def discover_quickbooks_endpoints(container: Application) -> None:
    """Read Intuit's discovery document once, before any QuickBooks adapter is built, and
    give its OAuth endpoints to them all (the known ones when it cannot be read)."""
    gateways = container.gateways
    if gateways.quickbooks_endpoints.overridden:
        return
    known = gateways.quickbooks_endpoints()
    endpoints = await discover_endpoints(gateways.quickbooks_session(), known)
    gateways.quickbooks_endpoints.override(providers.Object(endpoints))
