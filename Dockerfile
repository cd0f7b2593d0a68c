# The production image: one image for web, worker and scheduler (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "python:pushmarketing.gunicorn_conf", "pushmarketing.wsgi:application"]
