"""The words of the public pages and of the OAuth outcome pages, in English and French.

Page bodies are trusted HTML fragments written here (no user input goes into them); short
messages are plain text, escaped when rendered. Every statement about data describes what the
code does: keep them true when the code changes (``README.md`` and ``adapters/postgres``).
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "fr")

# Short texts: titles, navigation, statuses, outcome messages.
TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "nav.welcome": "dealbooks",
        "nav.docs": "Install guide",
        "nav.support": "Support",
        "nav.privacy": "Privacy policy",
        "nav.terms": "Terms of use",
        "nav.language": "Français",
        "title.welcome": "QuickBooks Online invoices from your Pipedrive deals",
        "title.privacy": "Privacy policy",
        "title.terms": "Terms of use (end-user licence agreement)",
        "title.support": "Support",
        "title.docs": "Install guide",
        "status.signed_out": "You are not signed in.",
        "status.sign_in": "Sign in with Pipedrive to see your connection",
        "status.company": "Pipedrive company {company}.",
        "status.connected": "QuickBooks: connected to {name}.",
        "status.connected_plain": "QuickBooks: the connection works.",
        "status.needs_reconnect": "QuickBooks: needs reconnect. QuickBooks no longer accepts "
        "dealbooks' connection.",
        "status.not_connected": "QuickBooks: not connected.",
        "status.unchecked": "QuickBooks could not be asked just now; this is the last known state.",
        "status.reconnect": "Reconnect QuickBooks",
        "support.email": "Write to us at {email}.",
        "support.no_email": "This server has no support address configured; contact the "
        "people who run it for you.",
        "disconnected.title": "dealbooks is disconnected from QuickBooks",
        "disconnected.lead": "dealbooks was disconnected from your QuickBooks company, so it "
        "can no longer create invoices there or follow their status. Invoices already in "
        "QuickBooks are not changed, and nothing is lost on the dealbooks side.",
        "disconnected.steps": "To reconnect: open Pipedrive, go to Settings \u203a dealbooks and "
        "press “Reconnect”, or use the link below (a Pipedrive admin signs in, then chooses "
        "the same QuickBooks company).",
        "outcome.back": "Back to dealbooks",
        "outcome.quickbooks.state_invalid": "This connection link has expired or was already "
        "used. Start connecting QuickBooks again from the dealbooks settings.",
        "outcome.quickbooks.denied": "QuickBooks was not connected: the connection was "
        "cancelled on Intuit's page.",
        "outcome.quickbooks.refused": "QuickBooks did not allow the connection. Please try again.",
        "outcome.quickbooks.other_company": "You chose another QuickBooks company than the one "
        "dealbooks is connected to. Reconnect and choose the same company; to change company, "
        "disconnect first.",
        "outcome.quickbooks.unavailable": "QuickBooks could not be reached just now. Please try "
        "again in a minute.",
        "outcome.quickbooks.failed": "Something went wrong on our side. Please try connecting "
        "again.",
        "outcome.quickbooks.sign_in": "Please open dealbooks from Pipedrive (or sign in again) "
        "to manage the QuickBooks connection.",
        "outcome.quickbooks.admin_only": "Only an admin of the Pipedrive company can connect "
        "QuickBooks.",
        "outcome.pipedrive.install_cancelled": "You chose not to install dealbooks. Nothing was "
        "changed; you can install it again from the Pipedrive Marketplace at any time.",
        "outcome.pipedrive.install_incomplete": "This link is incomplete. Please start the "
        "installation again from the Pipedrive Marketplace.",
        "outcome.pipedrive.install_expired": "The installation link has expired or was already "
        "used. Please install dealbooks again from the Pipedrive Marketplace.",
        "outcome.pipedrive.unavailable": "We could not finish because Pipedrive did not answer. "
        "Please try again in a minute.",
        "outcome.pipedrive.failed": "Something went wrong on our side. Please try again; if it "
        "keeps failing, contact support.",
        "outcome.pipedrive.declined": "Pipedrive did not complete the installation. Please try "
        "again from the Pipedrive Marketplace.",
        "outcome.pipedrive.sign_in_cancelled": "You did not sign in with Pipedrive.",
        "outcome.pipedrive.sign_in_expired": "This sign-in link has expired or was already used. "
        "Please start again.",
        "outcome.title.error": "That did not work",
        "outcome.title.cancelled": "Cancelled",
        "outcome.title.install_cancelled": "Installation cancelled",
    },
    "fr": {
        "nav.welcome": "dealbooks",
        "nav.docs": "Guide d'installation",
        "nav.support": "Assistance",
        "nav.privacy": "Politique de confidentialité",
        "nav.terms": "Conditions d'utilisation",
        "nav.language": "English",
        "title.welcome": "Des factures QuickBooks Online depuis vos affaires Pipedrive",
        "title.privacy": "Politique de confidentialité",
        "title.terms": "Conditions d'utilisation (contrat de licence utilisateur final)",
        "title.support": "Assistance",
        "title.docs": "Guide d'installation",
        "status.signed_out": "Vous n'êtes pas connecté.",
        "status.sign_in": "Se connecter avec Pipedrive pour voir votre connexion",
        "status.company": "Société Pipedrive {company}.",
        "status.connected": "QuickBooks : connecté à {name}.",
        "status.connected_plain": "QuickBooks : la connexion fonctionne.",
        "status.needs_reconnect": "QuickBooks : à reconnecter. QuickBooks n'accepte plus la "
        "connexion de dealbooks.",
        "status.not_connected": "QuickBooks : non connecté.",
        "status.unchecked": "QuickBooks n'a pas pu être interrogé à l'instant ; voici le dernier "
        "état connu.",
        "status.reconnect": "Reconnecter QuickBooks",
        "support.email": "Écrivez-nous à {email}.",
        "support.no_email": "Aucune adresse d'assistance n'est configurée sur ce serveur ; "
        "contactez les personnes qui l'exploitent pour vous.",
        "disconnected.title": "dealbooks est déconnecté de QuickBooks",
        "disconnected.lead": "dealbooks a été déconnecté de votre société QuickBooks : il ne "
        "peut plus y créer de factures ni suivre leur statut. Les factures déjà dans QuickBooks "
        "ne changent pas, et rien n'est perdu du côté de dealbooks.",
        "disconnected.steps": "Pour reconnecter : ouvrez Pipedrive, allez dans Paramètres \u203a "
        "dealbooks et cliquez sur « Reconnecter », ou utilisez le lien ci-dessous (un "
        "administrateur Pipedrive se connecte, puis choisit la même société QuickBooks).",
        "outcome.back": "Retour à dealbooks",
        "outcome.quickbooks.state_invalid": "Ce lien de connexion a expiré ou a déjà servi. "
        "Recommencez la connexion à QuickBooks depuis les paramètres de dealbooks.",
        "outcome.quickbooks.denied": "QuickBooks n'a pas été connecté : la connexion a été "
        "annulée sur la page d'Intuit.",
        "outcome.quickbooks.refused": "QuickBooks n'a pas autorisé la connexion. Veuillez "
        "réessayer.",
        "outcome.quickbooks.other_company": "Vous avez choisi une autre société QuickBooks que "
        "celle à laquelle dealbooks est connecté. Reconnectez et choisissez la même société ; "
        "pour changer de société, déconnectez d'abord.",
        "outcome.quickbooks.unavailable": "QuickBooks est injoignable pour le moment. Veuillez "
        "réessayer dans une minute.",
        "outcome.quickbooks.failed": "Une erreur s'est produite de notre côté. Veuillez "
        "réessayer la connexion.",
        "outcome.quickbooks.sign_in": "Ouvrez dealbooks depuis Pipedrive (ou reconnectez-vous) "
        "pour gérer la connexion à QuickBooks.",
        "outcome.quickbooks.admin_only": "Seul un administrateur de la société Pipedrive peut "
        "connecter QuickBooks.",
        "outcome.pipedrive.install_cancelled": "Vous avez choisi de ne pas installer dealbooks. "
        "Rien n'a changé ; vous pouvez l'installer à tout moment depuis la Marketplace "
        "Pipedrive.",
        "outcome.pipedrive.install_incomplete": "Ce lien est incomplet. Recommencez "
        "l'installation depuis la Marketplace Pipedrive.",
        "outcome.pipedrive.install_expired": "Le lien d'installation a expiré ou a déjà servi. "
        "Installez à nouveau dealbooks depuis la Marketplace Pipedrive.",
        "outcome.pipedrive.unavailable": "Nous n'avons pas pu terminer car Pipedrive n'a pas "
        "répondu. Veuillez réessayer dans une minute.",
        "outcome.pipedrive.failed": "Une erreur s'est produite de notre côté. Veuillez "
        "réessayer ; si cela persiste, contactez l'assistance.",
        "outcome.pipedrive.declined": "Pipedrive n'a pas terminé l'installation. Réessayez "
        "depuis la Marketplace Pipedrive.",
        "outcome.pipedrive.sign_in_cancelled": "Vous ne vous êtes pas connecté avec Pipedrive.",
        "outcome.pipedrive.sign_in_expired": "Ce lien de connexion a expiré ou a déjà servi. "
        "Veuillez recommencer.",
        "outcome.title.error": "Cela n'a pas fonctionné",
        "outcome.title.cancelled": "Annulé",
        "outcome.title.install_cancelled": "Installation annulée",
    },
}

# Page bodies (trusted HTML). ``{demo}`` is replaced by the demo's link paragraph.
BODIES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "welcome": """
<p class="lead">dealbooks creates QuickBooks Online invoices from a Pipedrive deal, without
copying anything between the two tools, and shows each invoice's status on the deal.</p>
<ol class="flow">
<li><strong>Deal.</strong> In a deal, the dealbooks panel offers “+ Invoice”: the form is
prefilled from the deal's organization, person and products, as your settings map them.</li>
<li><strong>Invoice.</strong> “Create invoice” makes the invoice in QuickBooks, once, even if
you click twice; QuickBooks' objections are shown in plain words before anything is made.</li>
<li><strong>Status on the deal.</strong> Payments, voids and deletions made in QuickBooks
come back to the deal within seconds (QuickBooks webhooks, with a regular catch-up): Open,
Partially paid, Paid, Overdue, Voided, Deleted. From the deal you can also send the invoice by
email, download its PDF, void it or delete it.</li>
</ol>
{demo}
<p>Every user of the Pipedrive company can invoice; an admin connects QuickBooks and chooses the
settings. dealbooks works in English and French.</p>
<p><a href="/docs">How to install it</a> ·
<a href="/oauth/quickbooks/launch">Open dealbooks (sign in with Pipedrive)</a></p>
""",
        "demo": """<h2>Try it: the demo</h2>
<p>The demo is the trial: a Pipedrive-like deal page with the dealbooks panel, connected to a
sample QuickBooks company, where you can create an invoice, record a payment and watch the
status change. Nothing you do there reaches a real QuickBooks or Pipedrive account.</p>""",
        "demo_link": """<p><a class="button" href="{url}">Open the demo</a></p>""",
        "demo_local": """<p>Run it on your own machine with <code>make run</code> from the
dealbooks source (see the <a href="/docs#demo">install guide</a>).</p>""",
        "privacy": """
<p>This policy describes what the dealbooks service stores and does, as its code does it.</p>
<h2>What is stored</h2>
<p>dealbooks keeps its data in one PostgreSQL database, per Pipedrive company:</p>
<ul>
<li><strong>Connections</strong> to Pipedrive and QuickBooks: for each Pipedrive user who
installed dealbooks (Pipedrive installs are per user), the user's id and OAuth access and
refresh tokens, with the company's id and API address; for QuickBooks, the company (realm) id,
name and time zone, who connected it and when, and the OAuth access and refresh tokens. The
tokens and the QuickBooks company id are encrypted (Fernet: AES-128 with an HMAC-SHA256
signature) with a key derived from the service's secret key, which is kept outside the database;
the QuickBooks company id is looked up through a keyed HMAC-SHA256 digest of it, never in
clear.</li>
<li><strong>Settings</strong>: which Pipedrive field fills each invoice field, the due-date
rule and the defaults you chose.</li>
<li><strong>Invoices created through dealbooks</strong>: the customer details sent to QuickBooks
(name, email, billing address, tax ID), the lines, amounts, dates, memo and terms, the
QuickBooks ids and the status, and the history of each invoice with the Pipedrive user (id and
name) who acted.</li>
<li><strong>Links</strong> between Pipedrive contacts and QuickBooks customers (the customer's
name and id), and the notes dealbooks adds to deals until they are written.</li>
<li><strong>Change notices</strong> QuickBooks sends (which invoice or payment changed, and
when: no names or amounts), under the keyed digest of the QuickBooks company id.</li>
<li>Short-lived technical records: sign-in and connection links (10 minutes), request ids
that prevent duplicate invoices, and background jobs.</li>
</ul>
<p>In your browser, signing in on these pages sets one cookie holding your Pipedrive company
and user ids, signed and valid 8 hours; no tracking or advertising cookie is used.</p>
<h2>What it is used for</h2>
<p>Only to create and follow your invoices in QuickBooks from Pipedrive. dealbooks reads
Pipedrive deals with their products, organizations, persons, fields and users, adds a note to a
deal when an invoice is made, and subscribes to Pipedrive's deal and contact changes. In
QuickBooks it reads the company's settings, items, tax codes and terms, and reads and writes
customers and invoices. It does not sell, share or show your data to anyone else, and it moves
no money.</p>
<h2>Logs</h2>
<p>The service writes technical logs: request ids, routes, status codes, durations, Pipedrive
company and user ids, QuickBooks company ids and Intuit's <code>intuit_tid</code> for support.
Tokens and secrets are never logged.</p>
<h2>How long</h2>
<p>Data is kept while dealbooks is installed. Pipedrive installs dealbooks per user: when a
user uninstalls it, dealbooks revokes that user's Pipedrive tokens and deletes them at once, and
keeps everything else while other users of the company still have it. When the company's last
user uninstalls it, dealbooks also revokes the QuickBooks connection and deletes the QuickBooks
tokens and change notices at once; the company's settings, invoices, history, links and notes
not yet written are deleted {purge_days} days later, unless someone in the company installs
dealbooks again before then (the data is then kept). Disconnecting QuickBooks deletes the
QuickBooks tokens and change notices at once.</p>
<h2>Your invoices stay yours</h2>
<p>Invoices live in your QuickBooks company; uninstalling dealbooks does not change them.</p>
""",
        "terms": """
<p>These terms govern the use of dealbooks, a service that connects a Pipedrive company to a
QuickBooks Online company to create and follow invoices.</p>
<ol>
<li><strong>Licence.</strong> You may use dealbooks for your company's own invoicing, through
Pipedrive and QuickBooks accounts you are allowed to use.</li>
<li><strong>Your accounts.</strong> You connect dealbooks with your own Pipedrive and QuickBooks
sign-ins; you can disconnect QuickBooks or uninstall dealbooks at any time, as described in the
<a href="/privacy">privacy policy</a>.</li>
<li><strong>Your data.</strong> Your invoices and customers remain yours and stay in
QuickBooks. dealbooks uses them only as the privacy policy says.</li>
<li><strong>What dealbooks does.</strong> It creates invoices with the amounts, taxes and
customers you confirm in the form; QuickBooks calculates and records them. Check invoices
before you send them: you remain responsible for your invoices and your accounting.</li>
<li><strong>Availability.</strong> dealbooks depends on Pipedrive and QuickBooks being
available. It retries automatically and never creates an invoice twice, but it cannot promise
uninterrupted service.</li>
<li><strong>No warranty.</strong> dealbooks is provided “as is”, to the extent the law
allows.</li>
<li><strong>Trademarks.</strong> QuickBooks and Intuit are trademarks of Intuit Inc.;
Pipedrive is a trademark of Pipedrive OÜ. dealbooks is not made by either.</li>
<li><strong>Changes.</strong> These terms may change; the version on this page applies.</li>
</ol>
""",
        "support": """
<h2>Contact</h2>
<p>{contact}</p>
<p>When you write, include the request id shown with an error, if any: it lets us find what
happened without asking you for data.</p>
<h2>Your QuickBooks connection</h2>
{status}
<h2>Common questions</h2>
<ul>
<li><strong>The panel says “needs reconnect”.</strong> QuickBooks no longer accepts
dealbooks' connection (it was disconnected in QuickBooks, or it expired). An admin reconnects
from Settings &rsaquo; dealbooks; nothing waiting is lost.</li>
<li><strong>An invoice shows “Failed”.</strong> QuickBooks refused it; the reason is shown with
it. Fix it and retry from the panel.</li>
<li><strong>A status did not change.</strong> Press “Refresh” in the panel.</li>
</ul>
<p>See also the <a href="/docs">install guide</a>.</p>
""",
        "docs": """
<ol class="steps">
<li><strong>Install from the Pipedrive Marketplace.</strong> Open dealbooks in the Pipedrive
Marketplace, press install and allow access. You land on dealbooks' settings in Pipedrive.</li>
<li><strong>Connect QuickBooks.</strong> In Settings &rsaquo; dealbooks (Pipedrive admins), press
“Connect to QuickBooks”, sign in to Intuit in the window that opens and choose your company.
Only a QuickBooks admin can connect apps.</li>
<li><strong>Map your fields.</strong> Choose which Pipedrive field fills the invoice's
recipient, address, email and tax ID, the due-date rule and the defaults; press Save.</li>
<li><strong>Invoice from a deal.</strong> Open a deal, press “+ Invoice” in the dealbooks panel,
check the prefilled form and press “Create invoice”.</li>
<li><strong>Follow it.</strong> The status (Open, Partially paid, Paid, Overdue, Voided,
Deleted) updates on the deal by itself.</li>
</ol>
<h2>From QuickBooks</h2>
<p>In QuickBooks' “My apps”, “Launch” opens dealbooks (<a
href="/oauth/quickbooks/launch">/oauth/quickbooks/launch</a>): you sign in with Pipedrive and
land on the settings. If dealbooks is disconnected inside QuickBooks, reconnect with <a
href="/oauth/quickbooks/reconnect">/oauth/quickbooks/reconnect</a>.</p>
<h2>Uninstall</h2>
<p>Uninstall dealbooks from Pipedrive's Marketplace settings: your Pipedrive tokens are revoked
and deleted at once. When the company's last user uninstalls it, QuickBooks is disconnected too
and the company's data is deleted {purge_days} days later, as the <a
href="/privacy">privacy policy</a> says.</p>
<h2 id="demo">Try the demo</h2>
<p>From the dealbooks source, <code>make run</code> starts everything on your machine (a
database, QuickBooks and Pipedrive emulators with a sample company, the service) and prints the
address of the demo page.</p>
""",
    },
    "fr": {
        "welcome": """
<p class="lead">dealbooks crée des factures QuickBooks Online à partir d'une affaire Pipedrive,
sans rien recopier d'un outil à l'autre, et affiche le statut de chaque facture sur
l'affaire.</p>
<ol class="flow">
<li><strong>Affaire.</strong> Dans une affaire, le panneau dealbooks propose « + Facture » :
le formulaire est prérempli à partir de l'organisation, de la personne et des produits de
l'affaire, selon vos paramètres.</li>
<li><strong>Facture.</strong> « Créer la facture » crée la facture dans QuickBooks, une seule
fois, même après un double clic ; les objections de QuickBooks s'affichent en clair avant toute
création.</li>
<li><strong>Statut sur l'affaire.</strong> Les paiements, annulations et suppressions faits dans
QuickBooks reviennent sur l'affaire en quelques secondes (webhooks QuickBooks, avec un
rattrapage régulier) : En cours, Partiellement payée, Payée, En retard, Annulée, Supprimée.
Depuis l'affaire, vous pouvez aussi envoyer la facture par e-mail, télécharger son PDF,
l'annuler ou la supprimer.</li>
</ol>
{demo}
<p>Tous les utilisateurs de la société Pipedrive peuvent facturer ; un administrateur connecte
QuickBooks et choisit les paramètres. dealbooks fonctionne en français et en anglais.</p>
<p><a href="/docs?lang=fr">Comment l'installer</a> ·
<a href="/oauth/quickbooks/launch">Ouvrir dealbooks (connexion avec Pipedrive)</a></p>
""",
        "demo": """<h2>Essayez : la démo</h2>
<p>La démo tient lieu d'essai : une page d'affaire façon Pipedrive avec le panneau dealbooks,
connectée à une société QuickBooks d'exemple, où vous pouvez créer une facture, enregistrer un
paiement et voir le statut changer. Rien de ce que vous y faites n'atteint un vrai compte
QuickBooks ou Pipedrive.</p>""",
        "demo_link": """<p><a class="button" href="{url}">Ouvrir la démo</a></p>""",
        "demo_local": """<p>Lancez-la sur votre machine avec <code>make run</code> depuis les
sources de dealbooks (voir le <a href="/docs?lang=fr#demo">guide d'installation</a>).</p>""",
        "privacy": """
<p>Cette politique décrit ce que le service dealbooks conserve et fait, tel que son code le
fait.</p>
<h2>Ce qui est conservé</h2>
<p>dealbooks conserve ses données dans une base PostgreSQL, par société Pipedrive :</p>
<ul>
<li><strong>Les connexions</strong> à Pipedrive et QuickBooks : pour chaque utilisateur
Pipedrive qui a installé dealbooks (Pipedrive installe les applications par utilisateur), son
identifiant et ses jetons OAuth d'accès et de renouvellement, avec l'identifiant et l'adresse
API de la société ; pour QuickBooks, l'identifiant (realm), le nom et le fuseau horaire de la
société, qui l'a connectée et quand, et les jetons OAuth d'accès et de renouvellement. Les
jetons et l'identifiant de la société QuickBooks sont chiffrés (Fernet : AES-128 avec une
signature HMAC-SHA256) avec une clé dérivée de la clé secrète du service, conservée hors de la
base ; l'identifiant QuickBooks est retrouvé par une empreinte HMAC-SHA256 à clé, jamais en
clair.</li>
<li><strong>Les paramètres</strong> : quel champ Pipedrive remplit chaque champ de la facture,
la règle d'échéance et les valeurs par défaut choisies.</li>
<li><strong>Les factures créées avec dealbooks</strong> : les coordonnées du client envoyées à
QuickBooks (nom, e-mail, adresse de facturation, numéro fiscal), les lignes, montants, dates,
mémo et conditions, les identifiants QuickBooks et le statut, et l'historique de chaque facture
avec l'utilisateur Pipedrive (identifiant et nom) qui a agi.</li>
<li><strong>Les liens</strong> entre contacts Pipedrive et clients QuickBooks (nom et
identifiant du client), et les notes que dealbooks ajoute aux affaires, jusqu'à leur
écriture.</li>
<li><strong>Les avis de changement</strong> envoyés par QuickBooks (quelle facture ou quel
paiement a changé, et quand : ni nom ni montant), sous l'empreinte à clé de l'identifiant de la
société QuickBooks.</li>
<li>Des enregistrements techniques de courte durée : liens de connexion (10 minutes),
identifiants de requête qui empêchent les doublons de factures, tâches de fond.</li>
</ul>
<p>Dans votre navigateur, se connecter sur ces pages dépose un cookie contenant vos
identifiants de société et d'utilisateur Pipedrive, signé et valable 8 heures ; aucun cookie de
suivi ou publicitaire n'est utilisé.</p>
<h2>À quoi elles servent</h2>
<p>Uniquement à créer et suivre vos factures QuickBooks depuis Pipedrive. dealbooks lit les
affaires Pipedrive avec leurs produits, organisations, personnes, champs et utilisateurs,
ajoute une note à l'affaire quand une facture est créée, et s'abonne aux changements d'affaires
et de contacts de Pipedrive. Dans QuickBooks, il lit les préférences, articles, codes de taxe et
conditions de la société, et lit et écrit les clients et les factures. Il ne vend, ne partage
ni ne montre vos données à personne d'autre, et ne déplace aucun argent.</p>
<h2>Journaux</h2>
<p>Le service écrit des journaux techniques : identifiants de requête, routes, codes de statut,
durées, identifiants de société et d'utilisateur Pipedrive, identifiants de société QuickBooks
et le <code>intuit_tid</code> d'Intuit pour l'assistance. Les jetons et secrets ne sont jamais
journalisés.</p>
<h2>Combien de temps</h2>
<p>Les données sont conservées tant que dealbooks est installé. Pipedrive installe dealbooks
par utilisateur : quand un utilisateur le désinstalle, dealbooks révoque ses jetons Pipedrive et
les supprime aussitôt, et garde tout le reste tant que d'autres utilisateurs de la société
l'ont installé. Quand le dernier utilisateur de la société le désinstalle, dealbooks révoque
aussi la connexion QuickBooks et supprime aussitôt les jetons et les avis de changement
QuickBooks ; les paramètres, factures, historiques, liens et notes pas encore écrites de la
société sont supprimés {purge_days} jours plus tard, sauf si quelqu'un de la société réinstalle
dealbooks d'ici là (les données sont alors gardées). Déconnecter QuickBooks supprime aussitôt
les jetons et les avis de changement QuickBooks.</p>
<h2>Vos factures restent les vôtres</h2>
<p>Les factures sont dans votre société QuickBooks ; désinstaller dealbooks ne les modifie
pas.</p>
""",
        "terms": """
<p>Ces conditions régissent l'utilisation de dealbooks, un service qui relie une société
Pipedrive à une société QuickBooks Online pour créer et suivre des factures.</p>
<ol>
<li><strong>Licence.</strong> Vous pouvez utiliser dealbooks pour la facturation de votre
société, avec des comptes Pipedrive et QuickBooks que vous êtes autorisé à utiliser.</li>
<li><strong>Vos comptes.</strong> Vous connectez dealbooks avec vos propres identifiants
Pipedrive et QuickBooks ; vous pouvez déconnecter QuickBooks ou désinstaller dealbooks à tout
moment, comme le décrit la <a href="/privacy?lang=fr">politique de confidentialité</a>.</li>
<li><strong>Vos données.</strong> Vos factures et clients restent les vôtres et restent dans
QuickBooks. dealbooks ne les utilise que comme le dit la politique de confidentialité.</li>
<li><strong>Ce que fait dealbooks.</strong> Il crée des factures avec les montants, taxes et
clients que vous confirmez dans le formulaire ; QuickBooks les calcule et les enregistre.
Vérifiez vos factures avant de les envoyer : vous restez responsable de vos factures et de
votre comptabilité.</li>
<li><strong>Disponibilité.</strong> dealbooks dépend de la disponibilité de Pipedrive et de
QuickBooks. Il réessaie automatiquement et ne crée jamais une facture deux fois, mais ne peut
promettre un service sans interruption.</li>
<li><strong>Absence de garantie.</strong> dealbooks est fourni « en l'état », dans la mesure
permise par la loi.</li>
<li><strong>Marques.</strong> QuickBooks et Intuit sont des marques d'Intuit Inc. ; Pipedrive
est une marque de Pipedrive OÜ. dealbooks n'est fait par aucune des deux.</li>
<li><strong>Modifications.</strong> Ces conditions peuvent changer ; la version de cette page
s'applique.</li>
</ol>
""",
        "support": """
<h2>Contact</h2>
<p>{contact}</p>
<p>Lorsque vous écrivez, joignez l'identifiant de requête affiché avec une erreur, s'il y en a
un : il nous permet de retrouver ce qui s'est passé sans vous demander de données.</p>
<h2>Votre connexion QuickBooks</h2>
{status}
<h2>Questions fréquentes</h2>
<ul>
<li><strong>Le panneau indique « à reconnecter ».</strong> QuickBooks n'accepte plus la
connexion de dealbooks (elle a été déconnectée dans QuickBooks, ou a expiré). Un administrateur
reconnecte depuis Paramètres &rsaquo; dealbooks ; rien de ce qui attendait n'est perdu.</li>
<li><strong>Une facture indique « Échec ».</strong> QuickBooks l'a refusée ; la raison est
affichée avec elle. Corrigez et réessayez depuis le panneau.</li>
<li><strong>Un statut n'a pas changé.</strong> Cliquez sur « Actualiser » dans le panneau.</li>
</ul>
<p>Voir aussi le <a href="/docs?lang=fr">guide d'installation</a>.</p>
""",
        "docs": """
<ol class="steps">
<li><strong>Installez depuis la Marketplace Pipedrive.</strong> Ouvrez dealbooks dans la
Marketplace Pipedrive, installez et autorisez l'accès. Vous arrivez sur les paramètres de
dealbooks dans Pipedrive.</li>
<li><strong>Connectez QuickBooks.</strong> Dans Paramètres &rsaquo; dealbooks (administrateurs
Pipedrive), cliquez sur « Connecter à QuickBooks », connectez-vous à Intuit dans la fenêtre qui
s'ouvre et choisissez votre société. Seul un administrateur QuickBooks peut connecter des
applications.</li>
<li><strong>Associez vos champs.</strong> Choisissez quel champ Pipedrive remplit le
destinataire, l'adresse, l'e-mail et le numéro fiscal de la facture, la règle d'échéance et les
valeurs par défaut ; enregistrez.</li>
<li><strong>Facturez depuis une affaire.</strong> Ouvrez une affaire, cliquez sur « + Facture »
dans le panneau dealbooks, vérifiez le formulaire prérempli et cliquez sur « Créer la
facture ».</li>
<li><strong>Suivez-la.</strong> Le statut (En cours, Partiellement payée, Payée, En retard,
Annulée, Supprimée) se met à jour tout seul sur l'affaire.</li>
</ol>
<h2>Depuis QuickBooks</h2>
<p>Dans « Mes applications » de QuickBooks, « Lancer » ouvre dealbooks (<a
href="/oauth/quickbooks/launch">/oauth/quickbooks/launch</a>) : vous vous connectez avec
Pipedrive et arrivez sur les paramètres. Si dealbooks est déconnecté dans QuickBooks,
reconnectez-le avec <a href="/oauth/quickbooks/reconnect">/oauth/quickbooks/reconnect</a>.</p>
<h2>Désinstaller</h2>
<p>Désinstallez dealbooks depuis les paramètres Marketplace de Pipedrive : vos jetons Pipedrive
sont révoqués et supprimés aussitôt. Quand le dernier utilisateur de la société le désinstalle,
QuickBooks est aussi déconnecté et les données de la société sont supprimées {purge_days} jours
plus tard, comme l'indique la <a href="/privacy?lang=fr">politique de confidentialité</a>.</p>
<h2 id="demo">Essayer la démo</h2>
<p>Depuis les sources de dealbooks, <code>make run</code> lance tout sur votre machine (une
base de données, des émulateurs QuickBooks et Pipedrive avec une société d'exemple, le service)
et affiche l'adresse de la page de démo.</p>
""",
    },
}
