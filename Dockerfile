# One image for every mailsite process: web (gunicorn), Celery workers and beat (see docker-compose.yml).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext compiles the translations (compilemessages).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 mailsite

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time and served by WhiteNoise under gunicorn.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
RUN if [ -d locale ]; then SECRET_KEY=build-only python manage.py compilemessages -v0; fi
RUN mkdir -p var/metrics && chown -R mailsite:mailsite var

USER mailsite
EXPOSE 8000
CMD ["gunicorn", "mailsite.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
