import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { Copy, DockerfileParser, Env, type Instruction } from 'dockerfile-ast';
import { parseDocument } from 'yaml';
import { WORKER_ROLES, loadConfig } from '../../libs/config/src';

/**
 * The deployment files, checked without Docker: docker-compose.yml against the Compose
 * Specification's JSON schema and against what Herald needs from it, the Dockerfile's stages, and
 * .dockerignore.
 *
 * test/fixtures/compose-spec.json is the official schema (github.com/compose-spec/compose-spec,
 * schema/compose-spec.json, Apache-2.0) as vendored in the npm package dclint@3.1.0
 * (schemas/compose.schema.json), formatted with prettier. To update it:
 *   npm pack dclint && tar xzf dclint-*.tgz package/schemas/compose.schema.json
 */
const root = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

type Service = {
  build?: unknown;
  image?: string;
  command?: string | string[];
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  deploy?: { replicas?: number };
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

function loadCompose(): Compose {
  // Compose files are YAML 1.1 as far as `<<` merge keys go; yaml 2 needs `merge: true` for them.
  const doc = parseDocument(read('docker-compose.yml'), { merge: true, prettyErrors: true });
  expect(doc.errors.map(String)).toEqual([]);
  expect(doc.warnings.map(String)).toEqual([]);
  return doc.toJS() as Compose;
}

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` as Compose interpolates them. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (_, name, colon, op, arg) => {
    const set = colon ? Boolean(env[name]) : env[name] !== undefined;
    if (set) return env[name];
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return op === '-' ? arg : '';
  });
}

function commandOf(service: Service): string[] {
  const { command } = service;
  return Array.isArray(command) ? command : (command ?? '').split(/\s+/).filter(Boolean);
}

const WORKER_ENTRY = 'dist/apps/worker/src/main.js';
const isHerald = (service: Service) => service.build !== undefined || /^herald[:@]/.test(service.image ?? '');
const isWorker = (service: Service) => commandOf(service).includes(WORKER_ENTRY);

function rolesOf(service: Service): string[] {
  const argv = commandOf(service);
  const i = argv.findIndex((a) => a === '--roles' || a.startsWith('--roles='));
  if (i < 0) throw new Error(`a worker without --roles runs every role: ${argv.join(' ')}`);
  const list = argv[i].includes('=') ? argv[i].slice('--roles='.length) : argv[i + 1];
  return list.split(',').map((r) => r.trim());
}

/** Compose durations: `30s`, `1m30s`, `500ms`. */
function durationMs(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|s|m|h)/g)];
  expect(parts.map((p) => p[0]).join('')).toBe(value);
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const services = Object.entries(compose.services);
  const herald = services.filter(([, s]) => isHerald(s));
  const workers = services.filter(([, s]) => isWorker(s));

  it('is valid under the Compose Specification schema', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec.json'));
    // The spec names its meta-schema https://json-schema.org/draft-07/schema: the same draft-07 Ajv
    // knows as http://json-schema.org/draft-07/schema#.
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
    const validate = ajv.compile(schema);

    const valid = validate(compose);
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message}`) ?? []).toEqual([]);
    expect(valid).toBe(true);

    // ...and the schema does reject what Compose would: a misspelt key, an unknown condition.
    const broken = structuredClone(compose) as Compose & { services: Record<string, Record<string, unknown>> };
    broken.services.api.comand = ['node'];
    broken.services.migrate.depends_on = { postgres: { condition: 'whenever' } };
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/services/api', '/services/migrate/depends_on/postgres/condition']),
    );
  });

  it('serves every worker role from exactly one worker service, and nothing else', () => {
    const servedBy = new Map<string, string[]>();
    for (const [name, service] of workers) {
      for (const role of rolesOf(service)) servedBy.set(role, [...(servedBy.get(role) ?? []), name]);
    }
    expect(Object.fromEntries(servedBy)).toEqual(
      Object.fromEntries(WORKER_ROLES.map((role) => [role, [expect.any(String)]])),
    );
    // the layout: the relay with the fan-out and housekeeping, and one service per channel
    expect(rolesOf(compose.services['worker-relay']).sort()).toEqual(['fanout', 'housekeeping', 'relay']);
    for (const channel of ['email', 'sms', 'push', 'inapp', 'webhook']) {
      expect(rolesOf(compose.services[`worker-${channel}`])).toEqual([channel]);
    }
  });

  it('keeps workers scalable: no container_name, no published ports, no fixed replicas', () => {
    expect(workers.length).toBeGreaterThanOrEqual(6);
    for (const [name, service] of workers) {
      expect({ name, container_name: service.container_name, ports: service.ports }).toEqual({
        name,
        container_name: undefined,
        ports: undefined,
      });
      expect({ name, replicas: service.deploy?.replicas }).toEqual({ name, replicas: undefined });
    }
  });

  it('builds one image for every Herald service', () => {
    expect(herald.map(([name]) => name).sort()).toEqual(['api', 'migrate', ...workers.map(([name]) => name)].sort());
    const [[, first]] = herald;
    expect(first.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    for (const [name, service] of herald) {
      expect({ name, build: service.build, image: service.image }).toEqual({
        name,
        build: first.build,
        image: first.image,
      });
    }
    for (const name of ['redis', 'postgres']) expect(compose.services[name].build).toBeUndefined();
  });

  it('runs entry points that exist, and settings Herald accepts', () => {
    const env = { HERALD_ROOT_KEY: 'a-root-key-of-at-least-24-characters' };
    for (const [name, service] of herald) {
      const entry = commandOf(service).find((arg) => /^dist\/.*\.js$/.test(arg));
      expect({ name, entry }).toEqual({ name, entry: expect.any(String) });
      const source = entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect({ name, source, exists: existsSync(path.join(root, source)) }).toEqual({ name, source, exists: true });

      const environment = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), env)]),
      );
      expect(environment).toMatchObject({
        REDIS_URL: expect.stringMatching(/^redis:\/\/redis:6379/),
        DATABASE_URL: expect.stringMatching(/@postgres:5432\//),
      });
      const config = loadConfig({
        ...environment,
        ...(isWorker(service) ? { WORKER_ROLES: rolesOf(service).join(',') } : {}),
      });
      if (isWorker(service)) expect(config.workerRoles).toEqual(rolesOf(service));
    }
    // without a root key Compose refuses to start rather than run with a known one
    expect(() => interpolate(String(compose.services.api.environment?.HERALD_ROOT_KEY), {})).toThrow(/HERALD_ROOT_KEY/);
  });

  it('starts the api and the workers only after the migration succeeded', () => {
    const migrate = compose.services.migrate;
    expect(commandOf(migrate)).toEqual(['node', 'dist/scripts/migrate.js']);
    expect(migrate.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    expect(migrate.restart).toBe('no'); // a one-shot: restarting it would never "complete"
    for (const [name, service] of herald.filter(([n]) => n !== 'migrate')) {
      expect({ name, ...service.depends_on }).toMatchObject({
        name,
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
    }
  });

  it('gives workers a health check on WORKER_HEALTH_PORT and time to drain', () => {
    for (const [name, service] of workers) {
      const test = ([] as string[]).concat(service.healthcheck?.test ?? []).join(' ');
      expect({ name, test }).toEqual({ name, test: expect.stringMatching(/^CMD node -e .*WORKER_HEALTH_PORT/) });
      expect({ name, port: service.environment?.WORKER_HEALTH_PORT }).toEqual({ name, port: expect.anything() });
      // Compose's default is 10 s, the same as SHUTDOWN_GRACE_MS's: it must be longer, to be safe
      const graceMs = Number(service.environment?.SHUTDOWN_GRACE_MS ?? 10_000);
      const stopMs = durationMs(service.stop_grace_period ?? '10s');
      expect({ name, stopMs, drainsBeforeKill: stopMs > graceMs }).toEqual({ name, stopMs, drainsBeforeKill: true });
    }
    expect(compose.services.migrate.healthcheck).toEqual({ disable: true });
  });

  it('runs Redis with append-only persistence and noeviction, both checked for health', () => {
    const argv = commandOf(compose.services.redis);
    const flag = (name: string) => argv[argv.indexOf(`--${name}`) + 1];
    expect(argv[0]).toBe('redis-server');
    expect(flag('appendonly')).toBe('yes');
    expect(flag('maxmemory-policy')).toBe('noeviction');
    expect(compose.services.redis.healthcheck?.test).toBeDefined();
    expect(compose.services.postgres.healthcheck?.test).toBeDefined();
  });
});

type Stage = { name: string | null; base: string; instructions: Instruction[] };

function stagesOf(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(dockerfile).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? args[as + 1] : null, base: args[0], instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

const argsOf = (instruction: Instruction) => instruction.getArguments().map((a) => a.getValue());
const fromFlag = (instruction: Instruction) =>
  instruction instanceof Copy ? (instruction.getFromFlag()?.getValue() ?? undefined) : undefined;

describe('Dockerfile', () => {
  const stages = stagesOf(read('Dockerfile'));
  const final = stages[stages.length - 1];
  const named = (name: string) => stages.find((s) => s.name === name)!;
  /** The stage and the earlier stages it is built FROM, nearest first. */
  const lineage = (stage: Stage): Stage[] => {
    const parent = stages.find((s) => s.name === stage.base && stages.indexOf(s) < stages.indexOf(stage));
    return parent ? [stage, ...lineage(parent)] : [stage];
  };
  const inFinal = (keyword: string) =>
    lineage(final).flatMap((s) => s.instructions.filter((i) => i.getKeyword() === keyword));

  it('is multi-stage, and COPY --from names only earlier stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.map((s) => s.name).filter(Boolean);
    expect(new Set(names).size).toBe(names.length);
    stages.forEach((stage, index) => {
      for (const copy of stage.instructions.filter((i) => i.getKeyword() === 'COPY')) {
        const from = fromFlag(copy);
        if (from == null) continue;
        const earlier = stages.slice(0, index).map((s, i) => [s.name, String(i)]);
        expect({ copy: copy.toString(), earlier: earlier.some((ids) => ids.includes(from)) }).toEqual({
          copy: copy.toString(),
          earlier: true,
        });
      }
    });
  });

  it('runs the final stage as a user other than root, in production mode', () => {
    const users = inFinal('USER').map((u) => argsOf(u)[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:.*)?$/);
    const env = Object.fromEntries(
      inFinal('ENV')
        .filter((e) => e instanceof Env)
        .flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue()])),
    );
    expect(env.NODE_ENV).toBe('production');
  });

  it('ships only production dependencies', () => {
    const copies = final.instructions.filter((i) => i.getKeyword() === 'COPY');
    const nodeModules = copies.find((c) => argsOf(c).some((a) => /node_modules\/?$/.test(a)));
    expect(nodeModules).toBeDefined();
    const source = fromFlag(nodeModules!);
    expect(source).toBeTruthy();
    const runs = lineage(named(source!)).flatMap((s) =>
      s.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => argsOf(i).join(' ')),
    );
    expect(runs.some((run) => /\bnpm (prune|ci|install)\b[^&;]*--omit[= ]dev\b/.test(run))).toBe(true);
  });

  it('has a HEALTHCHECK and starts node directly (exec form, so SIGTERM reaches it)', () => {
    const checks = inFinal('HEALTHCHECK');
    expect(checks.length).toBeGreaterThan(0);
    const check = checks[checks.length - 1].getArgumentsContent() ?? '';
    expect(check).toMatch(/^CMD \[/);
    // valid JSON: Docker runs a malformed exec-form array as a shell command, which would always fail
    const probe = JSON.parse(check.slice('CMD '.length)) as string[];
    expect(probe.slice(0, 2)).toEqual(['node', '-e']);
    expect(probe[2]).toContain('/health/live');
    expect(() => new Function(probe[2])).not.toThrow();
    const cmds = inFinal('CMD');
    const cmd = JSON.parse(cmds[cmds.length - 1].getArgumentsContent() ?? '') as string[];
    expect(cmd[0]).toBe('node');
    expect(existsSync(path.join(root, cmd[1].replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });

  it('copies from the build context what the build compiles, and nothing that does not exist', () => {
    const copied = stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.getKeyword() === 'COPY' && fromFlag(i) == null)
        .flatMap((i) => argsOf(i).slice(0, -1)),
    );
    for (const file of copied)
      expect({ file, exists: existsSync(path.join(root, file)) }).toEqual({ file, exists: true });
    const build = JSON.parse(read('tsconfig.build.json')) as { extends?: string; include: string[] };
    for (const needed of [...build.include, 'tsconfig.build.json', path.normalize(build.extends ?? 'tsconfig.json')]) {
      expect(copied).toContain(needed);
    }
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'prisma', 'prisma.config.ts']));
  });
});

describe('.dockerignore', () => {
  it('keeps local state, secrets and build output out of the build context', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.replace(/^(\*\*\/|\/)/, '').replace(/\/$/, ''));
    expect(patterns).toEqual(
      expect.arrayContaining(['node_modules', 'dist', '.herald', '.git', 'test-artifacts', '*.log', '.env']),
    );
  });
});
