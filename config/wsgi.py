import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# What is loaded now lives as long as the process: keep it out of the collector's reach. Otherwise each full
# collection walks every module, class and URL pattern, and the request it lands in waits for it (a stall of
# a large fraction of a second on a busy machine).
gc.freeze()
