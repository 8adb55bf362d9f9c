"""Public pages outside the API and the webhooks: the short-link redirect."""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from messaging.links import link_click, link_target_get


@never_cache  # every click must reach us to be counted
@require_safe
def link_redirect(request, code: str) -> HttpResponseRedirect:
    """GET /l/<code>: count the click and redirect (302) to the link's URL; 404 if unknown.

    No authentication: the code is the secret. HEAD answers the same redirect without counting
    a click: it is what link previewers and carriers' URL scanners send, not a person.
    """
    if request.method == "HEAD":
        url = link_target_get(code=code)
    else:
        url = link_click(code=code, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    if url is None:
        raise Http404("unknown link")
    return HttpResponseRedirect(url)
