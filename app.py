"""The API's table of contents: the routes live in chalicelib/routes/, one blueprint for each kind
of user, and this file registers them. Keep it thin: importing it is the cold start.

    applicants  POST /applications (JSON or the no-JavaScript form), OPTIONS for the form's site
    partners    GET/POST /partner/{token}, the partner return by emailed secure link
    staff       /cases..., /reports/deadlines, /print-queue, /appeals (bearer JWT)
    published   /stats, /stats.csv, /stats/data-return.csv, /stats/fragment.html, /stats/widget.js
    schedule    the working-day deadline sweep (EventBridge, UTC cron)
    letters     the letter sender (the letters table's DynamoDB Stream) and the five-minute retry
    retention   deletes the rest of a case's data when DynamoDB's TTL deletes the case (the cases table's stream)
    notifications SES's delivery, bounce and complaint events (SNS), recorded on the letters
    docs        /openapi.json
    console     the staff console's pages and assets (/console/...)
    console_auth /console sign-in, callback, sign-out (OpenID Connect; the console's own session)
    console_office /console print queue, appeals, reports, subject access requests
    rotation    the partner-link secret's rotation (Secrets Manager calls it)
"""
from __future__ import annotations

import logging

from chalice import Chalice

from chalicelib import logs
from chalicelib.routes import address, applicants, console, console_auth, console_cases, console_office, console_steps, docs, errors, letters, notifications, partners, published, retention, rotation, schedule, staff

logs.configure()
log = logging.getLogger("app")

# configure_logs=False: Chalice's own handler would print exception messages (which can carry what
# a person typed); our JSON formatter logs the exception's type only.
app = Chalice(app_name="community-trigger", configure_logs=False)
app.log.propagate = True

app.register_middleware(address.learn_public_address, "http")
app.register_middleware(errors.every_error_is_a_problem, "http")
for blueprint in (applicants, partners, staff, published, schedule, letters, notifications, docs, console, console_auth,
                  console_cases, console_office, console_steps, retention, rotation):
    app.register_blueprint(blueprint.bp)
