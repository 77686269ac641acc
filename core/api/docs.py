"""The API's documentation pages, Swagger UI and ReDoc, under the site's Content Security Policy.

drf-spectacular's own pages start their viewers with an inline ``<script>`` and
style the page with an inline ``<style>``. Here Swagger UI uses the split view
(the start-up script is fetched from the same address with ``?script``) and
ReDoc's start-up lives in ``static/js/redoc-init.js``, reading the schema
address and settings from data on the page; both page styles are static files.
ReDoc writes its own styles into ``<style>`` elements as it renders (it uses
styled-components), so its page alone allows inline styles; scripts stay
same-origin only there too.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


class SwaggerDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


@method_decorator(csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}), name="dispatch")
class RedocDocsView(SpectacularRedocView):
    template_name = "api/redoc.html"
