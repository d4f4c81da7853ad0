import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

# What loading Django and Onefold built (modules, models, URLs: most of a worker's objects) lives
# as long as the worker, yet each full garbage collection walked it again: a few per minute
# under load, tens of ms each, a cost every request shared. Frozen, the collector skips it
# (CPython's gc.freeze, made for servers); what requests allocate is collected as before.
gc.collect()
gc.freeze()
