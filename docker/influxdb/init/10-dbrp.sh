#!/bin/bash
# Runs once, after the influxdb:2 image has set up its org, bucket and admin token (the image runs
# /docker-entrypoint-initdb.d/*.sh with the influx CLI already authorised). InfluxQL — what
# hydrowatch's API and Grafana's dashboards query with — reaches a 2.x bucket only through a
# DBRP mapping: database "$DOCKER_INFLUXDB_INIT_BUCKET", retention policy "autogen".
set -euo pipefail

bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:-}"
if [ -z "$bucket_id" ]; then
  bucket_id="$(influx bucket list --org "$DOCKER_INFLUXDB_INIT_ORG" --name "$DOCKER_INFLUXDB_INIT_BUCKET" --hide-headers | cut -f1)"
fi
influx v1 dbrp create \
  --org "$DOCKER_INFLUXDB_INIT_ORG" \
  --bucket-id "$bucket_id" \
  --db "$DOCKER_INFLUXDB_INIT_BUCKET" \
  --rp autogen \
  --default
echo "hydrowatch: InfluxQL database \"$DOCKER_INFLUXDB_INIT_BUCKET\" (rp autogen) mapped to bucket $bucket_id"
