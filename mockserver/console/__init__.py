"""The dev console (`/_console`): every workspace of this server in the browser, like a payment
provider's test-mode dashboard. Its routes are operations of the table (plane `console`,
mockserver/operations.py), imported at the first request; it never counts as a workspace's
request, is never journaled, and every button performs the existing control operation.

* access.py — who may use it (loopback, or the admin token beyond it), CSRF and origin checks;
* views.py — the handlers: pages, the polled JSON stamp, the form actions;
* present.py — what the templates show (masked keys, amounts, the usage chart as SVG);
* models.py — query and reply models; templates/ — the jinja2 templates (autoescaped).
"""
