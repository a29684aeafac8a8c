// docker-compose.yml and the Grafana provisioning it mounts: the pieces fit (the env the
// datasource reads is set, the paths Grafana reads are the files in the repo, InfluxDB 2 gets its
// DBRP mapping), and a real Compose implementation parses the file.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS, ROOT } from '../../dashboards/build.js';
import { DATASOURCE } from '../../dashboards/grafana.js';
import { ensureDebianPackages, findBinary } from '../../src/dev/apt.js';

const run = promisify(execFile);
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

/** Where a bind mount of the repo lands in a container: host path (relative to the repo) → container path. */
function binds(service: Service): Map<string, string> {
  return new Map(
    (service.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => {
      const [host, container] = v.split(':');
      return [path.normalize(host!), container!];
    }),
  );
}

describe('docker-compose.yml', () => {
  it('runs InfluxDB 2 initialised with org, bucket and token, and maps the bucket for InfluxQL', () => {
    const influx = services.influxdb!;
    expect(influx.image).toMatch(/^influxdb:2\./);
    expect(influx.environment).toMatchObject({
      DOCKER_INFLUXDB_INIT_MODE: 'setup',
      DOCKER_INFLUXDB_INIT_ORG: expect.any(String),
      DOCKER_INFLUXDB_INIT_BUCKET: expect.any(String),
      DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: expect.any(String),
    });
    const initDir = [...binds(influx)].find(([, container]) => container === '/docker-entrypoint-initdb.d')?.[0];
    expect(initDir).toBeDefined();
    const script = path.join(ROOT, initDir!, '10-dbrp.sh');
    expect(statSync(script).mode & 0o111).not.toBe(0);
    expect(readFileSync(script, 'utf8')).toMatch(/influx v1 dbrp create[\s\S]*--db "\$DOCKER_INFLUXDB_INIT_BUCKET"[\s\S]*--default/);
  });

  it('runs hydrowatch against it with the same org, bucket and token, and a volume for its spool', () => {
    const hydrowatch = services.hydrowatch!;
    expect(hydrowatch.build).toBe('.');
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    expect(hydrowatch.environment).toMatchObject({ INFLUX_URL: 'http://influxdb:8086', HYDROWATCH_DATA: '/data' });
    for (const key of ['ORG', 'BUCKET'] as const) {
      expect(hydrowatch.environment![`INFLUX_${key}`]).toBe(services.influxdb!.environment![`DOCKER_INFLUXDB_INIT_${key}`]);
    }
    expect(hydrowatch.environment!.INFLUX_TOKEN).toBe(services.influxdb!.environment!.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(hydrowatch.volumes).toContain('hydrowatch-data:/data');
    expect(hydrowatch.depends_on?.influxdb?.condition).toBe('service_healthy');
    const config = hydrowatch.environment!.HYDROWATCH_CONFIG!;
    expect(existsSync(path.join(ROOT, config.replace(/^\/app\//, '')))).toBe(true);
  });

  it('runs Grafana with the provisioning mounted, every variable the datasource reads set, and the overview as home', () => {
    const grafana = services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana(-oss)?:\d+\./);
    const provisioning = [...binds(grafana)].find(([, container]) => container === '/etc/grafana/provisioning')?.[0];
    expect(provisioning).toBe('provisioning/grafana');

    const datasourceText = read('provisioning/grafana/datasources/influxdb.yaml');
    const used = [...datasourceText.replace(/^#.*$/gm, '').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
    expect(used.sort()).toEqual(['INFLUX_BUCKET', 'INFLUX_TOKEN', 'INFLUX_URL']);
    for (const name of used) expect(grafana.environment?.[name], name).toBeTruthy();
    const { datasources } = parse(datasourceText) as { datasources: Array<Record<string, any>> };
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({
      uid: DATASOURCE.uid,
      type: DATASOURCE.type,
      url: '${INFLUX_URL}',
      jsonData: { version: 'InfluxQL', dbName: '${INFLUX_BUCKET}', httpHeaderName1: 'Authorization' },
      secureJsonData: { httpHeaderValue1: 'Token ${INFLUX_TOKEN}' },
    });

    const { providers } = parse(read('provisioning/grafana/dashboards/hydrowatch.yaml')) as { providers: Array<{ type: string; options: { path: string } }> };
    expect(providers[0]!.type).toBe('file');
    const hostDir = path.join(ROOT, 'provisioning/grafana', path.relative('/etc/grafana/provisioning', providers[0]!.options.path));
    for (const { name } of DASHBOARDS) expect(existsSync(path.join(hostDir, `${name}.json`)), name).toBe(true);
    const home = grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(existsSync(path.join(ROOT, 'provisioning/grafana', path.relative('/etc/grafana/provisioning', home)))).toBe(true);
    expect(grafana.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
  });

  it('has a simulator profile that publishes to hydrowatch’s broker', () => {
    const simulator = services.simulator!;
    expect(simulator.profiles).toEqual(['simulator']);
    expect(simulator.command?.[0]).toBe('simulate');
    expect(simulator.command).toContain('mqtt://hydrowatch:1883');
    expect(Object.keys(compose.volumes).sort()).toEqual(['grafana-data', 'hydrowatch-data', 'influxdb-config', 'influxdb-data']);
  });

  it('parses with Docker Compose (`docker compose config`, or Debian’s docker-compose where the plugin is missing)', async () => {
    const cwd = ROOT;
    let command: [string, string[]];
    if (findBinary('docker') && (await run('docker', ['compose', 'version']).then(() => true, () => false))) {
      command = ['docker', ['compose', '--profile', 'simulator', 'config', '-q']];
    } else {
      // The docker client here has no compose plugin; Debian ships Compose as docker-compose.
      const { 'docker-compose': bin } = await ensureDebianPackages({ 'docker-compose': 'docker-compose' });
      command = [bin, ['--profile', 'simulator', 'config', '-q']];
    }
    const { stderr } = await run(command[0], command[1], { cwd, env: { ...process.env, COMPOSE_PROJECT_NAME: 'hydrowatch' } });
    expect(stderr).not.toMatch(/error|invalid/i);
  }, 240_000);
});
