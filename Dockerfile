# The checkout as an image, for PaaSes that build containers instead of reading the Procfile.
# One image runs every Procfile process; only the command differs (docs/DEPLOY.md, "Docker"):
#   web      the CMD below (gunicorn --config gunicorn.conf.py wsgi:app)
#   release  sh -c "flask --app wsgi db upgrade && flask --app wsgi check-config"
#   worker   flask --app wsgi payments reconcile --loop
# Settings come from the environment at run time; no key or secret is ever copied into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies first: a code change reuses this layer.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The app's files belong to root and are read-only to the user it runs as; only the instance folder
# (receipts written as .eml when SMTP_URL is unset, static files published at start-up with their
# hashed names and compressed copies: checkout/static_files.py) is the app's to write.
COPY wsgi.py gunicorn.conf.py Procfile ./
COPY checkout ./checkout
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin checkout \
    && mkdir /app/instance \
    && chown checkout /app/instance

# A numeric user, so a platform that forbids root (runAsNonRoot) can tell without looking it up.
USER 10001

EXPOSE 8000

# /healthz answers from the process alone; the slim image has no curl, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
