"""The home page: where a signed-in person lands, with what needs attention."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from connector.selectors import connection_problems


@login_required
def home(request):
    return render(request, "home.html", {"problems": connection_problems()})
